// What watching costs and how it fails, against real registries: an idle check is one HEAD
// per image and no GET; a registry outage is reported and recovered from; wrong credentials
// give an error that names the registry and the variables, never the secret.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { checkNowSignal, watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { startTestRegistry, type TestRegistry } from '../support/registry-process.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const suffix = uniqueSuffix();
const counted = `count-${suffix}`;
const guarded = `guarded-${suffix}`;
const imageCount = 5;
const wrongPassword = `not-the-password-${suffix}`;
let registry: TestRegistry;
let daemon: Daemon;

const repo = (i: number) => `idle-${suffix}/app${i}`;

async function status(group: string) {
  return daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, group)).query(watchStatusQuery);
}

/** Asks for one check of every image and waits until that cycle has finished. */
async function checkOnce(group: string): Promise<void> {
  const before = (await status(group)).cycles;
  await daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, group)).signal(checkNowSignal);
  await waitFor(`cycle ${before + 1} of ${group}`, async () => (await status(group)).cycles > before, {
    timeoutMs: 30_000,
    intervalMs: 50,
  });
}

describe('watch cost and failures', () => {
  beforeAll(async () => {
    process.env[`REG_USER_${suffix}`] = stack.registryAuth.username;
    process.env[`REG_PASS_${suffix}`] = wrongPassword;
    await connectTemporal(stack);
    registry = await startTestRegistry();
    for (let i = 0; i < imageCount; i++)
      await pushImage({ registryUrl: registry.url, repository: repo(i), tag: '1.4' });
    const images = Array.from(
      { length: imageCount },
      (_, i) =>
        `  - { name: app${i}-${suffix}, registry: ${counted}, repository: ${repo(i)}, track: { tag: "1.4" }, interval: 1h }`,
    ).join('\n');
    const config = stackConfig(
      stack,
      `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries:
  - { name: ${counted}, url: "${registry.url}", maxConcurrency: 8 }
  - name: ${guarded}
    url: "\${REGISTRY_AUTH_URL}"
    auth: { type: basic, usernameEnv: REG_USER_${suffix}, passwordEnv: REG_PASS_${suffix} }
images:
${images}
  - { name: private-${suffix}, registry: ${guarded}, repository: private/app, track: { tag: "1" }, interval: 1h }
`,
    );
    daemon = await startTestDaemon(config, { freshnessIntervalMs: 60_000 });
    await waitFor('the first digest of every image', async () => {
      const s = await status(counted);
      return s.images.every((i) => i.state.latest) && s.images.length === imageCount;
    });
  });
  afterAll(async () => {
    for (const g of [counted, guarded]) {
      await daemon?.client.workflow
        .getHandle(watchWorkflowId(daemon.instance, g))
        .terminate('test over')
        .catch(() => undefined);
    }
    await daemon?.close();
    await registry?.remove();
  });

  it('costs exactly one HEAD and no GET per image per idle check, counted by the registry', async () => {
    const before = registry.requests().length;
    const cycles = 3;
    for (let i = 0; i < cycles; i++) await checkOnce(counted);
    const idle = registry.requests().slice(before);
    expect(idle.filter((r) => r.method !== 'HEAD')).toEqual([]);
    for (let i = 0; i < imageCount; i++) {
      const heads = idle.filter((r) => r.path === `/v2/${repo(i)}/manifests/1.4`);
      expect(heads).toHaveLength(cycles);
      // If-None-Match with the known digest: the registry answers 304 Not Modified.
      expect(heads.every((r) => r.status === 304)).toBe(true);
    }
  });

  it('keeps watching through a registry outage, reports it, and recovers', async () => {
    await daemon.refreshFreshness();
    const lastSuccess = sampleValue(
      await scrape(daemon.url),
      'freshet_watch_last_success_timestamp_seconds',
      {
        registry: counted,
      },
    );
    expect(lastSuccess).toBeGreaterThan(0);

    await registry.stop();
    await checkOnce(counted);
    const down = await status(counted);
    expect(
      down.images.every((i) => /registry count-\w+: HEAD .* network error/.test(i.state.lastError ?? '')),
    ).toBe(true);
    const described = await daemon.client.workflow
      .getHandle(watchWorkflowId(daemon.instance, counted))
      .describe();
    expect(described.status.name).toBe('RUNNING');
    await daemon.refreshFreshness();
    const metrics = await scrape(daemon.url);
    expect(sampleValue(metrics, 'freshet_watch_errors_total', { registry: counted })).toBe(imageCount);
    expect(
      sampleValue(metrics, 'freshet_registry_requests_total', { registry: counted, code: 'network' }),
    ).toBeGreaterThan(0);
    expect(sampleValue(metrics, 'freshet_watch_last_success_timestamp_seconds', { registry: counted })).toBe(
      lastSuccess,
    );

    await registry.start();
    const rebuilt = await pushImage({ registryUrl: registry.url, repository: repo(0), tag: '1.4' });
    await checkOnce(counted);
    const up = await status(counted);
    expect(up.images[0]?.state.latest?.digest).toBe(rebuilt.digest);
    expect(up.images.every((i) => i.state.lastError === undefined)).toBe(true);
  });

  it('names the registry and the credential variables on a wrong password, and never the password', async () => {
    const s = await waitFor('the check with wrong credentials to fail', async () => {
      const st = await status(guarded);
      return st.images[0]?.state.lastError ? st : undefined;
    });
    const error = s.images[0]?.state.lastError ?? '';
    expect(error).toContain(`registry ${guarded}: HEAD private/app:1 → 401 unauthorized`);
    expect(error).toContain(`REG_PASS_${suffix}`);
    expect(error).not.toContain(wrongPassword);
    expect(JSON.stringify(s)).not.toContain(wrongPassword);
    const history = await daemon.client.workflow
      .getHandle(watchWorkflowId(daemon.instance, guarded))
      .fetchHistory();
    expect(JSON.stringify(history)).not.toContain(wrongPassword);
  });
});
