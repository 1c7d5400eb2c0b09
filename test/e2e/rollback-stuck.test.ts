// A rollback never gives up while the broken image runs: Freshet's RoleBinding is taken away
// mid-rollout, so the rollback cannot patch; the rollout shows rollback-stuck (status and metric)
// for two minutes, and once the RoleBinding is back the rollback completes by itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RbacAuthorizationV1Api, type V1RoleBinding } from '@kubernetes/client-node';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { rolloutStatusQuery } from '../../workflows/rollout-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { historyEvents } from '../support/history.ts';
import { deleteNamespace } from '../support/kube.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { applyRbac, loadManifests, renamed, serviceAccountKubeconfig } from '../support/service-account.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const revokedForMs = 120_000;
let fx: RolloutFixture | undefined;
let daemon: Daemon | undefined;
let home = '';
const dir = mkdtempSync(join(tmpdir(), 'freshet-stuck-'));

afterAll(async () => {
  await daemon?.close();
  await fx?.close();
  if (fx && home) await deleteNamespace(fx.kube, home);
  rmSync(dir, { recursive: true, force: true });
});

describe('a rollback never gives up while the broken image runs', () => {
  it('waits out a revoked RoleBinding as rollback-stuck, then patches back', async () => {
    fx = await createRolloutFixture(stack, { startDaemon: false, deployments: 2, replicas: 1 });
    const f = fx;
    home = `freshet-${uniqueSuffix()}`;
    await f.kube.core.createNamespace({
      body: { metadata: { name: home, labels: { 'freshet.dev/test': 'true' } } },
    });
    const manifests = loadManifests();
    const namespaces = { freshet: home, staging: f.staging, production: f.production };
    await applyRbac(f.kube, manifests, namespaces);
    const { path } = await serviceAccountKubeconfig(f.kube, home, dir);
    daemon = await startTestDaemon(stackConfig(stack, f.yaml, { ...f.env, KUBECONFIG_PATH: path }));

    const broken = await f.push({ broken: true });
    const id = await f.request(broken);
    const handle = f.client.workflow.getHandle(id);
    // The canary runs the broken build: take Freshet's permissions in staging away.
    await waitFor(
      'the canary patch',
      async () => Object.values(await f.images(f.staging)).includes(broken.reference),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const rbac = f.kube.config.makeApiClient(RbacAuthorizationV1Api);
    const binding = manifests.find(
      (m) => m.kind === 'RoleBinding' && m.metadata?.namespace === 'staging',
    ) as unknown as V1RoleBinding;
    await rbac.deleteNamespacedRoleBinding({ name: binding.metadata?.name ?? '', namespace: f.staging });
    const revokedAt = Date.now();

    const stuck = await waitFor(
      'rollback-stuck',
      async () => {
        const st = await handle.query(rolloutStatusQuery);
        return st.phase === 'rollback-stuck' ? st : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(stuck.rollbackStuck?.[0]?.error).toMatch(/403/);
    const url = daemon.url;
    const stuckMetric = async () =>
      sampleValue(await scrape(url), 'freshet_rollback_stuck', { pipeline: f.pipeline, stage: 'staging' });
    // Reported by an activity right after the phase changes.
    await waitFor('freshet_rollback_stuck 1', async () => (await stuckMetric()) === 1);

    await sleep(Math.max(0, revokedForMs - (Date.now() - revokedAt)));
    // Two minutes on, it has not given up: still running, still stuck, the broken build still there.
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect((await handle.query(rolloutStatusQuery)).phase).toBe('rollback-stuck');
    expect(Object.values(await f.images(f.staging))).toContain(broken.reference);

    await rbac.createNamespacedRoleBinding({ namespace: f.staging, body: renamed(binding, namespaces) });
    const result = await f.result(id);
    expect(result.outcome, result.reason).toBe('rolled_back');
    expect(result.reason).toContain('rolled back 1 workload');
    expect(Object.values(await f.images(f.staging))).toEqual(f.deployments.map(() => f.baseline.reference));
    await waitFor('freshet_rollback_stuck 0', async () => (await stuckMetric()) === 0);
    // However long it was stuck, the history stayed small: the retries are the server's.
    expect((await historyEvents(f.client, id)).length).toBeLessThan(150);
  }, 420_000);
});
