// Records real workflow histories from the running stack into test/fixtures/histories/, for the
// replay tests. Rerun it (`node test/support/record-histories.ts`) when a workflow's history
// shape changes on purpose, and keep the old files too: running workflows still have them.
// watch-rebuild.json predates the pipeline workflow and replays through the watch's legacy path.
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { startStack } from '../../stack/stack.ts';
import { approveSignal, pipelineWorkflowId, rolloutStatusQuery } from '../../workflows/rollout-messages.ts';
import {
  checkNowSignal,
  configureSignal,
  rolloutWorkflowId,
  stopSignal,
  watchStatusQuery,
  watchWorkflowId,
} from '../../workflows/watch-messages.ts';
import { createRolloutFixture } from './rollout-fixture.ts';
import { waitFor } from './wait.ts';

const stack = (await startStack()).endpoints;
const fx = await createRolloutFixture(stack, {
  interval: '1s',
  approval: '{ timeout: 1h, approvers: [alice] }',
  stagingHealth: `{ rolloutTimeout: 20s, soak: 2s, checks: [ { name: errors, prometheus: { url: "${stack.prometheus.url}", query: "vector(0)", max: 0.01, interval: 1s } } ] }`,
});
const client = fx.client;
const watch = client.workflow.getHandle(watchWorkflowId(fx.config.temporal.instance, `reg-${fx.suffix}`));

// A rebuild found by polling, promoted after an approval.
const rebuilt = await fx.push();
const succeeded = client.workflow.getHandle(
  rolloutWorkflowId(fx.pipeline, fx.image, rebuilt.digest, fx.config.temporal.instance),
);
await waitFor(
  'approval to be pending',
  async () => (await succeeded.query(rolloutStatusQuery)).phase === 'awaiting-approval',
  { timeoutMs: 60_000 },
);
await succeeded.signal(approveSignal, { by: 'mallory' });
await succeeded.signal(approveSignal, { by: 'alice', comment: 'recorded' });
await fx.result(succeeded.workflowId);

// A broken build, rolled back in staging.
const broken = await fx.push({ broken: true });
const rolledBack = client.workflow.getHandle(
  rolloutWorkflowId(fx.pipeline, fx.image, broken.digest, fx.config.temporal.instance),
);
await waitFor('the broken rollout', () => rolledBack.describe().catch(() => undefined), {
  timeoutMs: 30_000,
});
await fx.result(rolledBack.workflowId);

await watch.signal(checkNowSignal, { repository: fx.repository, tag: '1.0', source: 'distribution' });
await watch.signal(
  configureSignal,
  (await watch.query(watchStatusQuery)).images.map((i) => i.image),
);
await new Promise((r) => setTimeout(r, 1_500));
await watch.signal(stopSignal);
await watch.result();

const out = new URL('../fixtures/histories/', import.meta.url);
const save = async (file: string, handle: { fetchHistory(): Promise<Parameters<typeof historyToJSON>[0]> }) =>
  writeFileSync(new URL(file, out), historyToJSON(await handle.fetchHistory()));
await save('watch-pipeline.json', watch);
await save(
  'pipeline.json',
  client.workflow.getHandle(pipelineWorkflowId(fx.config.temporal.instance, fx.pipeline)),
);
await save('rollout-succeeded.json', succeeded);
await save('rollout-rolled-back.json', rolledBack);
await fx.close();
console.log('wrote watch-pipeline.json, pipeline.json, rollout-succeeded.json and rollout-rolled-back.json');
process.exit(0);
