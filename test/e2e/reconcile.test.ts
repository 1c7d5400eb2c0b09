// Config changes reconcile the watch workflows: new groups start, changed ones get the new
// images (keeping what they knew), removed ones stop, and a watch under the id it had before ids
// carried the instance hands its state to its successor and stops; a pipeline workflow under
// such an id keeps its pipeline's requests while it runs, so an upgrade never runs two rollouts.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { requestRollout } from '../../activities/rollout/request.ts';
import type { Daemon } from '../../worker/daemon.ts';
import { reconcileWatches, watchGroups } from '../../worker/watches.ts';
import {
  legacyPipelineWorkflowId,
  pipelineStatusQuery,
  pipelineWorkflowId,
} from '../../workflows/rollout-messages.ts';
import {
  checkNowSignal,
  legacyWatchWorkflowId,
  type WatchInput,
  watchStatusQuery,
  watchWorkflowId,
} from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const s = uniqueSuffix();
const taskQueue = `freshet-test-${s}`;
const header = `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: ${taskQueue} }
registries: [ { name: r-${s}, url: "\${REGISTRY_URL}" } ]
images:
  - { name: a-${s}, registry: r-${s}, repository: rec-${s}/a, track: { tag: "1" }, interval: 1h }
`;
const before = stackConfig(
  stack,
  `${header}  - { name: b-${s}, registry: r-${s}, repository: rec-${s}/b, track: { tag: "1" }, interval: 1h, watchGroup: old-${s} }\n`,
);
const after = stackConfig(
  stack,
  `${header}  - { name: c-${s}, registry: r-${s}, repository: rec-${s}/c, track: { tag: "1" }, interval: 1h }\n  - { name: d-${s}, registry: r-${s}, repository: rec-${s}/d, track: { tag: "1" }, interval: 1h, watchGroup: new-${s} }\n`,
);
let daemon: Daemon;

describe('watch reconciliation', () => {
  beforeAll(async () => {
    await connectTemporal(stack);
    for (const name of ['a', 'b', 'c', 'd', 'l']) {
      await pushImage({ registryUrl: stack.registry.url, repository: `rec-${s}/${name}`, tag: '1' });
    }
    daemon = await startTestDaemon(before);
  });
  afterAll(async () => {
    for (const id of [
      ...[`r-${s}`, `old-${s}`, `new-${s}`, `legacy-${s}`].map((g) => watchWorkflowId(taskQueue, g)),
      legacyWatchWorkflowId(`legacy-${s}`),
    ]) {
      await daemon?.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    }
    await daemon?.close();
  });

  it('starts new groups, reconfigures changed ones and stops removed ones', async () => {
    const main = daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, `r-${s}`));
    const known = await waitFor(
      'the first digest of a',
      async () => (await main.query(watchStatusQuery)).images[0]?.state.latest,
    );

    const result = await reconcileWatches(daemon.client, after);
    expect(result).toEqual({
      started: [watchWorkflowId(taskQueue, `new-${s}`)],
      configured: [watchWorkflowId(taskQueue, `r-${s}`)],
      stopped: [watchWorkflowId(taskQueue, `old-${s}`)],
      foreign: [],
    });

    const status = await waitFor('the new image list', async () => {
      const st = await main.query(watchStatusQuery);
      return st.images.length === 2 && st.images.every((i) => i.state.latest) ? st : undefined;
    });
    expect(status.images.map((i) => i.image.name)).toEqual([`a-${s}`, `c-${s}`]);
    expect(status.images[0]?.state.latest).toEqual(known);

    const old = daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, `old-${s}`));
    await old.result();
    expect((await old.describe()).status.name).toBe('COMPLETED');
    const added = daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, `new-${s}`));
    expect((await added.describe()).status.name).toBe('RUNNING');
  });

  it('retires a watch under the id without the instance, and its successor goes on from its state', async () => {
    const group = `legacy-${s}`;
    const withLegacy = stackConfig(
      stack,
      `${header}  - { name: c-${s}, registry: r-${s}, repository: rec-${s}/c, track: { tag: "1" }, interval: 1h }\n` +
        `  - { name: d-${s}, registry: r-${s}, repository: rec-${s}/d, track: { tag: "1" }, interval: 1h, watchGroup: new-${s} }\n` +
        `  - { name: l-${s}, registry: r-${s}, repository: rec-${s}/l, track: { tag: "1" }, interval: 1h, watchGroup: ${group} }\n`,
    );
    const images = watchGroups(withLegacy).get(group) ?? [];
    // What a daemon of the previous version left running on this task queue.
    const legacy = await daemon.client.workflow.start('watchWorkflow', {
      workflowId: legacyWatchWorkflowId(group),
      taskQueue,
      args: [{ group, images, batchWindowMs: 100 } satisfies WatchInput],
    });
    const baseline = await waitFor(
      'the legacy watch to record the baseline',
      async () => (await legacy.query(watchStatusQuery)).images[0]?.state.latest,
    );
    const rebuilt = await pushImage({ registryUrl: stack.registry.url, repository: `rec-${s}/l`, tag: '1' });

    const result = await reconcileWatches(daemon.client, withLegacy, { batchWindowMs: 100 });
    expect(result.started).toEqual([watchWorkflowId(taskQueue, group)]);
    expect(result.stopped).toEqual([legacyWatchWorkflowId(group)]);
    await legacy.result();
    expect((await legacy.describe()).status.name).toBe('COMPLETED');

    const successor = daemon.client.workflow.getHandle(watchWorkflowId(taskQueue, group));
    expect((await successor.query(watchStatusQuery)).images[0]?.state.latest).toEqual(baseline);
    await successor.signal(checkNowSignal);
    const state = await waitFor('the successor to see the rebuild', async () => {
      const st = (await successor.query(watchStatusQuery)).images[0]?.state;
      return st?.latest?.digest === rebuilt.digest ? st : undefined;
    });
    // A rebuild after the baseline it inherited, not a baseline of its own.
    expect(state.previous[0]).toEqual(baseline);
  });

  it('hands requests to a pipeline workflow under the id without the instance while it runs', async () => {
    const pipeline = `p-${s}`;
    const withPipeline = stackConfig(
      stack,
      `${header}clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
pipelines:
  ${pipeline}: { stages: [ { name: staging, cluster: local, targets: [ { namespace: rec-${s}, deployment: app } ] } ] }
`,
    );
    const ask = (hex: string) => ({
      pipeline,
      image: `a-${s}`,
      registry: `r-${s}`,
      repository: `rec-${s}/a`,
      tag: '1',
      digest: `sha256:${hex.repeat(64)}`,
      trigger: 'manual' as const,
      detectedAt: new Date().toISOString(),
    });
    const ctx = { client: daemon.client, config: withPipeline, searchAttributes: false };
    // What a daemon of the previous version left running: it waits a minute for requests.
    const legacy = await daemon.client.workflow.start('pipelineWorkflow', {
      workflowId: legacyPipelineWorkflowId(pipeline),
      taskQueue,
      args: [{ pipeline }],
    });
    const successor = daemon.client.workflow.getHandle(pipelineWorkflowId(taskQueue, pipeline));
    try {
      const first = await requestRollout(ctx, ask('a'));
      expect(first).toEqual({
        rolloutId: `freshet-rollout-${pipeline}-a-${s}-${'a'.repeat(64)}@${taskQueue}`,
        pipelineWorkflowId: legacyPipelineWorkflowId(pipeline),
      });
      await waitFor('the old pipeline workflow to take the request', async () => {
        const st = await legacy.query(pipelineStatusQuery);
        return st.current?.rolloutId === first.rolloutId || st.recent.includes(first.rolloutId);
      });
      expect(await successor.describe().catch(() => undefined)).toBeUndefined();

      // Once it has ended, requests go to this instance's pipeline workflow.
      await legacy.terminate('ended');
      const second = await requestRollout(ctx, ask('b'));
      expect(second.pipelineWorkflowId).toBe(pipelineWorkflowId(taskQueue, pipeline));
      expect((await successor.describe()).taskQueue).toBe(taskQueue);
    } finally {
      for (const handle of [legacy, successor]) await handle.terminate('test over').catch(() => undefined);
      for await (const wf of daemon.client.workflow.list({
        query: `WorkflowType = 'rolloutWorkflow' AND TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
      })) {
        await daemon.client.workflow
          .getHandle(wf.workflowId)
          .terminate('test over')
          .catch(() => undefined);
      }
    }
  });
});
