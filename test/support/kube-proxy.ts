// A recording proxy in front of the stack's apiserver, as `kubectl proxy` is: plain HTTP on
// 127.0.0.1, forwarded with the stack's admin credentials to the real apiserver, every request
// (method and path, watches included) recorded. A daemon given its kubeconfig talks to the real
// apiserver, and a test counts what that daemon alone asked, whatever else uses the cluster.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type RequestOptions, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeProxy {
  /** A kubeconfig whose context `freshet` points at the proxy. */
  kubeconfig: string;
  /** Every request so far: `GET /api/v1/namespaces/x/pods?watch=true…`. */
  requests: { method: string; path: string }[];
  close(): Promise<void>;
}

export async function startKubeProxy(kubeconfigPath: string): Promise<KubeProxy> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const upstream = new URL(kc.getCurrentCluster()?.server ?? '');
  const tls: RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  const requests: KubeProxy['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' });
    const { host: _host, ...headers } = req.headers;
    const out = request(
      {
        ...tls,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...headers, ...(tls.headers ?? {}) },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // A watch answers its headers at once and its events later: pass the headers on now.
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'freshet-kube-proxy-')), 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // Plain HTTP on loopback: client-node takes an http:// server only with TLS checks off.
      clusters: [{ name: 'proxy', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'proxy', user: {} }],
      contexts: [{ name: 'freshet', context: { cluster: 'proxy', user: 'proxy' } }],
      'current-context': 'freshet',
    }),
  );
  return {
    kubeconfig,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
