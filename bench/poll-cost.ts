// `npm run bench -- poll-cost`: what watching costs when nothing changes. Registry requests are
// counted by a registry of the run's own (its access log) over idle cycles of one batched watch
// of 100 and of 1,000 images; Temporal history events per cycle are counted for that watch and
// for the baseline, one workflow per image (bench/workflows/naive-watch.ts), run in this process.
import { fileURLToPath } from 'node:url';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createWatchActivities } from '../activities/watch/check-images.ts';
import { type Config, configSchema } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { startTestRegistry, type TestRegistry } from '../test/support/registry-process.ts';
import { waitFor } from '../test/support/wait.ts';
import { type Daemon, startDaemon } from '../worker/daemon.ts';
import { buildRegistryClients, registryHostIndex } from '../worker/registries.ts';
import { watchGroups } from '../worker/watches.ts';
import { checkNowSignal, watchStatusQuery, watchWorkflowId } from '../workflows/watch-messages.ts';
import { installQuietRuntime, type Progress, progressFor, runSuffix, warningsTo } from './harness.ts';
import { median, round } from './stats.ts';
import type { naiveWatchWorkflow } from './workflows/naive-watch.ts';

const sizes = [100, 1_000] as const;
const idleCycles = 3;
const pushConcurrency = 8;
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
    progress(`registry ${registry.url}; pushing ${sizes.join(' + ')} images, ${pushConcurrency} at a time`);
    const digests = await pushAll(
      registry.url,
      sizes.flatMap((size) => Array.from({ length: size }, (_, i) => repository(size, i))),
      progress,
    );
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
    daemon = await startDaemon({
      config,
      listen: '127.0.0.1:0',
      logger: warningsTo(progress),
      freshnessIntervalMs: 3_600_000,
    });
    const client = daemon.client;
    for (const size of sizes) await awaitBaseline(client, instance, group(size), size, progress);

    const metrics: Record<string, number> = {};
    for (const size of sizes) {
      const idle = await measureIdleCycles(client, registry, instance, group(size), progress);
      const perCheck = size * idleCycles;
      metrics[`head_per_image_idle_${size}`] = round(idle.heads / perCheck, 3);
      metrics[`get_per_image_idle_${size}`] = round(idle.gets / perCheck, 3);
      // Invariant 7: If-None-Match with the known digest, answered 304 Not Modified.
      metrics[`head_304_share_${size}`] = round(idle.notModified / Math.max(idle.heads, 1), 3);
      metrics[`history_events_per_cycle_${size}`] = round(idle.events / idleCycles, 2);
      metrics[`history_events_per_image_day_${size}`] = round(
        (idle.events / idleCycles / size) * cyclesPerDay,
        1,
      );
      progress(
        `${size} images, ${idleCycles} idle cycles: ${idle.heads} HEAD, ${idle.gets} GET, ` +
          `${idle.others} other requests; ${idle.events} history events (${idle.breakdown})`,
      );
    }

    const baseline = await measureNaive(
      client,
      stack,
      config,
      registry,
      digests,
      group(sizes[0]),
      suffix,
      progress,
    );
    const batchedPerDay = metrics[`history_events_per_image_day_${sizes[1]}`] ?? Number.NaN;
    const naivePerDay = baseline.eventsPerCycle * cyclesPerDay;
    return {
      head_per_image_idle: metrics[`head_per_image_idle_${sizes[1]}`] ?? Number.NaN,
      get_per_image_idle: metrics[`get_per_image_idle_${sizes[1]}`] ?? Number.NaN,
      ...metrics,
      history_events_per_image_day: batchedPerDay,
      naive_history_events_per_cycle: baseline.eventsPerCycle,
      naive_head_per_image_idle: round(baseline.heads / (naive.images * naive.cycles), 3),
      naive_get_per_image_idle: round(baseline.gets / (naive.images * naive.cycles), 3),
      naive_history_events_per_image_day: round(naivePerDay, 1),
      ratio_vs_naive: round(batchedPerDay / naivePerDay, 5),
    };
  } finally {
    if (daemon) {
      for (const size of sizes) {
        await daemon.client.workflow
          .getHandle(watchWorkflowId(instance, group(size)))
          .terminate('benchmark over')
          .catch(() => undefined);
      }
      await daemon.close();
    }
    await registry.remove();
  }
}

/** Pushes one image per repository, a few at a time; returns each repository's digest. */
async function pushAll(registryUrl: string, repositories: string[], progress: Progress) {
  const digests = new Map<string, string>();
  let next = 0;
  const pushNext = async () => {
    for (let repo = repositories[next++]; repo !== undefined; repo = repositories[next++]) {
      const pushed = await pushImage({ registryUrl, repository: repo, tag });
      digests.set(repo, pushed.digest);
      if (digests.size % 200 === 0) progress(`pushed ${digests.size}/${repositories.length}`);
    }
  };
  await Promise.all(Array.from({ length: pushConcurrency }, pushNext));
  return digests;
}

async function watchStatus(client: Client, instance: string, group: string) {
  return client.workflow.getHandle(watchWorkflowId(instance, group)).query(watchStatusQuery);
}

async function awaitBaseline(
  client: Client,
  instance: string,
  group: string,
  size: number,
  progress: Progress,
) {
  let reported = -1;
  await waitFor(
    `the first digest of all ${size} images of ${group}`,
    async () => {
      const status = await watchStatus(client, instance, group);
      const seen = status.images.filter((i) => i.state.latest).length;
      const failed = status.images.filter((i) => i.state.lastError).length;
      if (seen !== reported) progress(`${group}: baseline of ${seen}/${size} images (${failed} failed)`);
      reported = seen;
      return seen === size && status.images.length === size;
    },
    { timeoutMs: 180_000, intervalMs: 1_000 },
  );
}

/** Asks for one check of every image and waits until that cycle has finished. */
async function checkOnce(client: Client, instance: string, group: string): Promise<void> {
  const before = (await watchStatus(client, instance, group)).cycles;
  await client.workflow.getHandle(watchWorkflowId(instance, group)).signal(checkNowSignal);
  await waitFor(
    `cycle ${before + 1} of ${group}`,
    async () => (await watchStatus(client, instance, group)).cycles > before,
    {
      timeoutMs: 120_000,
      intervalMs: 250,
    },
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
  instance: string,
  group: string,
  progress: Progress,
) {
  const handle = client.workflow.getHandle(watchWorkflowId(instance, group));
  const runBefore = (await handle.describe()).runId;
  const historyBefore = (await handle.fetchHistory()).events?.length ?? 0;
  const logBefore = await settledRequestCount(registry);
  for (let i = 0; i < idleCycles; i++) {
    const t0 = Date.now();
    await checkOnce(client, instance, group);
    progress(`${group}: idle cycle ${i + 1}/${idleCycles} in ${Date.now() - t0} ms`);
  }
  const logAfter = await settledRequestCount(registry);
  const events = (await handle.fetchHistory()).events ?? [];
  if ((await handle.describe()).runId !== runBefore)
    throw new Error(`${group} continued as new during the idle cycles; its event count would be wrong`);
  const status = await watchStatus(client, instance, group);
  const failed = status.images.filter((i) => i.state.lastError);
  if (failed.length > 0)
    throw new Error(`${failed.length} checks failed, e.g. ${failed[0]?.state.lastError}`);
  // What the watch carries across continue-as-new, against Temporal's 2 MB payload limit.
  const stateBytes = Buffer.byteLength(JSON.stringify(status.images));
  progress(
    `${group}: watch state ${Math.round(stateBytes / 1024)} KiB, ` +
      `${Math.round(stateBytes / status.images.length)} B per image`,
  );
  const requests = registry.requests().slice(logBefore, logAfter);
  const cycleEvents = events.slice(historyBefore);
  return {
    heads: requests.filter((r) => r.method === 'HEAD').length,
    notModified: requests.filter((r) => r.method === 'HEAD' && r.status === 304).length,
    gets: requests.filter((r) => r.method === 'GET').length,
    others: requests.filter((r) => r.method !== 'HEAD' && r.method !== 'GET').length,
    events: cycleEvents.length,
    breakdown: describeEvents(cycleEvents),
  };
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
  digests: Map<string, string>,
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
                knownDigest: digests.get(image.repository) ?? '',
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
