// Recorded pipeline workflows: requests queued behind a running rollout (the newest waiting one
// replaces an older one), the pipeline ending when nothing is left, and continue-as-new.
import { pipelineSpec, registryHost } from '../../../activities/rollout/pipeline-spec.ts';
import {
  approveSignal,
  type PipelineRequest,
  pipelineStatusQuery,
  pipelineWorkflowId,
  rejectSignal,
  requestRolloutSignal,
} from '../../../workflows/rollout-messages.ts';
import type { PushedImage } from '../image-pusher.ts';
import type { RolloutFixture } from '../rollout-fixture.ts';
import { waitFor } from '../wait.ts';
import { expectOutcome, historyOf, type Scenario, waitForPhase, withFixture } from './recording.ts';

const approval = '{ timeout: 1h, approvers: [alice] }';

export const queue: Scenario = {
  branch: 'queue',
  summary:
    'onNewerDigest: queue; two newer digests wait behind a rollout, the newest replaces the other, runs next, and the idle pipeline ends',
  stems: ['pipeline-queue'],
  record: (ctx) =>
    withFixture(ctx, { approval, onNewerDigest: 'queue', deployments: 2 }, async (fx) => {
      const pipeline = fx.client.workflow.getHandle(
        pipelineWorkflowId(fx.config.temporal.instance, fx.pipeline),
      );
      const firstId = await fx.request(await fx.push());
      await waitForPhase(fx, firstId, 'awaiting-approval');
      await fx.request(await fx.push());
      const queuedId = await fx.request(await fx.push());
      await waitFor('only the newest request to wait', async () => {
        const st = await pipeline.query(pipelineStatusQuery);
        return st.pending.length === 1 && st.pending[0]?.rolloutId === queuedId;
      });
      await fx.client.workflow.getHandle(firstId).signal(approveSignal, { by: 'alice' });
      expectOutcome('queue', (await fx.result(firstId)).outcome, 'succeeded');
      await waitForPhase(fx, queuedId, 'awaiting-approval');
      await fx.client.workflow.getHandle(queuedId).signal(rejectSignal, { by: 'alice' });
      expectOutcome('queue', (await fx.result(queuedId)).outcome, 'rejected');
      // With nothing left to run, the pipeline ends on its own after a minute.
      await pipeline.result();
      return [await historyOf(ctx, 'pipeline-queue', pipeline.workflowId)];
    }),
};

/** The request the watch would send for `pushed`, byte for byte what the pipeline already has. */
function duplicateRequest(fx: RolloutFixture, pushed: PushedImage): PipelineRequest {
  const registry = fx.config.registries[0]?.name ?? '';
  const pipeline = fx.config.pipelines[fx.pipeline];
  if (!pipeline) throw new Error(`no pipeline ${fx.pipeline} in the fixture's config`);
  return {
    request: {
      pipeline: fx.pipeline,
      image: fx.image,
      registry,
      registryHost: registryHost(fx.config, registry),
      repository: fx.repository,
      tag: pushed.tag,
      digest: pushed.digest,
      trigger: 'webhook',
      detectedAt: new Date().toISOString(),
    },
    spec: pipelineSpec(fx.pipeline, pipeline),
    searchAttributes: true,
  };
}

/**
 * The server suggests continue-as-new past 4,096 events or 4 MB. Requests of a pipeline whose
 * production stage names a fleet of Deployments are large, so a few hundred duplicates pass 4 MB:
 * a history that replays in a second instead of one with 4,000 signals.
 */
const fleetSize = 300;
const continueAsNewAfterBytes = 4.3 * 1024 * 1024;

export const pipelineContinueAsNew: Scenario = {
  branch: 'pipeline-continue-as-new',
  summary: `duplicate requests (as repeated webhooks send them) for a pipeline of ${fleetSize} production targets grow its history past 4 MB; after the rollout (rejected) it continues as new`,
  stems: ['pipeline-continue-as-new'],
  record: (ctx) =>
    withFixture(
      ctx,
      {
        approval,
        deployments: 1,
        // Production is never planned (the rollout is rejected at its gate): the names need no Deployments.
        prepare: async (fx) => {
          const production = fx.config.pipelines[fx.pipeline]?.stages[1];
          if (!production) throw new Error(`pipeline ${fx.pipeline} has no production stage`);
          for (let i = 1; i <= fleetSize; i++)
            production.targets.push({ namespace: fx.production, deployment: `tenant-${i}` });
        },
      },
      async (fx) => {
        const pipeline = fx.client.workflow.getHandle(
          pipelineWorkflowId(fx.config.temporal.instance, fx.pipeline),
        );
        const pushed = await fx.push();
        const id = await fx.request(pushed);
        await waitForPhase(fx, id, 'awaiting-approval');
        const { runId } = await pipeline.describe();
        const duplicate = duplicateRequest(fx, pushed);
        while (((await pipeline.describe()).historySize ?? 0) < continueAsNewAfterBytes) {
          await Promise.all(
            Array.from({ length: 20 }, () => pipeline.signal(requestRolloutSignal, duplicate)),
          );
        }
        await fx.client.workflow.getHandle(id).signal(rejectSignal, { by: 'alice' });
        expectOutcome('pipeline-continue-as-new', (await fx.result(id)).outcome, 'rejected');
        await waitFor(
          'the pipeline to continue as new',
          async () => (await pipeline.describe()).runId !== runId,
          { timeoutMs: 30_000 },
        );
        return [await historyOf(ctx, 'pipeline-continue-as-new', pipeline.workflowId, runId)];
      },
    ),
};
