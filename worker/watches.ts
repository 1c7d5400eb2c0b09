// Keeps the running watch workflows in line with the config (one per registry or watch group)
// and turns webhook hints into checkNow signals (invariant 6: the watch re-resolves the tag).
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { canonicalRepository } from '../activities/watch/image-reference.ts';
import type { Config, ImageConfig } from '../config/schema.ts';
import {
  type CheckNowHint,
  checkNowSignal,
  configureSignal,
  type DeclaredBase,
  type ImageState,
  legacyWatchWorkflowId,
  stopSignal,
  type TrackPolicy,
  type WatchedImage,
  type WatchInput,
  type WatchStatus,
  watchImagesQuery,
  watchPartName,
  watchStatusQuery,
  watchWorkflowId,
} from '../workflows/watch-messages.ts';
import { partBudgetBytes, partitionWatchGroup, type WatchPart } from './watch-parts.ts';
import type { WebhookHint } from './webhooks/types.ts';
import { type ForeignWorkflow, runningTaskQueue } from './workflow-owner.ts';

function trackOf(img: ImageConfig): TrackPolicy {
  return img.track.tag
    ? { tag: img.track.tag }
    : img.track.semver
      ? { semver: img.track.semver, includePrerelease: img.track.includePrerelease }
      : { pattern: img.track.pattern ?? '', order: img.track.order };
}

/** A declared base as the watch needs it, whichever watch group it is in. */
function declaredBase(config: Config, img: ImageConfig): DeclaredBase | undefined {
  const base = img.base && config.images.find((i) => i.name === img.base?.image);
  const registry = base && config.registries.find((r) => r.name === base.registry);
  if (!base || !registry) return undefined;
  const host = new URL(registry.url).host;
  return {
    image: base.name,
    registry: base.registry,
    host,
    repository: canonicalRepository(host, base.repository),
    track: trackOf(base),
  };
}

/**
 * The watch groups and their images. `discovered` are the inventory's watch-only images: each
 * joins its registry's own group, so it shares that watch's cycles and pacing.
 */
export function watchGroups(
  config: Config,
  discovered: readonly WatchedImage[] = [],
): Map<string, WatchedImage[]> {
  const groups = new Map<string, WatchedImage[]>();
  const hosts = new Map(config.registries.map((r) => [r.name, new URL(r.url).host]));
  for (const img of config.images) {
    const group = img.watchGroup ?? img.registry;
    const track = trackOf(img);
    const base = declaredBase(config, img);
    const watched: WatchedImage = {
      name: img.name,
      registry: img.registry,
      // `nginx` on Docker Hub is `library/nginx`: the name the registry and webhooks use.
      repository: canonicalRepository(hosts.get(img.registry) ?? '', img.repository),
      track,
      intervalMs: img.interval,
      platform: img.platform,
      ...(img.pipeline ? { pipeline: img.pipeline } : {}),
      ...(base ? { base } : {}),
    };
    groups.set(group, [...(groups.get(group) ?? []), watched]);
  }
  for (const img of discovered) groups.set(img.registry, [...(groups.get(img.registry) ?? []), img]);
  return groups;
}

/** Every group's parts (worker/watch-parts.ts): one watch workflow each. */
export function watchParts(
  config: Config,
  discovered: readonly WatchedImage[] = [],
  budgetBytes: number = partBudgetBytes,
): WatchPart[] {
  return [...watchGroups(config, discovered)].flatMap(([group, images]) =>
    partitionWatchGroup(group, images, budgetBytes),
  );
}

export interface ReconcileResult {
  /** Workflow ids of the watches started, configured and stopped. */
  started: string[];
  configured: string[];
  stopped: string[];
  /** Watches with this deployment's ids on another task queue: left alone, and /readyz fails. */
  foreign: ForeignWorkflow[];
}

/**
 * Starts missing watches, sends the current images to every watch, and stops every other watch
 * on this task queue: groups no longer configured, parts a group no longer needs, and watches
 * with the ids used before ids carried the instance. A watch that takes images over from another
 * (a legacy watch, or another part of the group) gets their state, so neither an upgrade nor a
 * change in the number of parts misses a rebuild or rolls one out twice. Every daemon derives the
 * same parts from the same config, and a handed-over state never replaces one a watch checked
 * itself, so several daemons reconciling at once agree.
 */
export async function reconcileWatches(
  client: Client,
  config: Config,
  options: {
    batchWindowMs?: number;
    maxHistoryEvents?: number;
    discovered?: readonly WatchedImage[];
    /** Carried bytes per watch (worker/watch-parts.ts); tests lower it to split small groups. */
    partBudgetBytes?: number;
  } = {},
): Promise<ReconcileResult> {
  const { instance, taskQueue } = config.temporal;
  const parts = watchParts(config, options.discovered, options.partBudgetBytes);
  const result: ReconcileResult = { started: [], configured: [], stopped: [], foreign: [] };
  const expected = new Set(parts.map((part) => watchWorkflowId(instance, part.name)));
  const running = await runningWatches(client, config);
  const holders = await imageHolders(client, running);
  const handovers = new StateHandovers(client);
  for (const part of parts) {
    const workflowId = watchWorkflowId(instance, part.name);
    const owner = await runningTaskQueue(client, workflowId);
    if (owner !== undefined && owner !== taskQueue) {
      // Signalling it would reconfigure another deployment's watch with this config's images.
      result.foreign.push({ workflowId, taskQueue: owner });
      continue;
    }
    const legacy =
      owner === undefined && part.name === part.group
        ? await legacyState(client, taskQueue, part.group)
        : undefined;
    const handover = await handovers.statesFor(workflowId, part.images, holders);
    const { images } = part;
    const input: WatchInput = {
      group: part.name,
      images,
      ...(legacy ? { state: legacy } : {}),
      ...(options.batchWindowMs ? { batchWindowMs: options.batchWindowMs } : {}),
      ...(options.maxHistoryEvents ? { maxHistoryEvents: options.maxHistoryEvents } : {}),
    };
    await client.workflow.signalWithStart('watchWorkflow', {
      workflowId,
      taskQueue,
      args: [input],
      signal: configureSignal,
      signalArgs: handover ? [images, handover] : [images],
      staticSummary: `watch ${part.name}: ${images.length} image${images.length === 1 ? '' : 's'}`,
    });
    (owner === undefined ? result.started : result.configured).push(workflowId);
  }
  for (const workflowId of running) {
    if (expected.has(workflowId)) continue;
    await client.workflow.getHandle(workflowId).signal(stopSignal);
    result.stopped.push(workflowId);
  }
  return result;
}

/** The watch workflows running on this deployment's task queue. */
async function runningWatches(client: Client, config: Config): Promise<string[]> {
  const query = `WorkflowType = 'watchWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${config.temporal.taskQueue}'`;
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

/** Which running watches follow each image, by image name. */
async function imageHolders(client: Client, running: readonly string[]): Promise<Map<string, string[]>> {
  const holders = new Map<string, string[]>();
  for (const workflowId of running) {
    try {
      const names = await client.workflow.getHandle(workflowId).query(watchImagesQuery);
      for (const name of names) holders.set(name, [...(holders.get(name) ?? []), workflowId]);
    } catch {
      // A watch that cannot answer (it just ended) hands nothing over: its images start anew.
    }
  }
  return holders;
}

/** The states of images that move between watches, read once per watch they leave. */
class StateHandovers {
  readonly #client: Client;
  readonly #statuses = new Map<string, Promise<Map<string, ImageState>>>();

  constructor(client: Client) {
    this.#client = client;
  }

  async statesFor(
    workflowId: string,
    images: readonly WatchedImage[],
    holders: ReadonlyMap<string, readonly string[]>,
  ): Promise<Record<string, ImageState> | undefined> {
    const states: Record<string, ImageState> = {};
    for (const img of images) {
      // An image this watch follows already stays; one it does not comes with what another knew.
      const from = holders.get(img.name) ?? [];
      if (from.length === 0 || from.includes(workflowId)) continue;
      const state = (await this.#statusOf(from[0] ?? '')).get(img.name);
      if (state) states[img.name] = state;
    }
    return Object.keys(states).length > 0 ? states : undefined;
  }

  #statusOf(workflowId: string): Promise<Map<string, ImageState>> {
    let status = this.#statuses.get(workflowId);
    if (!status) {
      status = this.#client.workflow
        .getHandle(workflowId)
        .query(watchStatusQuery)
        .then((s) => new Map(s.images.map((i) => [i.image.name, i.state])))
        .catch(() => new Map<string, ImageState>());
      this.#statuses.set(workflowId, status);
    }
    return status;
  }
}

/** What a watch under the id used before ids carried the instance knows, when this task queue runs one. */
async function legacyState(
  client: Client,
  taskQueue: string,
  group: string,
): Promise<Record<string, ImageState> | undefined> {
  const legacyId = legacyWatchWorkflowId(group);
  if ((await runningTaskQueue(client, legacyId)) !== taskQueue) return undefined;
  try {
    const status = await client.workflow.getHandle(legacyId).query(watchStatusQuery);
    return Object.fromEntries(status.images.map((i) => [i.image.name, i.state]));
  } catch {
    // Without its state the new watch starts from a baseline, as a first start does.
    return undefined;
  }
}

/**
 * Sends one checkNow to every running watch that follows a hinted repository: one per watch
 * group and request, however many pushes the request reports (a Quay payload may list tens of
 * thousands of tags). Returns 'ignored' when none matches, so the webhook answers 202 without
 * touching any workflow.
 */
export async function dispatchHints(
  client: Client,
  config: Config,
  hints: readonly WebhookHint[],
  discovered: readonly WatchedImage[] = [],
  partBudget: number = partBudgetBytes,
): Promise<'accepted' | 'ignored'> {
  const registryHosts = new Map(config.registries.map((r) => [r.name, new URL(r.url).host]));
  let matched = false;
  for (const { name: part, images } of watchParts(config, discovered, partBudget)) {
    const byRepository = Map.groupBy(images, (img) => img.repository);
    const concerned = hints.filter((hint) =>
      (byRepository.get(hint.repository) ?? []).some(
        (img) =>
          (hint.registryHost === undefined || sameHost(registryHosts.get(img.registry), hint.registryHost)) &&
          (hint.tag === undefined || !('tag' in img.track) || img.track.tag === hint.tag),
      ),
    );
    if (concerned.length === 0) continue;
    // Only a running watch is signalled: the daemon starts watches with their settings, and a
    // watch started here would take this very push as its baseline instead of rolling it out.
    try {
      await client.workflow
        .getHandle(watchWorkflowId(config.temporal.instance, part))
        .signal(checkNowSignal, checkNowFor(concerned));
      matched = true;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return matched ? 'accepted' : 'ignored';
}

/** More repositories than this in one request, and the whole group is checked instead. */
const maxRepositoriesNamed = 1_000;

/**
 * The one checkNow for a group's hints: the repository (and tag) when they all name the same
 * one, the repositories when several are concerned, or none past `maxRepositoriesNamed`, so the
 * watch checks every image of the group once instead of receiving a signal per push.
 */
export function checkNowFor(hints: readonly WebhookHint[]): CheckNowHint {
  const [first] = hints;
  const source = first?.source ? { source: first.source } : {};
  const repositories = [...new Set(hints.map((h) => h.repository))].sort();
  if (!first || repositories.length > maxRepositoriesNamed) return source;
  if (repositories.length > 1) return { ...source, repositories };
  const tags = new Set(hints.map((h) => h.tag));
  const [tag] = tags;
  return { ...source, repository: first.repository, ...(tags.size === 1 && tag ? { tag } : {}) };
}

/** Registries behind proxies may be addressed by another port or name; a hint's host is advisory. */
function sameHost(configured: string | undefined, hinted: string): boolean {
  if (!configured) return false;
  const strip = (h: string) => h.toLowerCase().replace(/^(localhost|127\.0\.0\.1)/, 'loopback');
  return (
    strip(configured) === strip(hinted) || strip(configured).split(':')[0] === strip(hinted).split(':')[0]
  );
}

/**
 * Every watch's status; a registry's own group is asked too, as the inventory's images join it.
 * A group's further parts are found by asking `<group>/1`, `<group>/2`, … until one is not
 * running: the inventory's images can split a group the config alone would not.
 */
export async function watchStatuses(client: Client, config: Config): Promise<WatchStatus[]> {
  const out: WatchStatus[] = [];
  const groups = new Set([...watchGroups(config).keys(), ...config.registries.map((r) => r.name)]);
  for (const group of groups) {
    try {
      const handle = client.workflow.getHandle(watchWorkflowId(config.temporal.instance, group));
      out.push(await handle.query(watchStatusQuery));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      continue;
    }
    for (let part = 1; ; part++) {
      const handle = client.workflow.getHandle(
        watchWorkflowId(config.temporal.instance, watchPartName(group, part)),
      );
      try {
        if ((await handle.describe()).status.name !== 'RUNNING') break;
        out.push(await handle.query(watchStatusQuery));
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        break;
      }
    }
  }
  return out;
}
