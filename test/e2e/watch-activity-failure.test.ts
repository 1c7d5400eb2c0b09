// A registry that fails in the two ways a network can: answering garbage, and taking requests
// without ever answering. Either way the watch records the failure per image (the hung request
// ends at the registry's own timeout while the activity keeps heartbeating, so one slow registry
// never fails a whole cycle), keeps running, and recovers on its next interval.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { checkNowSignal, watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { type RegistryProxy, startRegistryProxy } from '../support/registry-proxy.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const s = uniqueSuffix();
const group = `flaky-${s}`;
const image = `app-${s}`;
const repository = `flaky-${s}/app`;
const intervalMs = 10_000;
const manifestPath = `/v2/${repository}/manifests/1`;
let proxy: RegistryProxy;
let daemon: Daemon;

const watch = () => daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, group));
const stateNow = async () => (await watch().query(watchStatusQuery)).images[0]?.state;

describe('a failing registry', () => {
  beforeAll(async () => {
    await connectTemporal(stack);
    proxy = await startRegistryProxy(stack.registry.url);
    await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '1',
      created: new Date('2026-11-01'),
    });
    // Each request may take 3 s; the activity's heartbeat timeout is 30 s.
    const config = stackConfig(
      stack,
      `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${group}, url: "${proxy.url}", timeout: 3s } ]
images:
  - { name: ${image}, registry: ${group}, repository: ${repository}, track: { tag: "1" }, interval: ${intervalMs}ms }
`,
    );
    daemon = await startTestDaemon(config, { freshnessIntervalMs: 60_000 });
  });
  afterAll(async () => {
    proxy?.setMode('forward');
    await watch()
      .terminate('test over')
      .catch(() => undefined);
    await daemon?.close();
    await proxy?.close();
  });

  it('records garbage answers and hung requests per image, and recovers', async () => {
    const baseline = await waitFor('the baseline digest', async () => (await stateNow())?.latest);

    // Garbage instead of HTTP: the registry client fails that image, the activity succeeds.
    proxy.setMode('garbage');
    await watch().signal(checkNowSignal);
    const garbled = await waitFor('the per-image error', async () => {
      const st = await stateNow();
      return st?.lastError ? st : undefined;
    });
    expect(garbled.lastError).toMatch(
      new RegExp(
        `^registry ${group}: HEAD ${repository}:1 → network error: .* \\(gave up after 4 attempts\\)$`,
      ),
    );
    expect(garbled.latest).toEqual(baseline);

    // A registry that takes requests and never answers: each request ends at its timeout.
    const successBefore = garbled.lastSuccessAt;
    const cyclesBefore = (await watch().query(watchStatusQuery)).cycles;
    proxy.setMode('hang');
    const hangStart = proxy.requests.length;
    await watch().signal(checkNowSignal);
    const failed = await waitFor(
      'the per-image timeout',
      async () => {
        const st = await stateNow();
        return st?.lastError?.includes('timed out') ? st : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(failed.lastError).toMatch(
      new RegExp(`^registry ${group}: HEAD ${repository}:1 → .*timed out after 3000 ms`),
    );
    expect(failed.latest).toEqual(baseline);
    expect(failed.lastSuccessAt).toBe(successBefore);
    // Every attempt reached the registry and never got an answer.
    const hung = proxy.requests.slice(hangStart).filter((r) => r.mode === 'hang');
    expect(hung.length).toBeGreaterThanOrEqual(2);
    expect(hung.every((r) => r.method === 'HEAD' && r.path === manifestPath)).toBe(true);
    // The activity itself never timed out: the slow registry cost one image, not the cycle.
    const history = await watch().fetchHistory();
    expect((history.events ?? []).filter((e) => e.activityTaskTimedOutEventAttributes)).toHaveLength(0);
    const status = await watch().query(watchStatusQuery);
    expect(status.cycles).toBeGreaterThanOrEqual(cyclesBefore + 1);
    expect((await watch().describe()).status.name).toBe('RUNNING');
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`freshet_watch_errors_total\\{registry="${group}"\\} [2-9]`));

    // Healthy again, with a rebuild waiting: the next interval finds it without being asked.
    const rebuilt = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    proxy.setMode('forward');
    const recoveredFrom = Date.now();
    const recovered = await waitFor(
      'the watch to recover on its own',
      async () => {
        const st = await stateNow();
        return st?.latest?.digest === rebuilt.digest ? st : undefined;
      },
      { timeoutMs: intervalMs * 2, intervalMs: 200 },
    );
    expect(Date.now() - recoveredFrom).toBeLessThan(intervalMs * 1.1 + 3_000);
    expect(recovered.lastError).toBeUndefined();
    expect(recovered.lastSuccessAt).not.toBe(successBefore);
    expect(recovered.previous[0]).toEqual(baseline);
  }, 240_000);
});
