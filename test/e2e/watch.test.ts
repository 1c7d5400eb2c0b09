// Watching against the real registry and Temporal: a rebuilt tag is detected within one
// interval, and exactly one rollout starts even when a webhook and a poll report the same push.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { rolloutWorkflowId, watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { ociManifest, pushImage } from '../support/image-pusher.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const suffix = uniqueSuffix();
const repository = `acme-${suffix}/web`;
const registry = `local-${suffix}`;
const token = `webhook-${suffix}`;
const intervalMs = 3_000;
let daemon: Daemon;

const config = stackConfig(
  stack,
  `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries:
  - name: ${registry}
    url: "\${REGISTRY_URL}"
    webhook: { source: distribution, tokenEnv: WEBHOOK_TOKEN_${suffix} }
clusters:
  local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet }
images:
  - { name: web-${suffix}, registry: ${registry}, repository: ${repository}, track: { tag: "1.4" }, pipeline: web-${suffix}, interval: ${intervalMs}ms }
pipelines:
  web-${suffix}:
    stages:
      - { name: staging, cluster: local, targets: [ { namespace: web-${suffix}, deployment: web } ] }
`,
);

async function latestDigest(): Promise<string | undefined> {
  const status = await daemon.client.workflow
    .getHandle(watchWorkflowId(config.temporal.instance, registry))
    .query(watchStatusQuery);
  return status.images[0]?.state.latest?.digest;
}

describe('watching a registry', () => {
  beforeAll(async () => {
    process.env[`WEBHOOK_TOKEN_${suffix}`] = token;
    await connectTemporal(stack);
    await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '1.4',
      created: new Date('2026-11-01T00:00:00Z'),
    });
    daemon = await startTestDaemon(config);
  });
  afterAll(async () => {
    await daemon?.client.workflow
      .getHandle(watchWorkflowId(config.temporal.instance, registry))
      .terminate('test over')
      .catch(() => undefined);
    await daemon?.close();
  });

  it('detects a rebuild within one interval and starts exactly one rollout for webhook and poll together', async () => {
    const first = await waitFor('the watch to record the first digest', latestDigest, { timeoutMs: 30_000 });
    const rebuilt = await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '1.4',
      created: new Date(),
    });
    expect(rebuilt.digest).not.toBe(first);
    const pushedAt = Date.now();

    // The registry's notification for that push, as Distribution sends it, racing the poll.
    const notification = {
      events: [
        {
          id: `evt-${suffix}`,
          timestamp: new Date().toISOString(),
          action: 'push',
          target: {
            mediaType: ociManifest,
            digest: rebuilt.digest,
            repository,
            tag: '1.4',
            url: `${stack.registry.url}/v2/${repository}/manifests/${rebuilt.digest}`,
          },
          request: { id: 'r1', host: stack.registry.host, method: 'PUT', useragent: 'test' },
          actor: {},
          source: { addr: 'localhost:5000', instanceID: 'x' },
        },
      ],
    };
    const post = () =>
      fetch(`${daemon.url}/webhooks/distribution`, {
        method: 'POST',
        headers: {
          'content-type': 'application/vnd.docker.distribution.events.v1+json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify(notification),
      });
    const [a, b] = await Promise.all([post(), post()]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(await a.json()).toMatchObject({ status: 'accepted', hints: 1 });

    const rolloutId = rolloutWorkflowId(`web-${suffix}`, `web-${suffix}`, rebuilt.digest, daemon.instance);
    const handle = daemon.client.workflow.getHandle(rolloutId);
    const described = await waitFor(
      'the rollout workflow to start',
      () => handle.describe().catch(() => undefined),
      {
        timeoutMs: intervalMs * 2,
        intervalMs: 100,
      },
    );
    expect(described.startTime.getTime() - pushedAt).toBeLessThan(intervalMs * 1.1 + 1_000);
    expect(await latestDigest()).toBe(rebuilt.digest);

    // Let another poll cycle pass: still exactly one rollout for the digest.
    await new Promise((r) => setTimeout(r, intervalMs * 1.5));
    const rollouts = [];
    for await (const wf of daemon.client.workflow.list({ query: `WorkflowId = '${rolloutId}'` }))
      rollouts.push(wf);
    expect(rollouts).toHaveLength(1);
    const result = (await handle.result()) as { outcome: string; request: { digest: string; tag: string } };
    expect(result.request).toMatchObject({ digest: rebuilt.digest, tag: '1.4' });
  });
});
