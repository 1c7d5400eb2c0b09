// Recorded rollouts that an operator steers: approved after a refused approval, rejected, an
// approval that times out, paused and resumed, aborted mid-wave, cancelled (as from the UI), and
// superseded by a newer digest at the approval gate and between waves.
import {
  abortSignal,
  approveSignal,
  decideUpdate,
  pauseSignal,
  pipelineWorkflowId,
  rejectSignal,
  resumeSignal,
} from '../../../workflows/rollout-messages.ts';
import { waitFor } from '../wait.ts';
import {
  expectOutcome,
  historyOf,
  rolloutStatus,
  type Scenario,
  waitForImage,
  waitForPhase,
  withFixture,
} from './recording.ts';

const approval = '{ timeout: 1h, approvers: [alice] }';

export const succeededAfterApproval: Scenario = {
  branch: 'succeeded-after-approval',
  summary:
    'staging (canary, checks, soak), an approval refused to someone not listed, an approval by update, production',
  stems: ['rollout-succeeded-after-approval'],
  record: (ctx) =>
    withFixture(
      ctx,
      {
        approval,
        stagingHealth: `{ rolloutTimeout: 30s, soak: 2s, checks: [ { name: errors, prometheus: { url: "${ctx.stack.prometheus.url}", query: "vector(0)", max: 0.01, interval: 1s } } ] }`,
      },
      async (fx) => {
        const id = await fx.request(await fx.push());
        await waitForPhase(fx, id, 'awaiting-approval');
        const handle = fx.client.workflow.getHandle(id);
        await handle.signal(approveSignal, { by: 'mallory' });
        await handle.executeUpdate(decideUpdate, {
          args: [{ decision: 'approve', by: 'alice', comment: 'recorded' }],
        });
        const result = await fx.result(id);
        expectOutcome('succeeded-after-approval', result.outcome, 'succeeded');
        return [await historyOf(ctx, 'rollout-succeeded-after-approval', id)];
      },
    ),
};

export const rejected: Scenario = {
  branch: 'rejected',
  summary: 'staging succeeds, production is rejected at its approval gate',
  stems: ['rollout-rejected'],
  record: (ctx) =>
    withFixture(ctx, { approval }, async (fx) => {
      const id = await fx.request(await fx.push());
      await waitForPhase(fx, id, 'awaiting-approval');
      await fx.client.workflow.getHandle(id).signal(rejectSignal, { by: 'alice', comment: 'freeze week' });
      const result = await fx.result(id);
      expectOutcome('rejected', result.outcome, 'rejected');
      return [await historyOf(ctx, 'rollout-rejected', id)];
    }),
};

export const approvalTimedOut: Scenario = {
  branch: 'approval-timed-out',
  summary: 'nobody approves production within 3 s: nothing is promoted',
  stems: ['rollout-approval-timed-out'],
  record: (ctx) =>
    withFixture(ctx, { approval: '{ timeout: 3s, approvers: [alice] }' }, async (fx) => {
      const id = await fx.request(await fx.push());
      const result = await fx.result(id);
      expectOutcome('approval-timed-out', result.outcome, 'approval_timed_out');
      return [await historyOf(ctx, 'rollout-approval-timed-out', id)];
    }),
};

export const pausedResumed: Scenario = {
  branch: 'paused-resumed',
  summary: 'paused before its second wave, held, resumed, then succeeds through both stages',
  stems: ['rollout-paused-resumed'],
  record: (ctx) =>
    withFixture(ctx, { waves: '[ { count: 1 }, { count: 1 }, { percent: 100 } ]' }, async (fx) => {
      const id = await fx.request(await fx.push());
      const handle = fx.client.workflow.getHandle(id);
      await waitFor('the rollout to start', () => handle.describe().catch(() => undefined));
      await handle.signal(pauseSignal);
      await waitForPhase(fx, id, 'paused');
      await new Promise((r) => setTimeout(r, 1_000));
      await handle.signal(resumeSignal);
      const result = await fx.result(id);
      expectOutcome('paused-resumed', result.outcome, 'succeeded');
      return [await historyOf(ctx, 'rollout-paused-resumed', id)];
    }),
};

export const abortedDuringWave: Scenario = {
  branch: 'aborted-during-wave',
  summary: 'a broken canary waits; pause does not hold it, an abort cancels the wait and rolls it back',
  stems: ['rollout-aborted-during-wave'],
  record: (ctx) =>
    withFixture(ctx, { stagingHealth: '{ rolloutTimeout: 5m }' }, async (fx) => {
      const broken = await fx.push({ broken: true });
      const id = await fx.request(broken);
      await waitForImage(fx, fx.staging, 'web-1', broken.reference);
      const handle = fx.client.workflow.getHandle(id);
      await handle.signal(pauseSignal);
      await handle.signal(abortSignal, { by: 'frank' });
      const result = await fx.result(id);
      expectOutcome('aborted-during-wave', result.outcome, 'aborted');
      return [await historyOf(ctx, 'rollout-aborted-during-wave', id)];
    }),
};

export const cancelled: Scenario = {
  branch: 'cancelled',
  summary: 'the workflow is cancelled (as from the Web UI) while its canary waits: rolled back like an abort',
  stems: ['rollout-cancelled'],
  record: (ctx) =>
    withFixture(ctx, { stagingHealth: '{ rolloutTimeout: 5m }' }, async (fx) => {
      const broken = await fx.push({ broken: true });
      const id = await fx.request(broken);
      await waitForImage(fx, fx.staging, 'web-1', broken.reference);
      await fx.client.workflow.getHandle(id).cancel();
      const result = await fx.result(id);
      expectOutcome('cancelled', result.outcome, 'aborted');
      return [await historyOf(ctx, 'rollout-cancelled', id)];
    }),
};

export const supersededAtApproval: Scenario = {
  branch: 'superseded-at-approval',
  summary:
    'a newer digest arrives while production waits for approval: the pipeline supersedes the first rollout, then runs the second (rejected)',
  stems: ['rollout-superseded-at-approval', 'pipeline-supersede'],
  record: (ctx) =>
    withFixture(ctx, { approval }, async (fx) => {
      const firstId = await fx.request(await fx.push());
      await waitForPhase(fx, firstId, 'awaiting-approval');
      const secondId = await fx.request(await fx.push());
      const first = await fx.result(firstId);
      expectOutcome('superseded-at-approval', first.outcome, 'superseded');
      await waitForPhase(fx, secondId, 'awaiting-approval');
      await fx.client.workflow.getHandle(secondId).signal(rejectSignal, { by: 'alice' });
      expectOutcome('superseded-at-approval', (await fx.result(secondId)).outcome, 'rejected');
      return [
        await historyOf(ctx, 'rollout-superseded-at-approval', firstId),
        await historyOf(
          ctx,
          'pipeline-supersede',
          pipelineWorkflowId(fx.config.temporal.instance, fx.pipeline),
        ),
      ];
    }),
};

export const supersededBetweenWaves: Scenario = {
  branch: 'superseded-between-waves',
  summary:
    'held after its canary wave (pause), a newer digest arrives; on resume the rollout stops there and hands over',
  stems: ['rollout-superseded-between-waves'],
  record: (ctx) =>
    withFixture(ctx, { waves: '[ { count: 1 }, { count: 1 }, { percent: 100 } ]' }, async (fx) => {
      const first = await fx.push();
      const firstId = await fx.request(first);
      await waitForImage(fx, fx.staging, 'web-1', first.reference);
      const handle = fx.client.workflow.getHandle(firstId);
      await handle.signal(pauseSignal);
      await waitForPhase(fx, firstId, 'paused');
      const secondId = await fx.request(await fx.push());
      await waitFor(
        'the supersede signal to arrive',
        async () => (await rolloutStatus(fx, firstId)).supersededBy === secondId,
      );
      await handle.signal(resumeSignal);
      expectOutcome('superseded-between-waves', (await fx.result(firstId)).outcome, 'superseded');
      expectOutcome('superseded-between-waves', (await fx.result(secondId)).outcome, 'succeeded');
      return [await historyOf(ctx, 'rollout-superseded-between-waves', firstId)];
    }),
};
