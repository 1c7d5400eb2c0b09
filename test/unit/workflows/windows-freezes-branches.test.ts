// Change windows and freezes on the time-skipping test server, with Kubernetes replaced: a stage
// waits for its window, a frozen rollout holds before its next wave until the freeze lifts (by
// signal or by its `until`), and the freeze workflow refuses bad Updates and lifts a freeze itself.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WindowSpec } from '../../../activities/windows/window-math.ts';
import type { freezeWorkflow } from '../../../workflows/freeze.ts';
import {
  type FreezeChange,
  type FreezeSnapshot,
  freezeChangedSignal,
  freezeStatusQuery,
  freezeUpdate,
  unfreezeUpdate,
} from '../../../workflows/freeze-messages.ts';
import {
  abortSignal,
  decideUpdate,
  type RolloutInput,
  rolloutStatusQuery,
} from '../../../workflows/rollout-messages.ts';
import type { Patch } from '../../support/cluster-model.ts';
import { clusterWith, imageOf, rolloutInput, stage } from '../../support/rollout-input.ts';
import {
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
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const hour = 3_600_000;

let wf: WorkflowEnv;
beforeAll(async () => {
  wf = await startWorkflowEnv();
}, 120_000);
afterAll(async () => {
  await wf?.teardown();
});

const start = (run: WorkerRun, input: RolloutInput) =>
  startRollout(run, input, { prefix: 'rollout-wf', suffix: '@workflow-env' });
const phase = rolloutPhase;
let freezesStarted = 0;

const frozenBy = (version: number, until?: string): FreezeSnapshot => ({
  version,
  all: { reason: 'incident 7', by: 'oncall', since: '2026-01-01T00:00:00.000Z', ...(until ? { until } : {}) },
  pipelines: {},
});

describe('change windows and freezes (time-skipping test server, replaced activities)', {
  timeout: 30_000,
}, () => {
  it('waits for the stage window, then rolls out every wave once it is open', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const t = await wf.env.currentTimeMs();
    const window: WindowSpec = {
      days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
      from: clock(t + 2 * hour),
      to: clock(t + 3 * hour),
      timeZone: 'UTC',
    };
    const input = rolloutInput('c', [stage('staging', 'stg', ['web-1', 'web-2'], { windows: [window] })]);
    const opensAt = Math.floor((t + 2 * hour) / 1_000) * 1_000;
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      const waiting = await phase(handle, 'waiting-for-window');
      expect(waiting.window).toEqual({
        opensAt: new Date(opensAt).toISOString(),
        windows: [`every day ${window.from}-${window.to} UTC`],
      });
      expect(cluster.patches).toEqual([]);
      const r = await handle.result();
      const asked = run.calls.findIndex(
        (c) => c.activity === 'changeWindowState' && (c.input as { at: number }).at >= opensAt,
      );
      const firstUpdate = run.calls.findIndex((c) => c.activity === 'updateDeploymentImage');
      // Nothing was patched before the question asked at or after the opening.
      expect(asked).toBeGreaterThan(-1);
      expect(firstUpdate).toBeGreaterThan(asked);
      return r;
    });
    expect(result.outcome).toBe('succeeded');
    expect(cluster.patches).toEqual([update('stg/web-1', 'c'), update('stg/web-2', 'c')]);
  });

  it('starts frozen, holds before its first wave, ignores an older state and goes on when lifted', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const input = rolloutInput('d', [stage('staging', 'stg', ['web-1', 'web-2'])]);
    const result = await wf.withWorker({ cluster, freeze: () => frozenBy(3) }, async (run) => {
      const handle = await start(run, input);
      const held = await phase(handle, 'frozen');
      expect(held.freeze).toMatchObject({ scope: 'all', reason: 'incident 7', by: 'oncall' });
      // A state older than the one the rollout holds changes nothing.
      await handle.signal(freezeChangedSignal, { version: 2, pipelines: {} });
      await new Promise((r) => setTimeout(r, 300));
      expect((await handle.query(rolloutStatusQuery)).phase).toBe('frozen');
      expect(cluster.patches).toEqual([]);
      await handle.signal(freezeChangedSignal, { version: 4, pipelines: {} });
      return handle.result();
    });
    expect(result.outcome).toBe('succeeded');
    expect(cluster.patches).toEqual([update('stg/web-1', 'd'), update('stg/web-2', 'd')]);
  });

  it("lifts a pipeline's freeze at its until, and a freeze of another pipeline does not hold it", async () => {
    const cluster = clusterWith({ stg: ['web-1'] });
    const input = rolloutInput('e', [stage('staging', 'stg', ['web-1'])]);
    const t = await wf.env.currentTimeMs();
    const until = new Date(t + hour).toISOString();
    const snapshot: FreezeSnapshot = {
      version: 1,
      pipelines: {
        web: { reason: 'release freeze', by: 'lead', since: new Date(t).toISOString(), until },
        other: { reason: 'not this one', by: 'lead', since: new Date(t).toISOString() },
      },
    };
    const result = await wf.withWorker({ cluster, freeze: () => snapshot }, async (run) => {
      const handle = await start(run, input);
      const held = await phase(handle, 'frozen');
      expect(held.freeze).toMatchObject({ scope: 'pipeline', reason: 'release freeze', until });
      expect(cluster.patches).toEqual([]);
      return handle.result();
    });
    expect(result.outcome).toBe('succeeded');
    expect(cluster.patches).toEqual([update('stg/web-1', 'e')]);
  });

  it('a freeze that arrives mid-rollout holds the next stage until unfrozen', async () => {
    const cluster = clusterWith({ stg: ['web-1'], prd: ['web-1'] });
    const input = rolloutInput('f', [
      stage('staging', 'stg', ['web-1']),
      stage('production', 'prd', ['web-1'], { approval: { timeoutMs: 24 * hour } }),
    ]);
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await phase(handle, 'awaiting-approval');
      await handle.signal(freezeChangedSignal, frozenBy(1));
      await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: 'alice' }] });
      await phase(handle, 'frozen');
      expect(cluster.patches).toEqual([update('stg/web-1', 'f')]);
      await handle.signal(freezeChangedSignal, { version: 2, pipelines: {} });
      return handle.result();
    });
    expect(result.outcome).toBe('succeeded');
    expect(cluster.patches).toEqual([update('stg/web-1', 'f'), update('prd/web-1', 'f')]);
  });

  it('an abort ends a frozen rollout without patching anything', async () => {
    const cluster = clusterWith({ stg: ['web-1'] });
    const input = rolloutInput('9', [stage('staging', 'stg', ['web-1'])]);
    const result = await wf.withWorker({ cluster, freeze: () => frozenBy(1) }, async (run) => {
      const handle = await start(run, input);
      await phase(handle, 'frozen');
      await handle.signal(abortSignal, { by: 'frank' });
      return handle.result();
    });
    expect(result.outcome).toBe('aborted');
    expect(cluster.patches).toEqual([]);
  });

  it('the freeze workflow refuses bad Updates, tells of each change and lifts a freeze at its until', async () => {
    const cluster = clusterWith({});
    await wf.withWorker({ cluster }, async (run) => {
      const handle = await run.client.workflow.start<typeof freezeWorkflow>('freezeWorkflow', {
        taskQueue: run.taskQueue,
        workflowId: `freshet-freeze@workflow-env-${++freezesStarted}`,
        args: [{ instance: 'workflow-env' }],
      });
      const refusal = (args: unknown) =>
        handle
          .executeUpdate(freezeUpdate, { args: [args as never] })
          .then(() => 'accepted')
          .catch((err: unknown) =>
            err instanceof WorkflowUpdateFailedError ? (err.cause as Error).message : String(err),
          );
      expect(await refusal({ by: 'ops' })).toMatch(/say why/);
      expect(await refusal({ reason: 'x', by: 'ops', pipeline: 'Bad Name' })).toMatch(/pipeline name/);
      expect(await refusal({ reason: 'x', by: 'ops', until: 'tomorrow' })).toMatch(/expected a time/);
      expect(await refusal({ reason: 'x', by: 'ops', until: '2020-01-01T00:00:00Z' })).toMatch(/has passed/);
      expect(await handle.query(freezeStatusQuery)).toEqual({ version: 0, pipelines: {} });

      const t = await wf.env.currentTimeMs();
      const until = new Date(t + hour).toISOString();
      const after = await handle.executeUpdate(freezeUpdate, {
        args: [{ reason: 'incident 7', by: 'ops', until }],
      });
      expect(after).toMatchObject({ version: 1, all: { reason: 'incident 7', by: 'ops', until } });
      await handle.executeUpdate(freezeUpdate, {
        args: [{ reason: 'db migration', by: 'ops', pipeline: 'web' }],
      });
      await run.called('announceFreeze', 2);
      const lifted = await handle.executeUpdate(unfreezeUpdate, { args: [{ by: 'ops', pipeline: 'web' }] });
      expect(lifted.pipelines).toEqual({});
      expect(lifted.all?.reason).toBe('incident 7');

      await wf.env.sleep(hour + 1_000);
      await run.called('notifyFreezeChange', 4);
      expect(await handle.query(freezeStatusQuery)).toEqual({ version: 4, pipelines: {} });
      const changes = run.callsOf('notifyFreezeChange') as FreezeChange[];
      expect(changes.map((c) => [c.kind, c.pipeline ?? 'all'])).toEqual([
        ['frozen', 'all'],
        ['frozen', 'web'],
        ['unfrozen', 'web'],
        ['expired', 'all'],
      ]);
      const announced = run.callsOf('announceFreeze') as { snapshot: FreezeSnapshot }[];
      expect(announced.at(-1)?.snapshot).toEqual({ version: 4, pipelines: {} });
      await handle.terminate('test done');
    });
  });
});
