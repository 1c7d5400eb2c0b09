// The apiserver's own request counter, read from its /metrics with the stack's admin credentials:
// what a test or benchmark cost the apiserver, counted by the server itself.
import { get, type RequestOptions } from 'node:https';
import type { Kube } from './kube.ts';

/** apiserver_request_total summed per `keyOf(labels)` (verb, resource, scope, code, …). */
export async function apiserverRequestTotals(
  kube: Kube,
  keyOf: (labels: Record<string, string>) => string,
): Promise<Map<string, number>> {
  const options: RequestOptions = {};
  await kube.config.applyToHTTPSOptions(options);
  const server = kube.config.getCurrentCluster()?.server ?? '';
  const text = await new Promise<string>((resolve, reject) => {
    get(`${server}/metrics`, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    }).on('error', reject);
  });
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels: Record<string, string> = {};
    for (const m of line.slice(0, line.lastIndexOf('}')).matchAll(/(\w+)="([^"]*)"/g)) {
      if (m[1]) labels[m[1]] = m[2] ?? '';
    }
    const key = keyOf(labels);
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

/** Namespaced LISTs of one resource so far (scope `namespace`: a cluster-wide LIST is another's). */
export async function namespacedLists(kube: Kube, resource: string): Promise<number> {
  const totals = await apiserverRequestTotals(kube, (l) =>
    l.verb === 'LIST' && l.scope === 'namespace' ? (l.resource ?? '') : '',
  );
  return totals.get(resource) ?? 0;
}
