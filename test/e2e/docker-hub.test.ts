// Docker Hub as it is, without Docker Hub (the machine is offline): its names, as a Deployment
// and a config write them, against the stack's Kubernetes; and its pull budget, with the
// stack's registry behind a proxy that keeps Docker Hub's books (ratelimit-* headers on every
// manifest answer, a pull spent per manifest GET, HEADs free, 429 once the budget is gone). A
// daemon watches an image that is rebuilt all the time, so every check that finds the rebuild
// spends a pull.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { buildRegistryClients } from '../../worker/registries.ts';
import { type ImageState, watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { pacedIntervalMs } from '../../workflows/watch-pacing.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { createNamespace, deleteNamespace, deploymentManifest, kubeClients } from '../support/kube.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { type RegistryProxy, startRegistryProxy } from '../support/registry-proxy.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const suffix = uniqueSuffix();
const registry = `hub-${suffix}`;
const repository = `hub-${suffix}/web`;
let proxy: RegistryProxy;
let daemon: Daemon | undefined;

beforeAll(async () => {
  await connectTemporal(stack);
  proxy = await startRegistryProxy(stack.registry.url);
});

afterAll(async () => {
  if (daemon) {
    await daemon.client.workflow
      .getHandle(watchWorkflowId(daemon.instance, registry))
      .terminate('test over')
      .catch(() => undefined);
    await daemon.close();
  }
  await proxy?.close();
});

describe('Docker Hub names', () => {
  it('a Deployment running nginx:1.27 is a target of repository nginx on https://docker.io', async () => {
    const kube = kubeClients(stack.kubernetes.kubeconfig);
    const namespace = `hub-names-${suffix}`;
    await createNamespace(kube, namespace);
    const body = deploymentManifest({ name: 'web', image: 'nginx:1.27', replicas: 1 });
    await kube.apps.createNamespacedDeployment({ namespace, body });
    const config = stackConfig(
      stack,
      `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: dockerhub, url: "https://docker.io" } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: nginx-${suffix}, registry: dockerhub, repository: nginx, track: { tag: "1.27" }, pipeline: web-${suffix}, interval: 1h }
pipelines:
  web-${suffix}:
    stages: [ { name: staging, cluster: local, targets: [ { namespace: ${namespace}, selector: { app: web } } ] } ]
`,
    );
    const hub = await startTestDaemon(config);
    try {
      await hub.refreshFreshness();
      const text = await scrape(hub.url);
      // Docker Hub itself is out of reach: the newest build is unknown, but the target is found.
      expect(
        sampleValue(text, 'freshet_image_up_to_date', {
          pipeline: `web-${suffix}`,
          namespace,
          deployment: 'web',
          container: 'web',
          image: `nginx-${suffix}`,
        }),
      ).toBe(0);
      const status = await hub.client.workflow
        .getHandle(watchWorkflowId(hub.instance, 'dockerhub'))
        .query(watchStatusQuery);
      expect(status.images[0]?.image.repository).toBe('library/nginx');
      await hub.client.workflow
        .getHandle(watchWorkflowId(hub.instance, 'dockerhub'))
        .terminate('test over')
        .catch(() => undefined);
    } finally {
      await hub.close();
      await deleteNamespace(kube, namespace);
    }
  });
});

describe('Docker Hub rate limits', () => {
  it('exports ratelimit-remaining and slows the watch down as it falls, so no 429 is reached', async () => {
    const budget = { limit: 15, remaining: 15, windowSeconds: 30 };
    proxy.budget = budget;
    await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    const config = stackConfig(
      stack,
      `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "${proxy.url}" } ]
images:
  - { name: web-${suffix}, registry: ${registry}, repository: ${repository}, track: { tag: "1" }, interval: 1s }
`,
    );
    daemon = await startTestDaemon(config);
    const watch = daemon.client.workflow.getHandle(watchWorkflowId(config.temporal.instance, registry));
    const state = async (): Promise<ImageState | undefined> =>
      (await watch.query(watchStatusQuery)).images[0]?.state;
    await waitFor('the baseline digest', async () => (await state())?.latest);

    // A rebuild every 700 ms: at a 1 s interval every check would find one and spend a pull,
    // and the 15 pulls would be gone in 15 s.
    const started = Date.now();
    let rebuilding = true;
    const rebuilds = (async () => {
      while (rebuilding) {
        await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
        await sleep(700);
      }
    })();
    const slowed: NonNullable<ImageState['slowedDown']>[] = [];
    while (Date.now() - started < 40_000) {
      const s = await state();
      if (s?.slowedDown) slowed.push(s.slowedDown);
      await sleep(500);
    }
    rebuilding = false;
    await rebuilds;

    const manifests = proxy.requests.filter((r) => r.path.includes('/manifests/') && r.at >= started);
    expect(manifests.filter((r) => r.status === 429)).toEqual([]);
    expect(budget.remaining).toBeGreaterThanOrEqual(2); // the reserve: a tenth of the limit
    expect(budget.remaining).toBeLessThan(12); // rebuilds were found and pulled all along

    // The checks (one HEAD each) came further apart as the budget fell. HEADs less than 500 ms
    // apart are one check: a check retried on a busy machine (its activity timed out) sends its
    // HEAD again at once, and that is no shorter interval.
    const heads = manifests.filter((r) => r.method === 'HEAD').map((r) => r.at);
    const checks = heads.filter((at, i) => i === 0 || at - (heads[i - 1] ?? at) >= 500);
    const gaps = checks.slice(1).map((at, i) => at - (checks[i] ?? at));
    expect(gaps.length).toBeGreaterThan(4);
    expect(gaps[0]).toBeLessThan(4_000);
    // Each gap is its interval ±10 % jitter, plus the time a check takes on a busy machine: the
    // last ones are the longest, and far fewer checks were made than 40 at the 1 s interval.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(gaps.slice(-2))).toBeGreaterThan(Math.max(4_000, 1.5 * mean(gaps.slice(0, 2))));
    expect(checks.length).toBeLessThan(25);

    // The watch said why, and with what it knew: each interval is the one that spreads what is
    // left (less the reserve) over the window.
    expect(slowed.length).toBeGreaterThan(0);
    for (const s of slowed) {
      expect(s).toEqual({
        windowSeconds: 30,
        remaining: s.remaining,
        intervalMs: pacedIntervalMs(
          1_000,
          { registry, remaining: s.remaining, limit: 15, windowSeconds: 30, images: 1 },
          1,
        ),
      });
    }
    expect(slowed.map((s) => s.remaining)).toEqual([...slowed.map((s) => s.remaining)].sort((a, b) => b - a));
    expect(slowed.at(-1)?.intervalMs).toBeGreaterThan(1.4 * (slowed[0]?.intervalMs ?? 0));

    // The gauge shows what the registry last said.
    const url = daemon.url;
    await waitFor('the gauge to show the remaining budget', async () => {
      const text = await scrape(url);
      return sampleValue(text, 'freshet_registry_ratelimit_remaining', { registry }) === budget.remaining;
    });
    const text = await scrape(url);
    expect(sampleValue(text, 'freshet_registry_ratelimit_limit', { registry })).toBe(15);
  });

  it('a Retry-After longer than registries[].maxRetryAfter fails at once; a shorter one is waited out', async () => {
    const config = stackConfig(
      stack,
      `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "${proxy.url}", maxRetryAfter: 2s } ]
`,
    );
    delete proxy.budget;
    const pushed = await pushImage({
      registryUrl: stack.registry.url,
      repository: `${repository}-retry`,
      tag: '1',
    });
    const client = buildRegistryClients(config).get(registry);
    if (!client) throw new Error('no client');

    let retryAfter = '5';
    let refusals = 1;
    proxy.answer = (req) =>
      req.path.includes('-retry/manifests/') && refusals-- > 0
        ? { status: 429, headers: { 'retry-after': retryAfter }, body: '' }
        : undefined;
    try {
      let began = Date.now();
      const err = await client.resolveDigest(`${repository}-retry`, '1').catch((e: unknown) => e);
      expect(Date.now() - began).toBeLessThan(1_000);
      expect(err).toMatchObject({ retryable: true, retryAfterMs: 5_000 });
      expect((err as Error).message).toBe(
        `registry ${registry}: HEAD ${repository}-retry:1 → 429 too many requests (rate limited by the registry) (asked to retry after 5 s)`,
      );

      retryAfter = '1';
      refusals = 1;
      // The first 429 paused the registry for 5 s, which the next request waits out first.
      await sleep(5_000);
      began = Date.now();
      await expect(client.resolveDigest(`${repository}-retry`, '1')).resolves.toMatchObject({
        digest: pushed.digest,
      });
      expect(Date.now() - began).toBeGreaterThanOrEqual(1_000);
    } finally {
      delete proxy.answer;
    }
  });
});
