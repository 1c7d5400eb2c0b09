// `npm run bench -- poll-cost`: what watching costs when nothing changes. Registry requests are
// counted by a registry of the run's own (its access log) over idle cycles of one watch group of
// 100, of 1,000 and of 5,000 images (each group as many watch workflows as its parts); Temporal
// history events per cycle are counted for those watches and for the baseline, one workflow per
// image (bench/workflows/naive-watch.ts), run in this process.
import { fileURLToPath } from 'node:url';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createWatchActivities } from '../activities/watch/check-images.ts';
import { type Config, configSchema } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImageToRepositories } from '../test/support/image-pusher.ts';
import { startTestRegistry, type TestRegistry } from '../test/support/registry-process.ts';
import { waitFor } from '../test/support/wait.ts';
import { type Daemon, startDaemon } from '../worker/daemon.ts';
import { buildRegistryClients, registryHostIndex } from '../worker/registries.ts';
import { watchGroups } from '../worker/watches.ts';
import { installQuietRuntime, type Progress, progressFor, runSuffix, warningsTo } from './harness.ts';
import { median, round } from './stats.ts';
import { checkGroupOnce, groupStatuses, runningPartIds, terminateGroup } from './watch-group.ts';
import type { naiveWatchWorkflow } from './workflows/naive-watch.ts';

const sizes = [100, 1_000, 5_000] as const;
/** The largest size reports under its own prefix; the goal is stated for 1,000. */
const prefixed = (size: number, key: string) => (size === 5_000 ? `n5000_${key}` : `${key}_${size}`);
/** Idle cycles per size: one at 5,000, where a cycle's counts are as exact and take minutes. */
const idleCyclesOf = (size: number) => (size === 5_000 ? 1 : 3);
const pushConcurrency = 16;
const registryConcurrency = 16;
const naive = { images: 20, intervalMs: 2_000, cycles: 6 };
/** Check cycles per day at the 1-minute interval the goal is stated for. */
const cyclesPerDay = 24 * 60;
const tag = '1';
const naiveWorkflowsPath = fileURLToPath(new URL('./workflows/naive-watch.ts', import.meta.url));

type HistoryEvents = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>;

export async function pollCost(stack: Endpoints): Promise<Record<string, number>> {
  const progress = progressFor('poll-cost');
  installQuietRuntime();
  const suffix = runSuffix();
  const group = (size: number) => `cost${size}-${suffix}`;
  const instance = `freshet-bench-cost-${suffix}`;
  const repository = (size: number, i: number) => `cost${size}-${suffix}/app${i}`;

  const registry = await startTestRegistry();
  let daemon: Daemon | undefined;
  try {
    const total = sizes.reduce((a, b) => a + b, 0);
    progress(`registry ${registry.url}; pushing one image to ${total} repositories, blobs mounted`);
    const t0 = Date.now();
    const pushed = await pushImageToRepositories({
      registryUrl: registry.url,
      repositories: sizes.flatMap((size) => Array.from({ length: size }, (_, i) => repository(size, i))),
      tag,
      concurrency: pushConcurrency,
      onProgress: (n) => n % 1_000 === 0 && progress(`pushed ${n}/${total}`),
    });
    const pushSeconds = (Date.now() - t0) / 1000;
    progress(`pushed ${total} repositories in ${pushSeconds.toFixed(1)} s`);
    const config: Config = configSchema.parse({
      temporal: { address: stack.temporal.address, taskQueue: instance },
      registries: sizes.map((size) => ({
        name: group(size),
        url: registry.url,
        maxConcurrency: registryConcurrency,
      })),
      images: sizes.flatMap((size) =>
        Array.from({ length: size }, (_, i) => ({
          name: `c${size}-${i}-${suffix}`,
          registry: group(size),
          repository: repository(size, i),
          track: { tag },
          interval: '1h',
        })),
      ),
    });

    progress('starting the daemon (bundling workflows)');
    const t1 = Date.now();
    daemon = await startDaemon({
      config,
      listen: '127.0.0.1:0',
      logger: warningsTo(progress),
      freshnessIntervalMs: 3_600_000,
    });
    const client = daemon.client;
    const parts = new Map<number, string[]>();
    for (const size of sizes) {
      const ids = await runningPartIds(client, instance, group(size));
      parts.set(size, ids);
      progress(`${group(size)}: ${size} images in ${ids.length} watch${ids.length === 1 ? '' : 'es'}`);
      await awaitBaseline(client, ids, group(size), size, progress);
    }
    const baselineSeconds = (Date.now() - t1) / 1000;

    const metrics: Record<string, number> = {};
    for (const size of sizes) {
      const t2 = Date.now();
      const ids = parts.get(size) ?? [];
      const idleCycles = idleCyclesOf(size);
      const idle = await measureIdleCycles(client, registry, ids, group(size), idleCycles, progress);
      const perCheck = size * idleCycles;
      const key = (k: string) => prefixed(size, k);
      metrics[key('watches')] = ids.length;
      metrics[key('head_per_image_idle')] = round(idle.heads / perCheck, 3);
      metrics[key('get_per_image_idle')] = round(idle.gets / perCheck, 3);
      // Invariant 7: If-None-Match with the known digest, answered 304 Not Modified.
      metrics[key('head_304_share')] = round(idle.notModified / Math.max(idle.heads, 1), 3);
      metrics[key('history_events_per_cycle')] = round(idle.events / idleCycles, 2);
      metrics[key('history_events_per_image_day')] = round(
        (idle.events / idleCycles / size) * cyclesPerDay,
        1,
      );
      metrics[key('state_bytes_max')] = idle.stateBytesMax;
      metrics[key('activity_payload_bytes_max')] = idle.payloadBytesMax;
      metrics[key('idle_cycle_s')] = round((Date.now() - t2) / 1000 / idleCycles, 2);
      progress(
        `${size} images in ${ids.length} watches, ${idleCycles} idle cycles: ${idle.heads} HEAD, ${idle.gets} GET, ` +
          `${idle.others} other requests; ${idle.events} history events (${idle.breakdown})`,
      );
    }

    const baseline = await measureNaive(
      client,
      stack,
      config,
      registry,
      pushed.digest,
      group(sizes[0]),
      suffix,
      progress,
    );
    const batchedPerDay = metrics[prefixed(1_000, 'history_events_per_image_day')] ?? Number.NaN;
    const largestPerDay = metrics[prefixed(5_000, 'history_events_per_image_day')] ?? Number.NaN;
    const naivePerDay = round(baseline.eventsPerCycle * cyclesPerDay, 1);
    return {
      head_per_image_idle: metrics[prefixed(1_000, 'head_per_image_idle')] ?? Number.NaN,
      get_per_image_idle: metrics[prefixed(1_000, 'get_per_image_idle')] ?? Number.NaN,
      ...metrics,
      history_events_per_image_day: batchedPerDay,
      naive_history_events_per_cycle: baseline.eventsPerCycle,
      naive_head_per_image_idle: round(baseline.heads / (naive.images * naive.cycles), 3),
      naive_get_per_image_idle: round(baseline.gets / (naive.images * naive.cycles), 3),
      naive_history_events_per_image_day: naivePerDay,
      ratio_vs_naive: round(batchedPerDay / naivePerDay, 5),
      // The naive design costs the same per image at any count: one workflow each.
      n5000_naive_history_events_per_image_day: naivePerDay,
      n5000_ratio_vs_naive: round(largestPerDay / naivePerDay, 5),
      push_s: round(pushSeconds, 1),
      baseline_s: round(baselineSeconds, 1),
    };
  } finally {
    if (daemon) {
      for (const size of sizes) await terminateGroup(daemon.client, instance, group(size));
      await daemon.close();
    }
    await registry.remove();
  }
}

async function awaitBaseline(
  client: Client,
  workflowIds: readonly string[],
  group: string,
  size: number,
  progress: Progress,
) {
  let reported = -1;
  await waitFor(
    `the first digest of all ${size} images of ${group}`,
    async () => {
      const images = (await groupStatuses(client, workflowIds)).flatMap((s) => s.images);
      const seen = images.filter((i) => i.state.latest).length;
      const failed = images.filter((i) => i.state.lastError).length;
      if (seen !== reported) progress(`${group}: baseline of ${seen}/${size} images (${failed} failed)`);
      reported = seen;
      return seen === size && images.length === size;
    },
    { timeoutMs: 900_000, intervalMs: 2_000 },
  );
}

/** The access log's length once the registry has written every request it answered. */
async function settledRequestCount(registry: TestRegistry): Promise<number> {
  let last = registry.requests().length;
  for (let i = 0; i < 25; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = registry.requests().length;
    if (now === last) return now;
    last = now;
  }
  return last;
}

async function measureIdleCycles(
  client: Client,
  registry: TestRegistry,
  workflowIds: readonly string[],
  group: string,
  idleCycles: number,
  progress: Progress,
) {
  const handles = workflowIds.map((id) => client.workflow.getHandle(id));
  const runsBefore = await Promise.all(handles.map(async (h) => (await h.describe()).runId));
  const historiesBefore = await Promise.all(handles.map(async (h) => (await h.fetchHistory()).events ?? []));
  const logBefore = await settledRequestCount(registry);
  for (let i = 0; i < idleCycles; i++) {
    const t0 = Date.now();
    await checkGroupOnce(client, workflowIds);
    progress(`${group}: idle cycle ${i + 1}/${idleCycles} in ${Date.now() - t0} ms`);
  }
  const logAfter = await settledRequestCount(registry);
  const histories = await Promise.all(handles.map(async (h) => (await h.fetchHistory()).events ?? []));
  const runsAfter = await Promise.all(handles.map(async (h) => (await h.describe()).runId));
  if (runsAfter.some((run, i) => run !== runsBefore[i]))
    throw new Error(
      `a watch of ${group} continued as new during the idle cycles; its event count would be wrong`,
    );
  const statuses = await groupStatuses(client, workflowIds);
  const failed = statuses.flatMap((s) => s.images).filter((i) => i.state.lastError);
  if (failed.length > 0)
    throw new Error(`${failed.length} checks failed, e.g. ${failed[0]?.state.lastError}`);
  // What each watch carries across continue-as-new, against Temporal's 2 MiB payload limit.
  const stateBytes = statuses.map((s) => Buffer.byteLength(JSON.stringify(s.images)));
  const images = statuses.reduce((n, s) => n + s.images.length, 0);
  const stateBytesMax = Math.max(...stateBytes);
  // The largest activity input or result any of the watches recorded, the baseline cycle included.
  const payloadBytesMax = Math.max(...histories.flatMap((events) => events.map(activityPayloadBytes)));
  progress(
    `${group}: largest watch state ${Math.round(stateBytesMax / 1024)} KiB, ` +
      `${Math.round(stateBytes.reduce((a, b) => a + b, 0) / images)} B per image; ` +
      `largest activity payload ${Math.round(payloadBytesMax / 1024)} KiB`,
  );
  const requests = registry.requests().slice(logBefore, logAfter);
  const cycleEvents = histories.flatMap((events, i) => events.slice(historiesBefore[i]?.length ?? 0));
  return {
    heads: requests.filter((r) => r.method === 'HEAD').length,
    notModified: requests.filter((r) => r.method === 'HEAD' && r.status === 304).length,
    gets: requests.filter((r) => r.method === 'GET').length,
    others: requests.filter((r) => r.method !== 'HEAD' && r.method !== 'GET').length,
    events: cycleEvents.length,
    breakdown: describeEvents(cycleEvents),
    stateBytesMax,
    payloadBytesMax,
  };
}

/** Bytes of an activity's input (scheduled) or result (completed) as the history holds them. */
function activityPayloadBytes(event: HistoryEvents[number]): number {
  const payloads =
    event.activityTaskScheduledEventAttributes?.input?.payloads ??
    event.activityTaskCompletedEventAttributes?.result?.payloads ??
    [];
  return payloads.reduce((n, p) => n + (p.data?.length ?? 0), 0);
}

/**
 * The baseline design on its own task queue and worker, checking images of the 100-image set
 * with the same activity and registry client settings. Events per cycle are counted between the
 * first and the last timer of each workflow, so its start and completion are not charged.
 */
async function measureNaive(
  client: Client,
  stack: Endpoints,
  config: Config,
  registry: TestRegistry,
  /** Every repository holds the same image. */
  digest: string,
  group: string,
  suffix: string,
  progress: Progress,
) {
  const images = (watchGroups(config).get(group) ?? []).slice(0, naive.images);
  const taskQueue = `freshet-bench-naive-${suffix}`;
  const connection = await NativeConnection.connect({ address: stack.temporal.address });
  try {
    progress(`baseline: bundling ${naiveWorkflowsPath}`);
    const worker = await Worker.create({
      connection,
      namespace: stack.temporal.namespace,
      taskQueue,
      workflowsPath: naiveWorkflowsPath,
      activities: createWatchActivities({
        registries: buildRegistryClients(config),
        registryForHost: registryHostIndex(config),
      }),
    });
    const logBefore = await settledRequestCount(registry);
    progress(
      `baseline: ${images.length} workflows, one image each, ${naive.cycles} cycles of ${naive.intervalMs} ms`,
    );
    const workflowIds = await worker.runUntil(async () => {
      const handles = await Promise.all(
        images.map((image, i) =>
          client.workflow.start<typeof naiveWatchWorkflow>('naiveWatchWorkflow', {
            workflowId: `freshet-bench-naive-${suffix}-${i}`,
            taskQueue,
            args: [
              {
                image: { ...image, intervalMs: naive.intervalMs },
                knownTag: tag,
                knownDigest: digest,
                cycles: naive.cycles,
              },
            ],
          }),
        ),
      );
      const changes = await Promise.all(handles.map((h) => h.result()));
      if (changes.some((c) => c > 0))
        throw new Error('a baseline workflow saw a change; the cycles were not idle');
      return handles.map((h) => h.workflowId);
    });
    const logAfter = await settledRequestCount(registry);
    const perWorkflow: number[] = [];
    let breakdown = '';
    for (const workflowId of workflowIds) {
      const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const timers = events.flatMap((e, i) => (e.timerStartedEventAttributes ? [i] : []));
      const first = timers[0] ?? 0;
      const last = timers[timers.length - 1] ?? 0;
      perWorkflow.push((last - first) / (timers.length - 1));
      breakdown ||= describeEvents(events.slice(first, last));
    }
    const requests = registry.requests().slice(logBefore, logAfter);
    const result = {
      eventsPerCycle: median(perWorkflow),
      heads: requests.filter((r) => r.method === 'HEAD').length,
      gets: requests.filter((r) => r.method === 'GET').length,
    };
    progress(
      `baseline: ${result.heads} HEAD, ${result.gets} GET; ${result.eventsPerCycle} events per cycle ` +
        `per workflow (min ${Math.min(...perWorkflow)}, max ${Math.max(...perWorkflow)}; ` +
        `${naive.cycles - 1} cycles: ${breakdown})`,
    );
    return result;
  } finally {
    await connection.close();
  }
}

/** "ActivityTaskScheduled×3, TimerStarted×3, …": what the events of a span are. */
function describeEvents(events: HistoryEvents): string {
  const counts = new Map<string, number>();
  for (const event of events) {
    const key = Object.keys(event).find(
      (k) => k.endsWith('EventAttributes') && (event as Record<string, unknown>)[k] != null,
    );
    const name = key ? key.replace(/EventAttributes$/, '').replace(/^./, (c) => c.toUpperCase()) : 'Unknown';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => `${name}×${n}`).join(', ');
}
