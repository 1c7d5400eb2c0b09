// Recorded watch workflows: a rebuild detected on a webhook's hint and handed to the pipeline
// (then a hint with nothing new, a configure and a stop), and a watch that continues as new.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkNowSignal,
  configureSignal,
  rolloutWorkflowId,
  stopSignal,
  watchStatusQuery,
  watchWorkflowId,
} from '../../../workflows/watch-messages.ts';
import { waitFor } from '../wait.ts';
import { historyOf, type Scenario, withFixture } from './recording.ts';

export const watchRebuildDetected: Scenario = {
  branch: 'watch-rebuild-detected',
  summary:
    "a webhook's hint finds a new digest behind the tag and requests its rollout; a hint with nothing new, a configure, a stop",
  stems: ['watch-rebuild-detected'],
  record: (ctx) =>
    withFixture(ctx, { deployments: 1 }, async (fx) => {
      const watch = fx.client.workflow.getHandle(
        watchWorkflowId(fx.config.temporal.instance, fx.config.registries[0]?.name ?? ''),
      );
      const hint = { repository: fx.repository, tag: '1.0', source: 'distribution' };
      const rebuilt = await fx.push();
      await watch.signal(checkNowSignal, hint);
      const rollout = fx.client.workflow.getHandle(
        rolloutWorkflowId(fx.pipeline, fx.image, rebuilt.digest, fx.config.temporal.instance),
      );
      await waitFor('the rollout of the rebuild', () => rollout.describe().catch(() => undefined));
      await watch.signal(checkNowSignal, hint);
      const { images } = await watch.query(watchStatusQuery);
      await watch.signal(
        configureSignal,
        images.map((i) => i.image),
      );
      await sleep(1_000);
      await watch.signal(stopSignal);
      await watch.result();
      await fx.result(rollout.workflowId);
      return [await historyOf(ctx, 'watch-rebuild-detected', watch.workflowId)];
    }),
};

export const watchContinueAsNew: Scenario = {
  branch: 'watch-continue-as-new',
  summary: 'a watch polling every second passes its 40-event bound and continues as new with its state',
  stems: ['watch-continue-as-new'],
  record: (ctx) =>
    withFixture(ctx, { deployments: 1, interval: '1s', maxHistoryEvents: 40 }, async (fx) => {
      const workflowId = watchWorkflowId(fx.config.temporal.instance, fx.config.registries[0]?.name ?? '');
      const continued = await waitFor(
        'a run that continued as new',
        async () => {
          for await (const wf of fx.client.workflow.list({
            query: `WorkflowId = '${workflowId}' AND ExecutionStatus = 'ContinuedAsNew'`,
          }))
            return wf.runId;
          return undefined;
        },
        { timeoutMs: 90_000, intervalMs: 1_000 },
      );
      return [await historyOf(ctx, 'watch-continue-as-new', workflowId, continued)];
    }),
};
