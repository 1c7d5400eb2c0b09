// Records real workflow histories from the running stack into test/fixtures/histories/, for the
// replay tests. Rerun it (`node test/support/record-histories.ts`) when a workflow's history
// shape changes on purpose, and keep the old files too: running workflows still have them.
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { startStack } from '../../stack/stack.ts';
import {
  checkNowSignal,
  configureSignal,
  rolloutWorkflowId,
  stopSignal,
  watchStatusQuery,
  watchWorkflowId,
} from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from './daemon.ts';
import { pushImage } from './image-pusher.ts';
import { connectTemporal } from './temporal.ts';
import { waitFor } from './wait.ts';

const stack = (await startStack()).endpoints;
await connectTemporal(stack);
const suffix = uniqueSuffix();
const registry = `rec-${suffix}`;
const repository = `record-${suffix}/web`;
const config = stackConfig(
  stack,
  `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}" } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: web, registry: ${registry}, repository: ${repository}, track: { tag: "1.4" }, pipeline: web, interval: 1s }
pipelines:
  web:
    stages: [ { name: staging, cluster: local, targets: [ { namespace: web, deployment: web } ] } ]
`,
);
await pushImage({ registryUrl: stack.registry.url, repository, tag: '1.4' });
const daemon = await startTestDaemon(config);
const watch = daemon.client.workflow.getHandle(watchWorkflowId(registry));
await waitFor('baseline', async () => (await watch.query(watchStatusQuery)).images[0]?.state.latest);
const rebuilt = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1.4' });
const rollout = daemon.client.workflow.getHandle(rolloutWorkflowId('web', 'web', rebuilt.digest));
await waitFor('rollout', () => rollout.describe().catch(() => undefined));
await rollout.result();
await watch.signal(checkNowSignal, { repository, tag: '1.4', source: 'distribution' });
await watch.signal(
  configureSignal,
  (await watch.query(watchStatusQuery)).images.map((i) => i.image),
);
await new Promise((r) => setTimeout(r, 1_500));
await watch.signal(stopSignal);
await watch.result();
const out = new URL('../fixtures/histories/', import.meta.url);
writeFileSync(new URL('watch-rebuild.json', out), historyToJSON(await watch.fetchHistory()));
writeFileSync(new URL('rollout-recorded.json', out), historyToJSON(await rollout.fetchHistory()));
await daemon.close();
console.log('wrote watch-rebuild.json and rollout-recorded.json');
process.exit(0);
