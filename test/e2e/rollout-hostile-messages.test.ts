// No message can stall a workflow: malformed Signals and Updates sent with the Temporal client in
// the middle of a rollout are refused (Update) or ignored and recorded (Signal); the history has
// no WorkflowTaskFailed, the rollout goes on, and a well-formed abort afterwards still rolls back.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  abortSignal,
  decideUpdate,
  pipelineStatusQuery,
  pipelineWorkflowId,
  rolloutStatusQuery,
} from '../../workflows/rollout-messages.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { workflowTaskFailures } from '../support/history.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
let fx: RolloutFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('no message can stall a workflow', () => {
  it('malformed signals and updates during a wave change nothing; a valid abort still rolls back', async () => {
    fx = await createRolloutFixture(stack, { stagingHealth: '{ rolloutTimeout: 60s, soak: 10m }' });
    const rebuilt = await fx.push();
    const id = await fx.request(rebuilt);
    const handle = fx.client.workflow.getHandle(id);
    await waitFor(
      'the first wave',
      async () => (await handle.query(rolloutStatusQuery)).phase === 'rolling-out',
      { intervalMs: 50 },
    );

    const longName = 'x'.repeat(300_000);
    const malformed: [string, unknown[]][] = [
      ['supersede', []],
      ['approve', ['yes']],
      ['reject', [null]],
      ['pause', [{ x: [1, 2, 3] }]],
      ['resume', [42]],
      ['abort', [{ by: 5 }]],
      ['abort', [{ by: longName }]],
      ['supersede', [{ rolloutId: 7, digest: 'sha256:nothex' }]],
    ];
    for (const [name, args] of malformed) await handle.signal(name, ...args);
    for (const bad of [{ decision: 'maybe', by: 'ops' }, { decision: 'approve', by: 5 }, 'yes']) {
      const refused = await handle.executeUpdate('decide', { args: [bad] }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    }

    // The rollout went on through staging's waves into the soak.
    const soaking = await waitFor(
      'the soak',
      async () => {
        const st = await handle.query(rolloutStatusQuery);
        return st.phase === 'soaking' ? st : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(soaking.paused).toBe(false);
    expect(soaking.supersededBy).toBeUndefined();
    expect(soaking.ignored?.map((i) => i.message)).toEqual(malformed.map(([name]) => name));
    expect(soaking.ignored?.find((i) => i.reason.includes('at most 100 characters'))).toBeTruthy();
    expect(JSON.stringify(soaking).length).toBeLessThan(20_000);
    expect(await workflowTaskFailures(fx.client, id)).toEqual([]);
    expect(Object.values(await fx.images(fx.staging))).toEqual(fx.deployments.map(() => rebuilt.reference));

    await handle.signal(abortSignal, { by: 'ops' });
    const result = await fx.result(id);
    expect(result.outcome).toBe('aborted');
    expect(result.reason).toContain('aborted by ops');
    expect(Object.values(await fx.images(fx.staging))).toEqual(
      fx.deployments.map(() => fx?.baseline.reference),
    );
    expect(await workflowTaskFailures(fx.client, id)).toEqual([]);
  });

  it('an approval Update with a valid shape is still checked against the pending approval', async () => {
    fx = await createRolloutFixture(stack, { approval: '{ timeout: 1h, approvers: [alice] }' });
    const id = await fx.request(await fx.push());
    const handle = fx.client.workflow.getHandle(id);
    await waitFor(
      'the approval',
      async () => (await handle.query(rolloutStatusQuery)).phase === 'awaiting-approval',
      {
        timeoutMs: 90_000,
      },
    );
    const tooLong = await handle
      .executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', by: 'alice', comment: 'c'.repeat(5_000) }],
      })
      .catch((err: unknown) => err);
    expect(tooLong).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((tooLong as Error).cause)).toContain('at most 1000 characters');
    expect(await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: ' alice ' }] })).toBe(
      'approved stage production by alice',
    );
    expect((await fx.result(id)).outcome).toBe('succeeded');
    expect(await workflowTaskFailures(fx.client, id)).toEqual([]);
  });

  it('a malformed rollout request is ignored by the pipeline, a malformed configure or checkNow by the watch', async () => {
    fx = await createRolloutFixture(stack);
    const pipelineId = pipelineWorkflowId(fx.pipeline);
    // The pipeline runs once a rollout was requested, and for a minute after its last one.
    const id = await fx.request(await fx.push());
    const pipeline = fx.client.workflow.getHandle(pipelineId);
    for (const bad of [
      undefined,
      'yes',
      { request: { pipeline: 5 } },
      { request: {}, spec: { stages: 'all' } },
    ])
      await pipeline.signal('requestRollout', bad);
    expect((await fx.result(id)).outcome).toBe('succeeded');
    const st = await pipeline.query(pipelineStatusQuery);
    expect(st.ignored?.map((i) => i.message)).toEqual([
      'requestRollout',
      'requestRollout',
      'requestRollout',
      'requestRollout',
    ]);
    expect(st.pending).toEqual([]);
    expect(await workflowTaskFailures(fx.client, pipelineId)).toEqual([]);

    const watchId = watchWorkflowId(`reg-${fx.suffix}`);
    const watch = fx.client.workflow.getHandle(watchId);
    const before = await watch.query(watchStatusQuery);
    await watch.signal('configure', 'garbage');
    await watch.signal('configure', [{ name: 'x', intervalMs: 0 }]);
    await watch.signal('checkNow', 5);
    await watch.signal('checkNow', { repository: fx.repository });
    const after = await waitFor('the next check', async () => {
      const s = await watch.query(watchStatusQuery);
      return s.cycles > before.cycles ? s : undefined;
    });
    expect(after.images.map((i) => i.image)).toEqual(before.images.map((i) => i.image));
    expect(after.ignored?.map((i) => i.message)).toEqual(['configure', 'configure', 'checkNow']);
    expect(await workflowTaskFailures(fx.client, watchId)).toEqual([]);
  });
});
