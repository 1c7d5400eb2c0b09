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
  watchStatusQuery,
  watchWorkflowId,
} from '../workflows/watch-messages.ts';
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
 * on this task queue: groups no longer configured, and watches with the ids used before ids
 * carried the instance. A new watch takes over such a watch's state, so an upgrade neither
 * misses a rebuild nor rolls one out twice.
 */
export async function reconcileWatches(
  client: Client,
  config: Config,
  options: { batchWindowMs?: number; maxHistoryEvents?: number; discovered?: readonly WatchedImage[] } = {},
): Promise<ReconcileResult> {
  const { instance, taskQueue } = config.temporal;
  const groups = watchGroups(config, options.discovered);
  const result: ReconcileResult = { started: [], configured: [], stopped: [], foreign: [] };
  const expected = new Set<string>();
  for (const [group, images] of groups) {
    const workflowId = watchWorkflowId(instance, group);
    expected.add(workflowId);
    const owner = await runningTaskQueue(client, workflowId);
    if (owner !== undefined && owner !== taskQueue) {
      // Signalling it would reconfigure another deployment's watch with this config's images.
      result.foreign.push({ workflowId, taskQueue: owner });
      continue;
    }
    const state = owner === undefined ? await legacyState(client, taskQueue, group) : undefined;
    const input: WatchInput = {
      group,
      images,
      ...(state ? { state } : {}),
      ...(options.batchWindowMs ? { batchWindowMs: options.batchWindowMs } : {}),
      ...(options.maxHistoryEvents ? { maxHistoryEvents: options.maxHistoryEvents } : {}),
    };
    await client.workflow.signalWithStart('watchWorkflow', {
      workflowId,
      taskQueue,
      args: [input],
      signal: configureSignal,
      signalArgs: [images],
      staticSummary: `watch ${group}: ${images.length} image${images.length === 1 ? '' : 's'}`,
    });
    (owner === undefined ? result.started : result.configured).push(workflowId);
  }
  const query = `WorkflowType = 'watchWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;
  for await (const wf of client.workflow.list({ query })) {
    if (expected.has(wf.workflowId)) continue;
    await client.workflow.getHandle(wf.workflowId).signal(stopSignal);
    result.stopped.push(wf.workflowId);
  }
  return result;
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
): Promise<'accepted' | 'ignored'> {
  const registryHosts = new Map(config.registries.map((r) => [r.name, new URL(r.url).host]));
  let matched = false;
  for (const [group, images] of watchGroups(config, discovered)) {
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
        .getHandle(watchWorkflowId(config.temporal.instance, group))
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

/** Every watch's status; a registry's own group is asked too, as the inventory's images join it. */
export async function watchStatuses(client: Client, config: Config): Promise<WatchStatus[]> {
  const out: WatchStatus[] = [];
  const groups = new Set([...watchGroups(config).keys(), ...config.registries.map((r) => r.name)]);
  for (const group of groups) {
    try {
      const handle = client.workflow.getHandle(watchWorkflowId(config.temporal.instance, group));
      out.push(await handle.query(watchStatusQuery));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return out;
}
