// Waits for a workload's controller to finish rolling it out (a CronJob: for its next Job, when
// asked), driven by a Kubernetes watch so a finished rollout is seen at once, with a slow re-read
// in case the watch goes quiet.
import { setTimeout as sleep } from 'node:timers/promises';
import { Watch } from '@kubernetes/client-node';
import { asyncLocalStorage } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { KubernetesClients } from './clients.ts';
import { describePods, diagnosePods } from './diagnose.ts';
import { apiStatus, deploymentNotFound, kubernetesFailure } from './errors.ts';
import { podSpecPaths } from './field-managers.ts';
import { heartbeating } from './heartbeat.ts';
import { type JobState, parseJob, type RolloutVerdict, workloadVerdict } from './readiness.ts';
import { imageRevertedFailure } from './reverted.ts';
import type { WatchedObjects } from './shared-watches.ts';
import type { AwaitInput, AwaitResult } from './types.ts';
import {
  containerImage,
  kindOf,
  parseWorkload,
  readWorkload,
  resourcePaths,
  type WorkloadState,
  workloadContainers,
  workloadLabel,
} from './workload.ts';

/** Longest stretch on one watch before a fresh read, in case the watch goes quiet. */
const rereadMs = 5_000;
/** A watch that ends sooner than this is failing; wait before the next one instead of spinning. */
const minWatchMs = 1_000;

export interface AwaitOptions {
  /** Cancellation outside an activity; inside one, the activity's cancellation is used. */
  signal?: AbortSignal;
}

export async function awaitDeploymentReady(
  clients: KubernetesClients,
  input: AwaitInput,
  options: AwaitOptions = {},
): Promise<AwaitResult> {
  // Heartbeats carry the latest progress and go on whether or not anything moves, so a short
  // heartbeat timeout tells a dead worker from a slow rollout.
  return heartbeating((report) => awaitReady(clients, input, options, report));
}

async function awaitReady(
  clients: KubernetesClients,
  input: AwaitInput,
  options: AwaitOptions,
  onProgress: (progress: string) => void,
): Promise<AwaitResult> {
  // Cancellation exists only inside an activity; tests call this directly too.
  const signal = options.signal ?? asyncLocalStorage.getStore()?.cancellationSignal;
  const { namespace, deployment, container } = input.ref;
  const kind = kindOf(input.ref);
  // The wait began when the wave asked for it (deadlineAt less the timeout), which is earlier
  // than this activity's start when a busy worker picked it up late: "not ready after 20s"
  // counts from there, so it names the stage's timeout however long the task queued.
  const started = Math.min(
    Date.now(),
    input.deadlineAt === undefined ? Number.POSITIVE_INFINITY : input.deadlineAt - input.timeoutMs,
  );
  const deadline = Math.min(started + input.timeoutMs, input.deadlineAt ?? Number.POSITIVE_INFINITY);
  // Only a CronJob awaiting its next Job reads Jobs; its own object changes as they start and end.
  const needsJobs = kind === 'CronJob' && input.awaitNextJob === true;
  let jobs: JobState[] = [];
  const judge = (d: WorkloadState) => {
    const verdict = workloadVerdict(d, container, input.image, { awaitNextJob: needsJobs, jobs });
    onProgress(verdict.progress);
    return verdict;
  };
  const readJobs = async () => {
    if (!needsJobs) return;
    try {
      jobs = (await clients.batch.listNamespacedJob({ namespace })).items.map(parseJob);
    } catch (err) {
      throw kubernetesFailure(clients.name, `list Jobs in ${namespace}`, err);
    }
  };
  const read = async () => {
    signal?.throwIfAborted();
    const d = await readWorkload(clients, kind, namespace, deployment);
    if (!d) throw deploymentNotFound(clients.name, namespace, deployment, kind);
    await readJobs();
    return d;
  };

  // The wave's other waits share this watch; undefined when it cannot be had (RBAC, errors).
  const shared = await clients.watches?.objects(kind, namespace);
  // Its copy will do once it shows the awaited image (that is our patch or later); an older copy
  // would look replaced. The patch's own event is usually on its way: wait for it briefly, then
  // ask the apiserver.
  const cached = shared?.healthy()
    ? await sharedCopy(
        shared,
        kind,
        namespace,
        deployment,
        (w) => containerImage(w, container) === input.image,
      )
    : undefined;
  let d: WorkloadState;
  if (cached) {
    d = cached;
    await readJobs();
  } else d = await read();
  for (;;) {
    const verdict = judge(d);
    if (verdict.state === 'done') {
      return { ready: true, generation: d.metadata.generation, readyReplicas: readyCount(d) };
    }
    if (verdict.state === 'replaced') {
      const object = { ...d, managedFields: d.metadata.managedFields };
      const where = workloadContainers(d).find((c) => c.name === container);
      throw imageRevertedFailure(clients.name, object, container, input.image, where?.image, {
        podSpecPath: d.kind === 'CronJob' ? podSpecPaths.cronJob : podSpecPaths.template,
        list: where?.list ?? 'containers',
      });
    }
    if (verdict.state !== 'waiting') throw await notReady(clients, input, d, verdict, started);
    const left = deadline - Date.now();
    if (left <= 0) throw await notReady(clients, input, d, verdict, started);
    const decisive = (x: WorkloadState) => needsJobs || judge(x).state !== 'waiting';
    if (shared?.healthy()) {
      const seen = await awaitShared(shared, d, Math.min(left, rereadMs), signal, decisive);
      // Gone from the watch: read it, so a deleted workload fails as not found.
      d = seen ?? (shared.get(d.name) ? d : await read());
      if (seen) await readJobs();
      continue;
    }
    const watchStarted = Date.now();
    const seen = await watchWorkload(clients, d, Math.min(left, rereadMs), signal, decisive);
    if (seen) {
      d = seen;
      await readJobs();
      continue;
    }
    const spent = Date.now() - watchStarted;
    if (spent < minWatchMs) {
      const pause = Math.min(minWatchMs - spent, Math.max(0, deadline - Date.now()));
      // Rethrow the caller's reason (CancelledFailure in an activity), not the timer's AbortError.
      await sleep(pause, undefined, { signal }).catch((err: unknown) => {
        signal?.throwIfAborted();
        throw err;
      });
    }
    d = await read();
  }
}

function readyCount(d: WorkloadState): number {
  if (d.kind === 'Deployment' || d.kind === 'StatefulSet') return d.status.readyReplicas;
  return d.kind === 'DaemonSet' ? d.status.numberReady : 0;
}

/** How long a wait gives the shared watch to deliver the version its patch made. */
const patchEventMs = 2_000;

/** The shared watch's copy of the workload once `wanted` holds for it, or undefined after patchEventMs. */
function sharedCopy(
  shared: WatchedObjects,
  kind: WorkloadState['kind'],
  namespace: string,
  name: string,
  wanted: (w: WorkloadState) => boolean,
): Promise<WorkloadState | undefined> {
  const judge = (raw: unknown) => {
    const w = parseWorkload(kind, raw, namespace);
    return w.name === name && wanted(w) ? w : undefined;
  };
  const now = shared.get(name);
  const found = now ? judge(now) : undefined;
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    const done = (w: WorkloadState | undefined) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(w);
    };
    const timer = setTimeout(() => done(undefined), patchEventMs);
    const unsubscribe = shared.subscribe((object, type) => {
      if (type === 'delete') return;
      const w = judge(object);
      if (w) done(w);
    });
  });
}

/**
 * Waits on the shared watch for a version of `d` at least as new as `d` (a lower generation is an
 * older spec, seen before the patch), resolving with the first one `decisive` accepts, or with the
 * newest seen when `ms` pass: nothing is read from the apiserver.
 */
function awaitShared(
  shared: WatchedObjects,
  d: WorkloadState,
  ms: number,
  signal: AbortSignal | undefined,
  decisive: (d: WorkloadState) => boolean,
): Promise<WorkloadState | undefined> {
  return new Promise((resolve, reject) => {
    let newest: WorkloadState | undefined;
    let unsubscribe = () => {};
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      unsubscribe();
      settle();
    };
    const onAbort = () => finish(() => reject(signal?.reason));
    const consider = (object: unknown) => {
      const next = parseWorkload(d.kind, object, d.namespace);
      if (next.name !== d.name || next.metadata.generation < d.metadata.generation) return false;
      if (next.metadata.resourceVersion === d.metadata.resourceVersion) return false;
      newest = next;
      if (!decisive(next)) return false;
      finish(() => resolve(next));
      return true;
    };
    const timer = setTimeout(() => finish(() => resolve(newest)), ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    unsubscribe = shared.subscribe((object, type) => {
      const name = (object as { metadata?: { name?: string } }).metadata?.name;
      if (settled || name !== d.name) return;
      if (type === 'delete') {
        settled = true;
        finish(() => resolve(undefined));
      } else settled = consider(object);
    });
    // Whatever the watch saw between the caller's read and the subscription.
    const now = shared.get(d.name);
    if (now) settled = consider(now);
  });
}

/**
 * Watches one workload from the version just read, so no change in between is missed.
 * Resolves with the first object `decisive` accepts, or undefined when `ms` pass or the watch ends
 * (expired resourceVersion, server-side close, deletion): the caller then reads afresh.
 */
function watchWorkload(
  clients: KubernetesClients,
  d: WorkloadState,
  ms: number,
  signal: AbortSignal | undefined,
  decisive: (d: WorkloadState) => boolean,
): Promise<WorkloadState | undefined> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let controller: AbortController | undefined;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      controller?.abort();
      settle();
    };
    const onAbort = () => finish(() => reject(signal?.reason));
    const timer = setTimeout(() => finish(() => resolve(undefined)), ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const { group, plural } = resourcePaths[d.kind];
    const path = `${group}/namespaces/${encodeURIComponent(d.namespace)}/${plural}`;
    const query = { fieldSelector: `metadata.name=${d.name}`, resourceVersion: d.metadata.resourceVersion };
    const onEvent = (type: string, object: unknown) => {
      if (type === 'ADDED' || type === 'MODIFIED') {
        const next = parseWorkload(d.kind, object, d.namespace);
        if (decisive(next)) finish(() => resolve(next));
      } else if (type === 'DELETED' || type === 'ERROR') finish(() => resolve(undefined));
    };
    const onEnd = (err: unknown) => {
      const status = apiStatus(err);
      if (status === 401 || status === 403) {
        finish(() =>
          reject(kubernetesFailure(clients.name, `watch ${d.kind} ${d.namespace}/${d.name}`, err)),
        );
      } else finish(() => resolve(undefined));
    };
    new Watch(clients.config).watch(path, query, onEvent, onEnd).then((c) => {
      controller = c;
      if (settled) c.abort();
    }, onEnd);
  });
}

const seconds = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
};

/** Non-retryable: another attempt would wait for the same broken pods; the workflow rolls back. */
async function notReady(
  clients: KubernetesClients,
  input: AwaitInput,
  d: WorkloadState,
  verdict: RolloutVerdict,
  started: number,
): Promise<ApplicationFailure> {
  const elapsedMs = Date.now() - started;
  const pods = await diagnosePods(clients, d);
  const why = 'reason' in verdict ? verdict.reason : undefined;
  const desired = desiredCount(d);
  const state = pods && desired !== undefined ? describePods(pods, desired) : verdict.progress;
  const where = `${d.namespace}/${workloadLabel(d.kind, d.name)}`;
  return ApplicationFailure.create({
    message: `${where} not ready after ${seconds(elapsedMs)}: ${why ? `${why}; ` : ''}${state}`,
    type: 'DeploymentNotReady',
    nonRetryable: true,
    details: [
      {
        ...input.ref,
        image: input.image,
        reason: verdict.state === 'waiting' ? 'timeout' : verdict.state,
        elapsedMs,
        generation: d.metadata.generation,
        ...statusDetails(d),
        ...(pods ? { pods } : {}),
      },
    ],
  });
}

function desiredCount(d: WorkloadState): number | undefined {
  if (d.kind === 'Deployment' || d.kind === 'StatefulSet') return d.spec.replicas;
  return d.kind === 'DaemonSet' ? d.status.desiredNumberScheduled : undefined;
}

function statusDetails(d: WorkloadState): Record<string, unknown> {
  switch (d.kind) {
    case 'Deployment':
      return {
        observedGeneration: d.status.observedGeneration,
        desiredReplicas: d.spec.replicas,
        updatedReplicas: d.status.updatedReplicas,
        readyReplicas: d.status.readyReplicas,
        availableReplicas: d.status.availableReplicas,
      };
    case 'StatefulSet':
      return {
        kind: d.kind,
        observedGeneration: d.status.observedGeneration,
        desiredReplicas: d.spec.replicas,
        partition: d.spec.updateStrategy.rollingUpdate?.partition ?? 0,
        updatedReplicas: d.status.updatedReplicas,
        readyReplicas: d.status.readyReplicas,
        currentRevision: d.status.currentRevision,
        updateRevision: d.status.updateRevision,
      };
    case 'DaemonSet':
      return {
        kind: d.kind,
        observedGeneration: d.status.observedGeneration,
        desiredNumberScheduled: d.status.desiredNumberScheduled,
        updatedNumberScheduled: d.status.updatedNumberScheduled,
        numberAvailable: d.status.numberAvailable,
      };
    case 'CronJob':
      return { kind: d.kind, schedule: d.spec.schedule };
  }
}
