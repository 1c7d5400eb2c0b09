// Change windows and freezes on the stack: a staging window that opens 20 s after the rebuild
// holds the first wave until it opens; a freeze set during the staging soak stops the rollout at
// that safe point and no production wave starts until `freshet unfreeze`; a rollout requested
// while its pipeline is frozen waits before its first wave until the freeze's --until lifts it.
// The operator commands run as the real CLI, against the real Temporal, registry and Kubernetes.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { WebhookPayload } from '../../activities/notify/webhook.ts';
import { requestRollout } from '../../activities/rollout/request.ts';
import type { Received } from '../../stack/notify-receiver.ts';
import { freezeCommand } from '../../worker/cli/freeze.ts';
import { statusCommand } from '../../worker/cli/rollouts.ts';
import { freezeStatusQuery, freezeWorkflowId } from '../../workflows/freeze-messages.ts';
import { type RolloutStatus, rolloutStatusQuery } from '../../workflows/rollout-messages.ts';
import { createRolloutFixture, type RolloutFixture, withStagingWindows } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const cli = fileURLToPath(new URL('../../worker/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'freshet-windows-'));

function freshet(fx: RolloutFixture, configPath: string, args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, ...fx.env, FRESHET_CONFIG: configPath } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const status = (fx: RolloutFixture, id: string) => fx.client.workflow.getHandle(id).query(rolloutStatusQuery);

function phase(fx: RolloutFixture, id: string, want: RolloutStatus['phase'], timeoutMs = 90_000) {
  return waitFor(
    `${id} to reach ${want}`,
    async () => {
      const s = await status(fx, id).catch(() => undefined);
      return s?.phase === want ? s : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/**
 * Waits until a Deployment leaves `image`, then says when the API server recorded that write
 * (its managedFields time, to the second): when the patch happened, however late it was seen.
 */
async function patchedAt(fx: RolloutFixture, namespace: string, deployment: string, image: string) {
  await waitFor(
    `${namespace}/${deployment} to leave ${image}`,
    async () => (await fx.images(namespace))[deployment] !== image,
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  const d = await fx.kube.apps.readNamespacedDeployment({ namespace, name: deployment });
  const writes = (d.metadata?.managedFields ?? [])
    .filter((f) => f.manager !== 'kube-controller-manager' && f.subresource !== 'status' && f.time)
    .map((f) => new Date(f.time as Date).getTime());
  return Math.max(...writes);
}

const berlinClock = (ms: number) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Berlin',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(ms));

describe('a change window holds the waves until it opens', () => {
  let fx: RolloutFixture;
  beforeAll(async () => {
    fx = await createRolloutFixture(stack);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('waits for a window that opens 20 s after the rebuild, then rolls out', async () => {
    const rebuild = await fx.push();
    const opensAt = Math.ceil((Date.now() + 20_000) / 1_000) * 1_000;
    const { yaml, config } = withStagingWindows(
      stack,
      fx,
      `[ { from: "${berlinClock(opensAt)}", to: "${berlinClock(opensAt + 3_600_000)}", timeZone: Europe/Berlin } ]`,
    );
    const configPath = join(dir, 'window.yaml');
    writeFileSync(configPath, yaml);
    // What `freshet rollout IMAGE --digest D` does with this config, in-process: a CLI start can
    // take longer than 20 s on a loaded machine, and the window would be open before it asks.
    const { rolloutId: id } = await requestRollout(
      { client: fx.client, config, searchAttributes: true },
      {
        pipeline: fx.pipeline,
        image: fx.image,
        registry: config.registries[0]?.name ?? '',
        repository: fx.repository,
        tag: rebuild.tag,
        digest: rebuild.digest,
        trigger: 'manual',
        detectedAt: new Date().toISOString(),
      },
    );

    // A precondition, not the behaviour under test: the request reached Temporal before the opening.
    expect(
      Date.now(),
      'requested after the window opened: the machine is too loaded for this test',
    ).toBeLessThan(opensAt - 1_000);
    const waiting = await phase(fx, id, 'waiting-for-window');
    expect(waiting.stage).toBe('staging');
    expect(waiting.window?.opensAt).toBe(new Date(opensAt).toISOString());
    // What `freshet status` prints (in-process: a CLI start could outlast the wait).
    const listed = await statusCommand(fx.client, config, false);
    expect(listed).toContain('waiting-for-window');
    expect(listed).toContain(`change window opening ${new Date(opensAt).toISOString()}`);

    // The first patch comes after the opening.
    expect(await patchedAt(fx, fx.staging, 'web-1', fx.baseline.reference)).toBeGreaterThanOrEqual(opensAt);

    const result = await fx.result(id);
    expect(result.outcome).toBe('succeeded');
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => rebuild.reference),
    );
  });
});

describe('a freeze stops rollouts at their next safe point', () => {
  const freezeChannel = `freeze-${randomBytes(4).toString('hex')}`;
  let fx: RolloutFixture;
  let configPath: string;
  beforeAll(async () => {
    const secret = join(dir, 'freeze-hook-secret');
    writeFileSync(secret, stack.notifyReceiver.secret, { mode: 0o600 });
    fx = await createRolloutFixture(stack, {
      stagingHealth: '{ rolloutTimeout: 60s, soak: 30s }',
      notifications: `{ sinks: [ { name: freezes, webhook: { url: "${stack.notifyReceiver.url}/webhook/${freezeChannel}", secretFile: "${secret}" }, events: [freeze.changed] } ] }`,
    });
    configPath = join(dir, 'freeze.yaml');
    writeFileSync(configPath, fx.yaml);
  });
  afterAll(async () => {
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a freeze during the staging soak holds the rollout; no production wave until unfreeze', async () => {
    const rebuild = await fx.push();
    const id = await fx.request(rebuild);
    await phase(fx, id, 'soaking');
    const soakingSince = Date.now();

    // What `freshet freeze --reason "incident 42" --by oncall` runs, in-process so it lands within
    // the soak however slowly a CLI starts; the CLI itself freezes and unfreezes below.
    expect(await freezeCommand(fx.client, fx.config, { reason: 'incident 42', by: 'oncall' })).toContain(
      'froze every pipeline',
    );
    const held = await phase(fx, id, 'frozen', 30_000);
    expect(held.freeze).toMatchObject({ scope: 'all', reason: 'incident 42', by: 'oncall' });

    const listed = await freshet(fx, configPath, ['status']);
    expect(listed.stdout).toMatch(
      /FROZEN \(freshet unfreeze lifts it\):\n {2}every pipeline: by oncall since \S+: incident 42/,
    );
    expect(listed.stdout).toMatch(/frozen by oncall since \S+: incident 42/);
    const details = await fx.client.workflow
      .getHandle(id)
      .query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(details.currentDetails).toContain('**Frozen** (every pipeline) by oncall');
    await fx.daemon.refreshFreshness();
    expect(await fx.daemon.metrics.registry.getSingleMetricAsString('freshet_freeze_active')).toContain(
      `freshet_freeze_active{pipeline="${fx.pipeline}"} 1`,
    );

    // Past the soak's end: still frozen, production untouched.
    await new Promise((r) => setTimeout(r, Math.max(0, soakingSince + 35_000 - Date.now())));
    expect((await status(fx, id)).phase).toBe('frozen');
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => fx.baseline.reference),
    );

    const lifted = await freshet(fx, configPath, ['unfreeze', '--by', 'oncall']);
    expect(lifted).toMatchObject({ code: 0, stderr: '' });
    const result = await fx.result(id);
    expect(result.outcome).toBe('succeeded');
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => rebuild.reference),
    );
    await fx.daemon.refreshFreshness();
    expect(await fx.daemon.metrics.registry.getSingleMetricAsString('freshet_freeze_active')).toContain(
      `freshet_freeze_active{pipeline="${fx.pipeline}"} 0`,
    );
    // The freeze and its lifting reached the signed webhook, once each.
    const told = await waitFor(
      'freeze.changed frozen and unfrozen at the receiver',
      async () => {
        const res = await fetch(`${stack.notifyReceiver.url}/received/${freezeChannel}`);
        const got = (await res.json()) as Received;
        const events = got.webhook.map((m) => (m.body as WebhookPayload).event);
        return events.length >= 2 ? { events, refused: got.refused } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(told.refused).toEqual([]);
    expect(told.events).toMatchObject([
      { type: 'freeze.changed', change: 'frozen', reason: 'incident 42', by: 'oncall' },
      { type: 'freeze.changed', change: 'unfrozen', reason: 'incident 42', liftedBy: 'oncall' },
    ]);
    expect(told.events[0]).not.toHaveProperty('pipeline');
  });

  it('a rollout requested while its pipeline is frozen waits before its first wave until --until', async () => {
    const frozen = await freshet(fx, configPath, [
      'freeze',
      '--pipeline',
      fx.pipeline,
      '--until',
      '60s',
      '--reason',
      'release week',
    ]);
    expect(frozen).toMatchObject({ code: 0, stderr: '' });
    const snapshot = await fx.client.workflow
      .getHandle(freezeWorkflowId(fx.config.temporal.instance))
      .query(freezeStatusQuery);
    const until = Date.parse(snapshot.pipelines[fx.pipeline]?.until ?? '');
    expect(until).toBeGreaterThan(Date.now());

    const before = (await fx.images(fx.staging))['web-1'] ?? '';
    const rebuild = await fx.push();
    const id = await fx.request(rebuild);
    const held = await phase(fx, id, 'frozen');
    expect(held.freeze).toMatchObject({ scope: 'pipeline', reason: 'release week' });
    expect(held.wave).toBeUndefined();
    expect((await fx.images(fx.staging))['web-1']).toBe(before);

    expect(await patchedAt(fx, fx.staging, 'web-1', before)).toBeGreaterThanOrEqual(
      Math.floor(until / 1_000) * 1_000,
    );
    expect((await fx.result(id)).outcome).toBe('succeeded');
  });

  it('refuses a freeze without a reason or with a time that has passed, and changes nothing', async () => {
    const noReason = await freshet(fx, configPath, ['freeze']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('say why: --reason TEXT');
    const past = await freshet(fx, configPath, [
      'freeze',
      '--reason',
      'x',
      '--until',
      '2020-01-01T00:00:00Z',
    ]);
    expect(past.code).toBe(1);
    expect(past.stderr).toContain('refused: until 2020-01-01T00:00:00.000Z has passed');
    const unknown = await freshet(fx, configPath, ['freeze', '--reason', 'x', '--pipeline', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no pipeline named "nope"');
    const snapshot = await fx.client.workflow
      .getHandle(freezeWorkflowId(fx.config.temporal.instance))
      .query(freezeStatusQuery);
    expect(snapshot.all).toBeUndefined();
    expect(snapshot.pipelines).toEqual({});
  });
});
