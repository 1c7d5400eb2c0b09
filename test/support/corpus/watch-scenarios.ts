// Recorded watch workflows: a rebuild detected on a webhook's hint and handed to the pipeline
// (then a hint with nothing new, a configure and a stop), a watch that continues as new, and a
// watch that checks less often than its interval while the registry's pull budget runs low.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkNowSignal,
  configureSignal,
  rolloutWorkflowId,
  stopSignal,
  watchStatusQuery,
  watchWorkflowId,
} from '../../../workflows/watch-messages.ts';
import { startRegistryProxy } from '../registry-proxy.ts';
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

export const watchPacedByBudget: Scenario = {
  branch: 'watch-paced-by-budget',
  summary:
    "the registry's pull budget runs low, so the watch checks less often than its interval; a webhook's hint still checks at once and hands the rebuild on",
  stems: ['watch-paced-by-budget'],
  record: async (ctx) => {
    // The stack's registry behind Docker Hub's books: 8 of 20 pulls left in a 60 s window.
    const proxy = await startRegistryProxy(ctx.stack.registry.url);
    proxy.budget = { limit: 20, remaining: 8, windowSeconds: 60 };
    const registry = {
      url: proxy.url,
      auth: '{ type: anonymous }',
      push: { username: 'none', password: 'none' },
    };
    try {
      return await withFixture(ctx, { deployments: 1, interval: '1s', registry }, async (fx) => {
        const watch = fx.client.workflow.getHandle(
          watchWorkflowId(fx.config.temporal.instance, fx.config.registries[0]?.name ?? ''),
        );
        await waitFor('the watch to slow down', async () => {
          const { images } = await watch.query(watchStatusQuery);
          return images[0]?.state.slowedDown;
        });
        const rebuilt = await fx.push();
        await watch.signal(checkNowSignal, { repository: fx.repository, tag: '1.0', source: 'distribution' });
        const rollout = fx.client.workflow.getHandle(
          rolloutWorkflowId(fx.pipeline, fx.image, rebuilt.digest, fx.config.temporal.instance),
        );
        await waitFor('the rollout of the rebuild', () => rollout.describe().catch(() => undefined));
        await watch.signal(stopSignal);
        await watch.result();
        await fx.result(rollout.workflowId);
        return [await historyOf(ctx, 'watch-paced-by-budget', watch.workflowId)];
      });
    } finally {
      await proxy.close();
    }
  },
};
