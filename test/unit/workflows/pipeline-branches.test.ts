// The pipeline workflow's policies on the time-skipping test server, with Kubernetes replaced:
// what happens to a running rollout when a newer digest arrives (queue or supersede), and that a
// digest asked for twice rolls out once. Requests arrive as the watch sends them (signal-with-start).
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { pipelineWorkflow } from '../../../workflows/pipeline.ts';
import type { rolloutWorkflow } from '../../../workflows/rollout.ts';
import {
  type PipelineInput,
  type PipelineRequest,
  type PipelineStatus,
  pipelineStatusQuery,
  pipelineWorkflowId,
  requestRolloutSignal,
  rolloutWorkflowId,
} from '../../../workflows/rollout-messages.ts';
import type { Patch } from '../../support/cluster-model.ts';
import { clusterWith, digest, imageOf, rolloutInput, stage } from '../../support/rollout-input.ts';
import { waitFor } from '../../support/wait.ts';
import { startWorkflowEnv, type WorkerRun, type WorkflowEnv } from '../../support/workflow-env.ts';

const update = (target: string, letter: string): Patch => ({
  kind: 'update',
  target: `${target}/app`,
  image: imageOf(letter),
});

let wf: WorkflowEnv;
beforeAll(async () => {
  wf = await startWorkflowEnv();
}, 120_000);
afterAll(async () => {
  await wf?.teardown();
});

let pipelines = 0;
/** A pipeline of its own per test: rollout ids derive from the pipeline's name. */
function pipelineOf(policy: 'queue' | 'supersede', deployments: string[]) {
  const name = `web-${policy}-${++pipelines}`;
  const request = (letter: string): PipelineRequest =>
    rolloutInput(letter, [stage('staging', 'stg', deployments)], { pipeline: name, onNewerDigest: policy });
  const rolloutId = (letter: string) => rolloutWorkflowId(name, 'web', digest(letter));
  return { name, request, rolloutId };
}

function ask(run: WorkerRun, pipeline: string, request: PipelineRequest) {
  return run.client.workflow.signalWithStart<typeof pipelineWorkflow, [PipelineRequest]>('pipelineWorkflow', {
    workflowId: pipelineWorkflowId(pipeline),
    taskQueue: run.taskQueue,
    args: [{ pipeline } satisfies PipelineInput],
    signal: requestRolloutSignal,
    signalArgs: [request],
  });
}

function statusOf(client: Client, pipeline: string, until: (s: PipelineStatus) => boolean) {
  const handle = client.workflow.getHandle(pipelineWorkflowId(pipeline));
  return waitFor(
    'the pipeline status',
    async () => {
      const s = await handle.query(pipelineStatusQuery);
      return until(s) ? s : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

const outcomeOf = async (client: Client, rolloutId: string) =>
  (await client.workflow.getHandle<typeof rolloutWorkflow>(rolloutId).result()).outcome;

describe('pipeline workflow policies (time-skipping test server, replaced activities)', {
  timeout: 30_000,
}, () => {
  it('queue: lets the running rollout finish, then runs only the newest digest that waited', async () => {
    const cluster = clusterWith({ stg: ['web-1'] });
    const p = pipelineOf('queue', ['web-1']);
    const first = cluster.hold('stg', 'web-1', imageOf('a'));
    const outcomes = await wf.withWorker({ cluster }, async (run) => {
      const pipeline = await ask(run, p.name, p.request('a'));
      await run.called('awaitDeploymentReady');
      await ask(run, p.name, p.request('b'));
      await ask(run, p.name, p.request('c'));
      const waiting = await statusOf(
        run.client,
        p.name,
        (s) => s.pending.length === 1 && s.recent.length === 1,
      );
      expect(waiting.pending.map((r) => r.rolloutId)).toEqual([p.rolloutId('c')]);
      // The replaced request is remembered, so a late repeat of it is ignored too.
      expect(waiting.recent).toEqual([p.rolloutId('b')]);
      first.release();
      await pipeline.result();
      return [await outcomeOf(run.client, p.rolloutId('a')), await outcomeOf(run.client, p.rolloutId('c'))];
    });
    expect(cluster.patches).toEqual([update('stg/web-1', 'a'), update('stg/web-1', 'c')]);
    expect(outcomes).toEqual(['succeeded', 'succeeded']);
  });

  it('supersede: stops the running rollout at its next safe point and rolls the newer digest out', async () => {
    const cluster = clusterWith({ stg: ['web-1', 'web-2'] });
    const p = pipelineOf('supersede', ['web-1', 'web-2']);
    const canary = cluster.hold('stg', 'web-1', imageOf('a'));
    const outcomes = await wf.withWorker({ cluster }, async (run) => {
      const pipeline = await ask(run, p.name, p.request('a'));
      await run.called('awaitDeploymentReady');
      await ask(run, p.name, p.request('b'));
      await statusOf(run.client, p.name, (s) => s.pending.length === 1);
      canary.release();
      await pipeline.result();
      return [await outcomeOf(run.client, p.rolloutId('a')), await outcomeOf(run.client, p.rolloutId('b'))];
    });
    // The first rollout's second wave never ran; the newer one takes web-1 on from where it was.
    expect(cluster.patches).toEqual([
      update('stg/web-1', 'a'),
      update('stg/web-1', 'b'),
      update('stg/web-2', 'b'),
    ]);
    expect(outcomes).toEqual(['superseded', 'succeeded']);
  });

  it('rolls a digest out once however often it is asked for, while running and after', async () => {
    const cluster = clusterWith({ stg: ['web-1'] });
    const p = pipelineOf('supersede', ['web-1']);
    const only = cluster.hold('stg', 'web-1', imageOf('d'));
    const planned = await wf.withWorker({ cluster }, async (run) => {
      const pipeline = await ask(run, p.name, p.request('d'));
      await run.called('awaitDeploymentReady');
      await ask(run, p.name, p.request('d'));
      const running = await statusOf(run.client, p.name, (s) => s.current !== undefined);
      expect(running.pending).toEqual([]);
      only.release();
      await statusOf(run.client, p.name, (s) => s.current === undefined && s.recent.length === 1);
      await ask(run, p.name, p.request('d'));
      const after = await statusOf(run.client, p.name, () => true);
      expect(after).toMatchObject({ pending: [], recent: [p.rolloutId('d')] });
      expect(after.current).toBeUndefined();
      await pipeline.result();
      expect(await outcomeOf(run.client, p.rolloutId('d'))).toBe('succeeded');
      return run.callsOf('planStage').length;
    });
    expect(cluster.patches).toEqual([update('stg/web-1', 'd')]);
    expect(planned).toBe(1);
  });
});
