// The notifications a rollout sends, on the time-skipping test server with replaced activities:
// one `notify` per event, in order, with the image, the old and new digest, the stage and who
// decided; and a notify that keeps failing holds no wave and is retried a bounded number of times.
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../../activities/notify/events.ts';
import { decideUpdate, type RolloutInput, rejectSignal } from '../../../workflows/rollout-messages.ts';
import {
  baseline,
  clusterWith,
  digest,
  imageOf,
  registryHost,
  repository,
  rolloutInput,
  stage,
  tag,
} from '../../support/rollout-input.ts';
import {
  rolloutPhase,
  startRollout,
  startWorkflowEnv,
  type WorkerRun,
  type WorkflowEnv,
} from '../../support/workflow-env.ts';

let wf: WorkflowEnv;
beforeAll(async () => {
  wf = await startWorkflowEnv();
}, 120_000);
afterAll(async () => {
  await wf?.teardown();
});

const start = (run: WorkerRun, input: RolloutInput) => startRollout(run, input, { prefix: 'notify' });
const phase = rolloutPhase;

const events = (run: WorkerRun) => run.callsOf('notify') as NotificationEvent[];
const summary = (e: NotificationEvent) =>
  'rollout' in e ? [e.type, e.stage, e.rollout.digest, e.previousImages] : [e.type];

describe('rollout notifications (time-skipping test server, replaced activities)', {
  timeout: 30_000,
}, () => {
  it('tells of the start, the approval waiting, who approved and the success, with old and new digest', async () => {
    const cluster = clusterWith({ stg: ['web-1'], prd: ['web-1'] });
    const input = rolloutInput('c', [
      stage('staging', 'stg', ['web-1']),
      stage('production', 'prd', ['web-1'], { approval: { timeoutMs: 3_600_000, approvers: ['alice'] } }),
    ]);
    const { result, sent } = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await phase(handle, 'awaiting-approval');
      await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', by: 'alice', comment: 'go' }],
      });
      return { result: await handle.result(), sent: events(run) };
    });
    expect(result.outcome).toBe('succeeded');
    expect(sent.map(summary)).toEqual([
      ['rollout.started', 'staging', digest('c'), [baseline]],
      ['approval.waiting', 'production', digest('c'), [baseline]],
      ['approval.approved', 'production', digest('c'), [baseline]],
      ['rollout.succeeded', 'production', digest('c'), [baseline]],
    ]);
    expect(sent[0]).toMatchObject({
      rollout: { pipeline: 'web', reference: `${registryHost}/${repository}:${tag}`, digest: digest('c') },
    });
    expect(sent[1]).toMatchObject({ approvers: ['alice'] });
    expect(sent[2]).toMatchObject({ by: 'alice', comment: 'go' });
    expect((sent[3] as { timeToProductionSeconds: number }).timeToProductionSeconds).toBeGreaterThan(0);
  });

  it('tells of a rollback with its reason, and of who rejected', async () => {
    const broken = clusterWith({ stg: ['web-1'] }).breakImage(imageOf('d'));
    const sentBroken = await wf.withWorker({ cluster: broken }, async (run) => {
      await (await start(run, rolloutInput('d', [stage('staging', 'stg', ['web-1'])]))).result();
      return events(run);
    });
    expect(sentBroken.map((e) => e.type)).toEqual(['rollout.started', 'rollout.rolled-back']);
    expect(sentBroken[1]).toMatchObject({
      stage: 'staging',
      reasonLabel: 'not_ready',
      reverted: 1,
      previousImages: [baseline],
    });
    expect((sentBroken[1] as { reason: string }).reason).toMatch(/stg\/web-1 not ready/);

    const cluster = clusterWith({ stg: ['web-1'], prd: ['web-1'] });
    const input = rolloutInput('e', [
      stage('staging', 'stg', ['web-1']),
      stage('production', 'prd', ['web-1'], { approval: { timeoutMs: 3_600_000 } }),
    ]);
    const sent = await wf.withWorker({ cluster }, async (run) => {
      const handle = await start(run, input);
      await phase(handle, 'awaiting-approval');
      await handle.signal(rejectSignal, { by: 'bob', comment: 'not during the sale' });
      await handle.result();
      return events(run);
    });
    expect(sent.map((e) => e.type)).toEqual(['rollout.started', 'approval.waiting', 'approval.rejected']);
    expect(sent[2]).toMatchObject({ stage: 'production', by: 'bob', comment: 'not during the sale' });
  });

  it('tells why a rollout stopped without a rollback (no approval in time)', async () => {
    const cluster = clusterWith({ stg: ['web-1'], prd: ['web-1'] });
    const input = rolloutInput('f', [
      stage('staging', 'stg', ['web-1']),
      stage('production', 'prd', ['web-1'], { approval: { timeoutMs: 3_600_000 } }),
    ]);
    const sent = await wf.withWorker({ cluster }, async (run) => {
      await (await start(run, input)).result();
      return events(run);
    });
    expect(sent.map((e) => e.type)).toEqual(['rollout.started', 'approval.waiting', 'rollout.stopped']);
    expect(sent[2]).toMatchObject({ outcome: 'approval_timed_out', stage: 'production' });
  });

  it('tells once that a rollback is stuck, with the target and the error, then of the rollback', async () => {
    const cluster = clusterWith({ stg: ['web-1'] }).breakImage(imageOf('9'));
    const activities = cluster.activities.bind(cluster);
    // The first patch back is forbidden; the one retried until done goes through.
    cluster.activities = () => {
      const a = activities();
      return {
        ...a,
        rollbackDeployment: async (input) => {
          if (!input.persistent)
            throw ApplicationFailure.nonRetryable('403 forbidden: patch deployments', 'Forbidden');
          return a.rollbackDeployment(input);
        },
      };
    };
    const sent = await wf.withWorker({ cluster }, async (run) => {
      await (await start(run, rolloutInput('9', [stage('staging', 'stg', ['web-1'])]))).result();
      return events(run);
    });
    expect(sent.map((e) => e.type)).toEqual(['rollout.started', 'rollback.stuck', 'rollout.rolled-back']);
    expect(sent[1]).toMatchObject({ stage: 'staging', target: 'stg/web-1', previousImages: [baseline] });
    expect((sent[1] as { error: string }).error).toContain('403 forbidden');
  });

  it('rolls out as usual while every notification fails, and retries each a bounded number of times', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const input = rolloutInput('7', [stage('staging', 'stg', ['web-1', 'web-2'])]);
    const { result, calls } = await wf.withWorker(
      {
        cluster,
        notify: async () => {
          throw new Error('sink down');
        },
      },
      async (run) => {
        const r = await (await start(run, input)).result();
        return { result: r, calls: events(run) };
      },
    );
    expect(result.outcome).toBe('succeeded');
    expect(cluster.patches.map((p) => p.target)).toEqual(['stg/web-1/app', 'stg/web-2/app']);
    // Two events (started, succeeded), five attempts each, then given up.
    expect(calls.filter((e) => e.type === 'rollout.started')).toHaveLength(5);
    expect(calls.filter((e) => e.type === 'rollout.succeeded')).toHaveLength(5);
  });
});
