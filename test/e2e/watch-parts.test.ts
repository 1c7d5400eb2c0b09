// A watch group whose images could outgrow one workflow's carried state runs as parts: each image
// is checked by exactly one of them, a webhook reaches the part that follows its repository, and a
// config that no longer needs a part ends it, handing its images' state to the part that takes
// them over. The budget per part is lowered so that six images need three parts.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Config, configSchema } from '../../config/schema.ts';
import { type Daemon, startDaemon } from '../../worker/daemon.ts';
import { carriedBytesBound } from '../../worker/watch-parts.ts';
import {
  dispatchHints,
  reconcileWatches,
  watchGroups,
  watchParts,
  watchStatuses,
} from '../../worker/watches.ts';
import {
  checkNowSignal,
  type WatchStatus,
  watchStatusQuery,
  watchWorkflowId,
} from '../../workflows/watch-messages.ts';
import { uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { startTestRegistry, type TestRegistry } from '../support/registry-process.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const s = uniqueSuffix();
const group = `parts-${s}`;
const taskQueue = `freshet-test-${s}`;
const repository = (i: number) => `parts-${s}/app${i}`;
const names = Array.from({ length: 6 }, (_, i) => `app${i}-${s}`);
let registry: TestRegistry;
let daemon: Daemon;
let budget: number;

const all = names.map((_, i) => i);

function configOf(indexes: readonly number[]): Config {
  return configSchema.parse({
    temporal: { address: stack.temporal.address, taskQueue },
    registries: [{ name: group, url: registry.url }],
    images: indexes.map((i) => ({
      name: names[i],
      registry: group,
      repository: repository(i),
      track: { tag: '1' },
      interval: '1h',
    })),
  });
}

const statuses = () => watchStatuses(daemon.client, configOf(all));
const where = (all: WatchStatus[]) =>
  all.flatMap((st) => st.images.map((i) => [i.image.name, st.group] as const));

describe('a watch group split into parts', () => {
  beforeAll(async () => {
    await connectTemporal(stack);
    registry = await startTestRegistry();
    for (const [i] of names.entries())
      await pushImage({ registryUrl: registry.url, repository: repository(i), tag: '1' });
    const one = watchGroups(configOf([0])).get(group)?.[0];
    if (!one) throw new Error('no image in the test config');
    // Room for two images per part: six need three.
    budget = Math.floor(2.5 * carriedBytesBound(one));
    daemon = await startDaemon({
      config: configOf(all),
      listen: '127.0.0.1:0',
      freshnessIntervalMs: 500,
      batchWindowMs: 100,
      watchPartBudgetBytes: budget,
    });
  });
  afterAll(async () => {
    for (const part of ['', '/1', '/2', '/3']) {
      await daemon?.client.workflow
        .getHandle(watchWorkflowId(daemon.instance, `${group}${part}`))
        .terminate('test over')
        .catch(() => undefined);
    }
    await daemon?.close();
    await registry?.remove();
  });

  it('runs one watch per part, each image in exactly one, the first under the group id', async () => {
    const parts = watchParts(configOf(all), [], budget);
    expect(parts.map((p) => p.name)).toEqual([group, `${group}/1`, `${group}/2`]);
    await waitFor(
      'a baseline digest of every image',
      async () => (await statuses()).flatMap((st) => st.images).filter((i) => i.state.latest).length === 6,
      { timeoutMs: 60_000 },
    );
    const found = await statuses();
    expect(found.map((st) => st.group)).toEqual(parts.map((p) => p.name));
    expect(
      where(found)
        .map(([name]) => name)
        .sort(),
    ).toEqual([...names].sort());
    expect(new Map(where(found))).toEqual(
      new Map(parts.flatMap((p) => p.images.map((i) => [i.name, p.name]))),
    );
  });

  it('checks every image once per cycle across the parts', async () => {
    const before = new Map((await statuses()).map((st) => [st.group, st.cycles]));
    const logged = registry.requests().length;
    for (const part of before.keys()) {
      await daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, part)).signal(checkNowSignal);
    }
    await waitFor(
      'one more cycle of every part',
      async () => (await statuses()).every((st) => st.cycles > (before.get(st.group) ?? 0)),
      { timeoutMs: 60_000 },
    );
    // The access log is written after the answer: wait until the six HEADs are all there.
    const heads = () =>
      registry
        .requests()
        .slice(logged)
        .filter((r) => r.method === 'HEAD')
        .map((r) => r.path);
    await waitFor('the cycle in the access log', async () => heads().length >= 6, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 500));
    expect(heads().sort()).toEqual(names.map((_, i) => `/v2/${repository(i)}/manifests/1`).sort());
    expect(
      registry
        .requests()
        .slice(logged)
        .filter((r) => r.method === 'GET'),
    ).toEqual([]);
  });

  it("signals only the part that follows a webhook's repository", async () => {
    const target = where(await statuses()).find(([, part]) => part !== group);
    if (!target) throw new Error('every image is in the first part');
    const [name, part] = target;
    const signals = async () =>
      new Map(
        await Promise.all(
          watchParts(configOf(all), [], budget).map(async (p) => {
            const history = await daemon.client.workflow
              .getHandle(watchWorkflowId(daemon.instance, p.name))
              .fetchHistory();
            const count = (history.events ?? []).filter(
              (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'checkNow',
            ).length;
            return [p.name, count] as const;
          }),
        ),
      );
    const before = await signals();
    const cycles = async () => (await statuses()).find((st) => st.group === part)?.cycles ?? 0;
    const cyclesBefore = await cycles();
    const hint = { repository: repository(names.indexOf(name)), tag: '1', source: 'distribution' };
    expect(await dispatchHints(daemon.client, configOf(all), [hint], [], budget)).toBe('accepted');
    const after = await signals();
    for (const [p, count] of after) expect(count - (before.get(p) ?? 0)).toBe(p === part ? 1 : 0);
    // The check it asked for is over before the next test reads the states.
    await waitFor(`the cycle of ${part}`, async () => (await cycles()) > cyclesBefore, { timeoutMs: 30_000 });
  });

  it('ends the parts a smaller config no longer needs and hands their images to the one left', async () => {
    const before = new Map((await statuses()).flatMap((st) => st.images.map((i) => [i.image.name, i.state])));
    // Keep one image of each other part: both move into the first.
    const held = where(await statuses());
    const kept = [`${group}/1`, `${group}/2`].map((part) =>
      names.indexOf(held.find(([, p]) => p === part)?.[0] ?? ''),
    );
    expect(kept).not.toContain(-1);
    const smaller = configOf(kept);
    expect(watchParts(smaller, [], budget).map((p) => p.name)).toEqual([group]);

    const result = await reconcileWatches(daemon.client, smaller, {
      batchWindowMs: 100,
      partBudgetBytes: budget,
    });
    expect(result.configured).toEqual([watchWorkflowId(daemon.instance, group)]);
    expect(result.started).toEqual([]);
    expect(result.stopped.sort()).toEqual(
      [`${group}/1`, `${group}/2`].map((p) => watchWorkflowId(daemon.instance, p)),
    );
    for (const part of ['/1', '/2']) {
      const handle = daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, `${group}${part}`));
      await waitFor(
        `${group}${part} ended`,
        async () => (await handle.describe()).status.name === 'COMPLETED',
        {
          timeoutMs: 20_000,
        },
      );
    }
    // Idempotent: a second reconciliation (another daemon, a restart) changes nothing.
    const again = await reconcileWatches(daemon.client, smaller, {
      batchWindowMs: 100,
      partBudgetBytes: budget,
    });
    expect(again).toEqual({
      started: [],
      configured: [watchWorkflowId(daemon.instance, group)],
      stopped: [],
      foreign: [],
    });

    const left = await daemon.client.workflow
      .getHandle(watchWorkflowId(daemon.instance, group))
      .query(watchStatusQuery);
    expect(left.images.map((i) => i.image.name)).toEqual(kept.map((i) => names[i]));
    // What the ended parts knew came along: the same digest, first seen and last checked when it was.
    for (const { image, state } of left.images) {
      expect(state.latest).toEqual(before.get(image.name)?.latest);
      expect(state.lastCheckAt).toBe(before.get(image.name)?.lastCheckAt);
    }
  });
});
