// Certificates for the local control plane, made with openssl: one CA, one serving/client
// certificate for the admin (O=system:masters), and a service-account signing key.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
}

export function makePki(openssl: string, dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const run = (args: string[]) =>
    execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=freshet-stack-ca',
    ].concat(['-keyout', p('ca.key'), '-out', p('ca.crt')]),
  );
  run(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/O=system:masters/CN=freshet-admin'].concat([
      '-keyout',
      p('admin.key'),
      '-out',
      p('admin.csr'),
    ]),
  );
  writeFileSync(
    p('ext.cnf'),
    [
      'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,' +
        'DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1',
      'extendedKeyUsage=serverAuth,clientAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      '',
    ].join('\n'),
  );
  run(
    [
      'x509',
      '-req',
      '-in',
      p('admin.csr'),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
    ].concat(['-days', '3650', '-extfile', p('ext.cnf'), '-out', p('admin.crt')]),
  );
  run(['genrsa', '-out', p('sa.key'), '2048']);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
  };
}

/** A self-contained kubeconfig (certificates inlined) so it stays valid wherever it is copied. */
export function kubeconfigYaml(pki: Pki, server: string, context: string): string {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: ${context}
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(pki.caCert)}
users:
- name: ${context}-admin
  user:
    client-certificate-data: ${b64(pki.adminCert)}
    client-key-data: ${b64(pki.adminKey)}
contexts:
- name: ${context}
  context:
    cluster: ${context}
    user: ${context}-admin
current-context: ${context}
`;
}
