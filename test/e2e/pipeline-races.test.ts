// Races between a pipeline and its rollouts. A newer digest that arrives in the same workflow task
// as the running rollout's end makes the pipeline signal a rollout that has just closed: that must
// not fail the pipeline (which would cancel the newer rollout and lose the build). The worker is
// stopped while the two events pile up, so the race happens every time. A paused rollout still
// yields to a newer digest under supersede.
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  approveSignal,
  pauseSignal,
  pipelineWorkflowId,
  rolloutStatusQuery,
} from '../../workflows/rollout-messages.ts';
import { startTestDaemon } from '../support/daemon.ts';
import { historyEvents, workflowTaskFailures } from '../support/history.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
let fx: RolloutFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function phase(f: RolloutFixture, id: string, want: string) {
  return waitFor(
    `${id} to reach ${want}`,
    async () => (await f.client.workflow.getHandle(id).query(rolloutStatusQuery)).phase === want,
    { timeoutMs: 90_000 },
  );
}

describe('pipeline races', () => {
  it('a newer digest arriving as the running rollout closes never fails the pipeline', async () => {
    fx = await createRolloutFixture(stack, { approval: '{ timeout: 1h }' });
    const first = await fx.push();
    const firstId = await fx.request(first);
    await phase(fx, firstId, 'awaiting-approval');

    // No worker: the rollout's end and the newer request land in one pipeline workflow task.
    await fx.daemon.close();
    await fx.client.workflow.getHandle(firstId).terminate('ended while a newer digest arrives');
    const newer = await fx.push();
    const newerId = await fx.request(newer);
    // The fixture closes whichever daemon runs at the end.
    fx.daemon = await startTestDaemon(fx.config);
    await phase(fx, newerId, 'awaiting-approval');
    await fx.client.workflow.getHandle(newerId).signal(approveSignal, { by: 'ops' });
    const result = await fx.result(newerId);
    expect(result.outcome, result.reason).toBe('succeeded');
    expect(Object.values(await fx.images(fx.production))).toEqual(fx.deployments.map(() => newer.reference));

    const pipelineId = pipelineWorkflowId(fx.pipeline);
    const events = await historyEvents(fx.client, pipelineId);
    // The race did happen: the supersede signal to the closed rollout failed ...
    expect(events.some((e) => e.signalExternalWorkflowExecutionFailedEventAttributes)).toBe(true);
    // ... and the pipeline went on.
    expect(await workflowTaskFailures(fx.client, pipelineId)).toEqual([]);
    expect(events.some((e) => e.workflowExecutionFailedEventAttributes)).toBe(false);
  });

  it('a paused rollout yields to a newer digest under supersede', async () => {
    // Three waves: a pause sent as soon as the rollout exists holds at a safe point before one.
    fx = await createRolloutFixture(stack, { waves: '[ { count: 1 }, { count: 1 }, { percent: 100 } ]' });
    const f = fx;
    const first = await f.push();
    const firstId = await f.request(first);
    await waitFor(
      'the rollout to start',
      () =>
        f.client.workflow
          .getHandle(firstId)
          .describe()
          .catch(() => undefined),
      {
        intervalMs: 20,
      },
    );
    await fx.client.workflow.getHandle(firstId).signal(pauseSignal);
    await phase(fx, firstId, 'paused');
    const newer = await fx.push();
    const newerId = await fx.request(newer);
    const held = await fx.result(firstId);
    expect(held.outcome).toBe('superseded');
    const result = await fx.result(newerId);
    expect(result.outcome, result.reason).toBe('succeeded');
    for (const ns of [fx.staging, fx.production])
      expect(Object.values(await fx.images(ns))).toEqual(fx.deployments.map(() => newer.reference));
  });
});
