// Every branch of the rollout workflow on the time-skipping test server, with Kubernetes and the
// health checks replaced: each test asserts the exact patches (updates and rollbacks, with their
// targets and images) and the outcome. Messages go through the client, as an operator sends them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abortSignal,
  decideUpdate,
  pauseSignal,
  type RolloutInput,
  rejectSignal,
  resumeSignal,
  supersedeSignal,
} from '../../../workflows/rollout-messages.ts';
import type { Patch } from '../../support/cluster-model.ts';
import {
  baseline,
  clusterWith,
  digest,
  httpCheck,
  imageOf,
  rolloutInput,
  stage,
} from '../../support/rollout-input.ts';
import {
  cancelRequestedActivities,
  rolloutPhase,
  startRollout,
  startWorkflowEnv,
  type WorkerRun,
  type WorkflowEnv,
} from '../../support/workflow-env.ts';

const update = (target: string, letter: string): Patch => ({
  kind: 'update',
  target: `${target}/app`,
  image: imageOf(letter),
});
const rollback = (target: string): Patch => ({ kind: 'rollback', target: `${target}/app`, image: baseline });

/** `actual` in order, where an inner array is a group the workflow runs in parallel (any order within). */
function expectPatches(actual: Patch[], expected: (Patch | Patch[])[]) {
  const byTarget = (a: Patch, b: Patch) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0);
  let at = 0;
  const seen: Patch[][] = [];
  const want: Patch[][] = [];
  for (const step of expected) {
    const group = Array.isArray(step) ? step : [step];
    seen.push(actual.slice(at, at + group.length).sort(byTarget));
    want.push([...group].sort(byTarget));
    at += group.length;
  }
  expect({ steps: seen, rest: actual.slice(at) }).toEqual({ steps: want, rest: [] });
}

let wf: WorkflowEnv;
beforeAll(async () => {
  wf = await startWorkflowEnv();
}, 120_000);
afterAll(async () => {
  await wf?.teardown();
});

const start = (run: WorkerRun, input: RolloutInput) => startRollout(run, input, { prefix: 'rollout' });
const phase = rolloutPhase;

describe('rollout workflow branches (time-skipping test server, replaced activities)', {
  timeout: 30_000,
}, () => {
  it('succeeds over two stages with waves: staging one by one, production after an approval', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2', 'web-3'], prd: ['web-1', 'web-2'] });
    const input = rolloutInput('a', [
      stage('staging', 'stg', ['web-1', 'web-2', 'web-3'], { checks: [httpCheck('stg-health')] }),
      stage('production', 'prd', ['web-1', 'web-2'], {
        waves: [{ percent: 50 }, { percent: 100 }],
        approval: { timeoutMs: 24 * 3_600_000, approvers: ['alice'] },
      }),
    ]);
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await phase(handle, 'awaiting-approval');
      expect(cluster.patches).toEqual([
        update('stg/web-1', 'a'),
        update('stg/web-2', 'a'),
        update('stg/web-3', 'a'),
      ]);
      const answer = await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', by: 'alice' }],
      });
      expect(answer).toBe('approved stage production by alice');
      const r = await handle.result();
      // One check after each of the two staging waves; production has none.
      expect(run.callsOf('runHealthCheck')).toHaveLength(2);
      return r;
    });
    expect(cluster.patches).toEqual([
      update('stg/web-1', 'a'),
      update('stg/web-2', 'a'),
      update('stg/web-3', 'a'),
      update('prd/web-1', 'a'),
      update('prd/web-2', 'a'),
    ]);
    expect(result.outcome).toBe('succeeded');
    expect(result.reason).toBe('2 stages succeeded; 5 workloads updated');
    expect(result.stages.map((s) => [s.name, s.outcome])).toEqual([
      ['staging', 'succeeded'],
      ['production', 'succeeded'],
    ]);
    expect(result.decisions).toMatchObject([{ stage: 'production', decision: 'approve', by: 'alice' }]);
    expect(cluster.image('prd', 'web-2', 'app')).toBe(imageOf('a'));
  });

  it('rolls a failed canary back and never touches the other targets', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2', 'web-3'] }).breakImage(imageOf('b'));
    const input = rolloutInput('b', [stage('staging', 'stg', ['web-1', 'web-2', 'web-3'])]);
    const result = await wf.withWorker({ cluster }, async (run) => (await start(run, input)).result());
    expect(cluster.patches).toEqual([update('stg/web-1', 'b'), rollback('stg/web-1')]);
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toMatch(/^stage staging: stg\/web-1 not ready .*; rolled back 1 workload$/);
    expect(result.targets.map((t) => [t.deployment, t.state])).toEqual([
      ['web-1', 'rolled_back'],
      ['web-2', 'pending'],
      ['web-3', 'pending'],
    ]);
    expect(result.stages).toMatchObject([{ name: 'staging', outcome: 'rolled_back' }]);
  });

  it('rolls back wave 2, then wave 1 (newest first) when wave 2 fails', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2', 'web-3'] }).failReadiness(
      'stg',
      'web-2',
      imageOf('c'),
    );
    const input = rolloutInput('c', [
      stage('staging', 'stg', ['web-1', 'web-2', 'web-3'], {
        waves: [{ count: 1 }, { count: 1 }, { percent: 100 }],
      }),
    ]);
    const result = await wf.withWorker({ cluster }, async (run) => (await start(run, input)).result());
    expect(cluster.patches).toEqual([
      update('stg/web-1', 'c'),
      update('stg/web-2', 'c'),
      rollback('stg/web-2'),
      rollback('stg/web-1'),
    ]);
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toMatch(/; rolled back 2 workloads$/);
    expect(cluster.image('stg', 'web-3', 'app')).toBe(baseline);
  });

  it('cancels the waits of the other targets of a wave at its first failure, and rolls all of them back', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2', 'web-3'] });
    // Never released: only the workflow's cancellation ends these waits.
    cluster.hold('stg', 'web-1', imageOf('d'));
    cluster.hold('stg', 'web-3', imageOf('d'));
    const failing = cluster.hold('stg', 'web-2', imageOf('d'));
    const input = rolloutInput('d', [
      stage('staging', 'stg', ['web-1', 'web-2', 'web-3'], { waves: [{ percent: 100 }] }),
    ]);
    const { result, cancelled } = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await run.called('awaitDeploymentReady', 3);
      failing.release('not-ready');
      return { result: await handle.result(), cancelled: await cancelRequestedActivities(handle) };
    });
    expectPatches(cluster.patches, [
      [update('stg/web-1', 'd'), update('stg/web-2', 'd'), update('stg/web-3', 'd')],
      [rollback('stg/web-1'), rollback('stg/web-2'), rollback('stg/web-3')],
    ]);
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toMatch(/^stage staging: stg\/web-2 not ready .*; rolled back 3 workloads$/);
    expect(
      cancelled
        .map((c) => `${c.activity} ${(c.input as { ref: { deployment: string } }).ref.deployment}`)
        .sort(),
    ).toEqual(['awaitDeploymentReady web-1', 'awaitDeploymentReady web-3']);
    expect(result.targets.map((t) => t.state)).toEqual(['rolled_back', 'rolled_back', 'rolled_back']);
  });

  it('rolls back what a wave changed when the check after it fails', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const input = rolloutInput('e', [
      stage('staging', 'stg', ['web-1', 'web-2'], { checks: [httpCheck('api')] }),
    ]);
    const result = await wf.withWorker({ cluster, checks: () => false }, async (run) => {
      const r = await (await start(run, input)).result();
      expect(run.callsOf('runHealthCheck')).toHaveLength(1);
      return r;
    });
    expect(cluster.patches).toEqual([update('stg/web-1', 'e'), rollback('stg/web-1')]);
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toBe(
      'stage staging: check "api" failed after wave 1/2: failed as the test said; rolled back 1 workload',
    );
  });

  it('rolls the whole stage back, newest wave first, when a check fails during the soak', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const input = rolloutInput('5', [
      stage('staging', 'stg', ['web-1', 'web-2'], {
        checks: [httpCheck('api')],
        soakMs: 10 * 60_000,
        checkIntervalMs: 60_000,
      }),
    ]);
    // Runs 1 and 2 follow the two waves; the soak's third round (run 5) fails.
    const runs: number[] = [];
    const checks = (_check: unknown, run: number) => {
      runs.push(run);
      return run !== 5;
    };
    const result = await wf.withWorker({ cluster, checks }, async (run) => {
      const r = await (await start(run, input)).result();
      expect(run.callsOf('runHealthCheck')).toHaveLength(2);
      expect(run.callsOf('runSoak')).toMatchObject([{ checks: [httpCheck('api')], intervalMs: 60_000 }]);
      return r;
    });
    expect(runs).toEqual([1, 2, 3, 4, 5]);
    expect(cluster.patches).toEqual([
      update('stg/web-1', '5'),
      update('stg/web-2', '5'),
      rollback('stg/web-2'),
      rollback('stg/web-1'),
    ]);
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toBe(
      'stage staging: check "api" failed during the 10m soak: failed as the test said; rolled back 2 workloads',
    );
  });

  it('rolls back the current and earlier waves when aborted during a wave', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    cluster.hold('stg', 'web-2', imageOf('6'));
    const input = rolloutInput('6', [stage('staging', 'stg', ['web-1', 'web-2'])]);
    const { result, cancelled } = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await run.called('awaitDeploymentReady', 2);
      await handle.signal(abortSignal, { by: 'ops' });
      return { result: await handle.result(), cancelled: await cancelRequestedActivities(handle) };
    });
    expect(cluster.patches).toEqual([
      update('stg/web-1', '6'),
      update('stg/web-2', '6'),
      rollback('stg/web-2'),
      rollback('stg/web-1'),
    ]);
    expect(result.outcome).toBe('aborted');
    expect(result.reason).toBe('stage staging: aborted by ops; rolled back 2 workloads');
    expect(cancelled.map((c) => c.activity)).toEqual(['awaitDeploymentReady']);
  });

  it('holds before the next wave while paused and goes on after resume', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const canary = cluster.hold('stg', 'web-1', imageOf('7'));
    const input = rolloutInput('7', [stage('staging', 'stg', ['web-1', 'web-2'])]);
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await run.called('awaitDeploymentReady');
      await handle.signal(pauseSignal);
      canary.release();
      const paused = await phase(handle, 'paused');
      expect(paused.paused).toBe(true);
      expect(cluster.patches).toEqual([update('stg/web-1', '7')]);
      await handle.signal(resumeSignal);
      return handle.result();
    });
    expect(cluster.patches).toEqual([update('stg/web-1', '7'), update('stg/web-2', '7')]);
    expect(result.outcome).toBe('succeeded');
  });

  it('stops at the approval gate when rejected, keeping the stages already done', async () => {
    const cluster = clusterWith({ stg: ['web-1'], prd: ['web-1'] });
    const input = rolloutInput('8', [
      stage('staging', 'stg', ['web-1']),
      stage('production', 'prd', ['web-1'], { approval: { timeoutMs: 3_600_000 } }),
    ]);
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await phase(handle, 'awaiting-approval');
      await handle.signal(rejectSignal, { by: 'bob', comment: 'not during the sale' });
      return handle.result();
    });
    expect(cluster.patches).toEqual([update('stg/web-1', '8')]);
    expect(result.outcome).toBe('rejected');
    expect(result.reason).toBe('stage production: stage production rejected by bob: not during the sale');
    expect(result.stages.map((s) => [s.name, s.outcome])).toEqual([
      ['staging', 'succeeded'],
      ['production', 'stopped'],
    ]);
    expect(result.decisions).toMatchObject([{ stage: 'production', decision: 'reject', by: 'bob' }]);
  });

  it('gives up on an approval after its timeout (24 h on the server clock, at once in real time)', async () => {
    const cluster = clusterWith({ stg: ['web-1'], prd: ['web-1'] });
    const day = 24 * 3_600_000;
    const input = rolloutInput('9', [
      stage('staging', 'stg', ['web-1']),
      stage('production', 'prd', ['web-1'], { approval: { timeoutMs: day } }),
    ]);
    const before = await wf.env.currentTimeMs();
    const realStart = Date.now();
    const result = await wf.withWorker({ cluster }, async (run) => (await start(run, input)).result());
    expect(cluster.patches).toEqual([update('stg/web-1', '9')]);
    expect(result.outcome).toBe('approval_timed_out');
    expect(result.reason).toBe(
      'stage production: stage production was not approved within 1d; nothing was promoted',
    );
    expect((await wf.env.currentTimeMs()) - before).toBeGreaterThanOrEqual(day);
    expect(Date.now() - realStart).toBeLessThan(20_000);
  });

  it('stops between waves when superseded, leaving the first wave on the new image', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const canary = cluster.hold('stg', 'web-1', imageOf('a'));
    const input = rolloutInput('a', [stage('staging', 'stg', ['web-1', 'web-2'])]);
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await run.called('awaitDeploymentReady');
      await handle.signal(supersedeSignal, { rolloutId: 'rollout-newer', digest: digest('b') });
      canary.release();
      return handle.result();
    });
    // No rollback: the newer rollout takes over from a safe point.
    expect(cluster.patches).toEqual([update('stg/web-1', 'a')]);
    expect(result.outcome).toBe('superseded');
    expect(result.reason).toBe('superseded by rollout-newer during stage staging; a newer digest takes over');
    expect(result.stages).toMatchObject([{ name: 'staging', outcome: 'stopped' }]);
  });

  it('leaves alone a Deployment someone else changed before the rollback, and says so', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const second = cluster.hold('stg', 'web-2', imageOf('b'));
    const input = rolloutInput('b', [stage('staging', 'stg', ['web-1', 'web-2'])]);
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await run.called('awaitDeploymentReady', 2);
      cluster.setImage('stg', 'web-1', 'app', 'registry.test/acme/web:hotfix');
      second.release('not-ready');
      return handle.result();
    });
    expect(cluster.patches).toEqual([
      update('stg/web-1', 'b'),
      update('stg/web-2', 'b'),
      rollback('stg/web-2'),
    ]);
    expect(cluster.image('stg', 'web-1', 'app')).toBe('registry.test/acme/web:hotfix');
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(
      /; rolled back 1 workload; stg\/web-1 drifted to registry\.test\/acme\/web:hotfix; left alone$/,
    );
    expect(result.targets.map((t) => [t.deployment, t.state])).toEqual([
      ['web-1', 'drift'],
      ['web-2', 'rolled_back'],
    ]);
  });

  it('does not patch a Deployment changed by someone else after the plan, and rolls back the rest', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const canary = cluster.hold('stg', 'web-1', imageOf('c'));
    const input = rolloutInput('c', [stage('staging', 'stg', ['web-1', 'web-2'])]);
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await run.called('awaitDeploymentReady');
      cluster.setImage('stg', 'web-2', 'app', 'registry.test/acme/web:hotfix');
      canary.release();
      return handle.result();
    });
    expect(cluster.patches).toEqual([update('stg/web-1', 'c'), rollback('stg/web-1')]);
    expect(cluster.image('stg', 'web-2', 'app')).toBe('registry.test/acme/web:hotfix');
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toMatch(
      /someone else changed it, so Freshet leaves it alone; rolled back 1 workload$/,
    );
    expect(result.targets.map((t) => [t.deployment, t.state])).toEqual([
      ['web-1', 'rolled_back'],
      ['web-2', 'drift'],
    ]);
  });
  it('ends reverted when a GitOps writer puts the old image back, naming it, and rolls back the rest', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const input = rolloutInput('e', [
      stage('staging', 'stg', ['web-1', 'web-2'], { waves: [{ percent: 100 }] }),
    ]);
    cluster.hold('stg', 'web-1', imageOf('e'));
    cluster.hold('stg', 'web-2', imageOf('e'));
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await run.called('awaitDeploymentReady', 2);
      cluster.setImage('stg', 'web-1', 'app', baseline, 'argocd-controller');
      return handle.result();
    });
    // web-1 is left to its new owner; web-2, which this stage also changed, is rolled back.
    // One wave: its two updates run side by side, in either order.
    expectPatches(cluster.patches, [
      [update('stg/web-1', 'e'), update('stg/web-2', 'e')],
      rollback('stg/web-2'),
    ]);
    expect(result.outcome).toBe('reverted');
    expect(result.reason).toMatch(
      /^stage staging: stg\/web-1 container app was set to .* by field manager argocd-controller \(Argo CD\) while Freshet waited for .*; rolled back 1 workload$/,
    );
    expect(result.targets.map((t) => [t.deployment, t.state, t.detail ?? ''])).toEqual([
      ['web-1', 'reverted', 'image put back by field manager argocd-controller; left alone'],
      ['web-2', 'rolled_back', ''],
    ]);
    expect(result.stages).toMatchObject([{ name: 'staging', outcome: 'rolled_back' }]);
  });
});
