// Freshet's ServiceAccount and Roles from deploy/kubernetes, applied as they are (only the
// namespaces renamed to a test's), and a kubeconfig that holds nothing but that ServiceAccount's
// token: tests that run the daemon with least privilege, or take a permission away, use these.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { Kube } from './kube.ts';

const manifestsDir = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
export const rbacKinds = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
]);

export type Manifest = KubernetesObject & Record<string, unknown>;

export function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(manifestsDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    if (file === 'kustomization.yaml') continue;
    for (const doc of parseAllDocuments(readFileSync(join(manifestsDir, file), 'utf8'))) {
      const obj = doc.toJS() as Manifest | null;
      if (obj) out.push(obj);
    }
  }
  return out;
}

/** The same object with the manifests' namespaces mapped to a test's (and nothing else changed). */
export function renamed<T>(obj: T, namespaces: Record<string, string>): T {
  const copy = structuredClone(obj) as Manifest & { subjects?: { namespace?: string }[] };
  const rename = (ns: string | undefined) => {
    if (ns === undefined) return undefined;
    const to = namespaces[ns];
    if (!to) throw new Error(`the manifests name namespace "${ns}", which this test does not map`);
    return to;
  };
  if (copy.metadata?.namespace) copy.metadata.namespace = rename(copy.metadata.namespace);
  if (copy.kind === 'Namespace' && copy.metadata?.name) copy.metadata.name = rename(copy.metadata.name);
  for (const s of copy.subjects ?? []) if (s.namespace) s.namespace = rename(s.namespace);
  return copy as T;
}

/** Creates the manifests' ServiceAccount, Roles and RoleBindings in the mapped namespaces. */
export async function applyRbac(kube: Kube, manifests: Manifest[], namespaces: Record<string, string>) {
  const objects = KubernetesObjectApi.makeApiClient(kube.config);
  for (const m of manifests.filter((m) => rbacKinds.has(m.kind ?? '')))
    await objects.create(renamed(m, namespaces));
}

/**
 * A token for the ServiceAccount, the way a pod gets one (TokenRequest API), written to a
 * kubeconfig in `dir` that holds only it: server and CA come from the admin kubeconfig, never
 * its client certificate.
 */
export async function serviceAccountKubeconfig(
  kube: Kube,
  namespace: string,
  dir: string,
): Promise<{ path: string; config: KubeConfig }> {
  const token = await kube.core.createNamespacedServiceAccountToken({
    name: 'freshet',
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const server = kube.config.getCurrentCluster();
  if (!server?.caData) throw new Error('the admin kubeconfig has no inline CA');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'freshet', server: server.server, caData: server.caData, skipTLSVerify: false }],
    users: [{ name: 'freshet-sa', token: token.status?.token }],
    contexts: [{ name: 'freshet', cluster: 'freshet', user: 'freshet-sa' }],
    currentContext: 'freshet',
  });
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return { path, config: kc };
}
