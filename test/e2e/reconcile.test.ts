// Config changes reconcile the watch workflows: new groups start, changed ones get the new
// images (keeping what they knew), removed ones stop.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { reconcileWatches } from '../../worker/watches.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
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
    for (const name of ['a', 'b', 'c', 'd']) {
      await pushImage({ registryUrl: stack.registry.url, repository: `rec-${s}/${name}`, tag: '1' });
    }
    daemon = await startTestDaemon(before);
  });
  afterAll(async () => {
    for (const g of [`r-${s}`, `old-${s}`, `new-${s}`]) {
      await daemon?.client.workflow
        .getHandle(watchWorkflowId(daemon.instance, g))
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
    expect(result).toEqual({ started: [`new-${s}`], configured: [`r-${s}`], stopped: [`old-${s}`] });

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
});
