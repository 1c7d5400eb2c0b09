// A rebuild detected and rolled out by the daemon when the registry's credentials come from a
// Docker config file and from a credential helper, against the stack's htpasswd registry; and a
// helper that hangs is one per-image error while the watch keeps checking the other images.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { rolloutWorkflowId } from '../../workflows/rollout-messages.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { type CredentialHelpers, useCredentialHelpers } from '../support/credential-helpers.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const host = new URL(stack.registryAuth.url).host;
const push = { username: stack.registryAuth.username, password: stack.registryAuth.password };
let dir: string;
let helpers: CredentialHelpers;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-creds-rollout-'));
  helpers = useCredentialHelpers();
});
afterAll(() => {
  helpers?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Pushes a rebuild and waits for the rollout the watch starts for it. */
async function rebuildAndRollOut(fx: RolloutFixture) {
  const rebuilt = await fx.push();
  const result = await fx.result(
    rolloutWorkflowId(fx.pipeline, fx.image, rebuilt.digest, fx.config.temporal.instance),
  );
  expect(result.outcome, result.reason).toBe('succeeded');
  for (const ns of [fx.staging, fx.production]) {
    expect(Object.values(await fx.images(ns))).toEqual(fx.deployments.map(() => rebuilt.reference));
  }
}

describe('rollouts with credentials from a Docker config file', () => {
  let fx: RolloutFixture;
  beforeAll(async () => {
    // A dockerconfigjson Secret as kubectl create secret docker-registry writes it.
    const file = join(dir, 'config.json');
    const auth = Buffer.from(`${push.username}:${push.password}`).toString('base64');
    writeFileSync(
      file,
      JSON.stringify({ auths: { [host]: { username: push.username, password: push.password, auth } } }),
    );
    fx = await createRolloutFixture(stack, {
      interval: '1s',
      deployments: 1,
      registry: { url: stack.registryAuth.url, auth: `{ type: dockerConfig, file: "${file}" }`, push },
    });
  });
  afterAll(() => fx?.close());

  it('detects a rebuild and rolls it out through both stages', async () => {
    await rebuildAndRollOut(fx);
  });
});

describe('rollouts with credentials from a credential helper', () => {
  let fx: RolloutFixture;
  beforeAll(async () => {
    helpers.reset();
    helpers.answer({ ServerURL: host, Username: push.username, Secret: push.password });
    fx = await createRolloutFixture(stack, {
      interval: '1s',
      deployments: 1,
      registry: { url: stack.registryAuth.url, auth: '{ type: helper, helper: freshet-answers }', push },
    });
  });
  afterAll(() => fx?.close());

  it('detects a rebuild and rolls it out, asking the helper once for the host', async () => {
    await rebuildAndRollOut(fx);
    expect(helpers.asked()).toEqual([host]);
  });
});

describe('a credential helper that hangs', () => {
  const s = uniqueSuffix();
  const group = `mixed-${s}`;
  const good = `open-${s}`;
  const bad = `hung-${s}`;
  const repository = `hang-${s}/web`;
  let daemon: Daemon;

  const status = () =>
    daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, group)).query(watchStatusQuery);
  const imageState = async (name: string) =>
    (await status()).images.find((i) => i.image.name === name)?.state;

  beforeAll(async () => {
    await connectTemporal(stack);
    await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    await pushImage({ registryUrl: stack.registryAuth.url, repository, tag: '1', auth: push });
    const config = stackConfig(
      stack,
      `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries:
  - { name: ${good}, url: "\${REGISTRY_URL}" }
  - { name: ${bad}, url: "\${REGISTRY_AUTH_URL}", auth: { type: helper, helper: freshet-hangs, timeout: 1s } }
images:
  - { name: web-${s}, registry: ${good}, repository: ${repository}, track: { tag: "1" }, interval: 1s, watchGroup: ${group} }
  - { name: private-${s}, registry: ${bad}, repository: ${repository}, track: { tag: "1" }, interval: 1s, watchGroup: ${group} }
`,
    );
    daemon = await startTestDaemon(config);
  });
  afterAll(async () => {
    await daemon?.client.workflow
      .getHandle(watchWorkflowId(daemon.instance, group))
      .terminate('test over')
      .catch(() => undefined);
    await daemon?.close();
  });

  it('is one clear error for its image in the watch status and the metrics, and the other image still rolls on', async () => {
    const error = await waitFor(
      'the hung helper to be reported',
      async () => (await imageState(`private-${s}`))?.lastError,
    );
    expect(error).toBe(
      `registry ${bad}: HEAD ${repository}:1 → no credentials from docker-credential-freshet-hangs: ` +
        'get did not answer within 1s; killed it',
    );
    const baseline = await waitFor(
      "the open image's first digest",
      async () => (await imageState(`web-${s}`))?.latest?.digest,
    );
    const rebuilt = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    expect(rebuilt.digest).not.toBe(baseline);
    await waitFor(
      'the open image to see the rebuild',
      async () => (await imageState(`web-${s}`))?.latest?.digest === rebuilt.digest,
    );
    expect((await imageState(`web-${s}`))?.lastError).toBeUndefined();
    expect((await imageState(`private-${s}`))?.lastError).toBe(error);

    await daemon.refreshFreshness();
    const metrics = await scrape(daemon.url);
    expect(sampleValue(metrics, 'freshet_watch_errors_total', { registry: bad })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(metrics, 'freshet_watch_errors_total', { registry: good }) ?? 0).toBe(0);
    const described = await daemon.client.workflow
      .getHandle(watchWorkflowId(daemon.instance, group))
      .describe();
    expect(described.status.name).toBe('RUNNING');
  });
});
