// Waits for the deployment controller to finish rolling a Deployment out, driven by a Kubernetes
// watch so a finished rollout is seen at once, with a slow re-read in case the watch goes quiet.
import { setTimeout as sleep } from 'node:timers/promises';
import { Watch } from '@kubernetes/client-node';
import { asyncLocalStorage } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { KubernetesClients } from './clients.ts';
import { containerImage, type DeploymentState, parseDeployment, readDeployment } from './deployment.ts';
import { describePods, diagnosePods } from './diagnose.ts';
import { apiStatus, deploymentNotFound, kubernetesFailure } from './errors.ts';
import { type RolloutVerdict, rolloutVerdict } from './readiness.ts';
import { imageRevertedFailure } from './reverted.ts';
import type { AwaitInput, AwaitResult } from './types.ts';

/** Longest stretch on one watch before a fresh read; also the heartbeat cadence while nothing moves. */
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
  // Heartbeats and cancellation exist only inside an activity; tests call this directly too.
  const activity = asyncLocalStorage.getStore();
  const signal = options.signal ?? activity?.cancellationSignal;
  const { namespace, deployment, container } = input.ref;
  const started = Date.now();
  const deadline = Math.min(started + input.timeoutMs, input.deadlineAt ?? Number.POSITIVE_INFINITY);
  const judge = (d: DeploymentState) => {
    const verdict = rolloutVerdict(d, container, input.image);
    activity?.heartbeat(verdict.progress);
    return verdict;
  };
  const read = async () => {
    signal?.throwIfAborted();
    const d = await readDeployment(clients, namespace, deployment);
    if (!d) throw deploymentNotFound(clients.name, namespace, deployment);
    return d;
  };

  let d = await read();
  for (;;) {
    const verdict = judge(d);
    if (verdict.state === 'done') {
      return { ready: true, generation: d.metadata.generation, readyReplicas: d.status.readyReplicas };
    }
    if (verdict.state === 'replaced') {
      const object = { kind: 'Deployment', ...d, managedFields: d.metadata.managedFields };
      throw imageRevertedFailure(clients.name, object, container, input.image, containerImage(d, container));
    }
    if (verdict.state !== 'waiting') throw await notReady(clients, input, d, verdict, started);
    const left = deadline - Date.now();
    if (left <= 0) throw await notReady(clients, input, d, verdict, started);
    const watchStarted = Date.now();
    const seen = await watchDeployment(
      clients,
      d,
      Math.min(left, rereadMs),
      signal,
      (x) => judge(x).state !== 'waiting',
    );
    if (seen) {
      d = seen;
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

/**
 * Watches one Deployment from the version just read, so no change in between is missed.
 * Resolves with the first object `decisive` accepts, or undefined when `ms` pass or the watch ends
 * (expired resourceVersion, server-side close, deletion): the caller then reads afresh.
 */
function watchDeployment(
  clients: KubernetesClients,
  d: DeploymentState,
  ms: number,
  signal: AbortSignal | undefined,
  decisive: (d: DeploymentState) => boolean,
): Promise<DeploymentState | undefined> {
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
    const path = `/apis/apps/v1/namespaces/${encodeURIComponent(d.namespace)}/deployments`;
    const query = { fieldSelector: `metadata.name=${d.name}`, resourceVersion: d.metadata.resourceVersion };
    const onEvent = (type: string, object: unknown) => {
      if (type === 'ADDED' || type === 'MODIFIED') {
        const next = parseDeployment(object, d.namespace);
        if (decisive(next)) finish(() => resolve(next));
      } else if (type === 'DELETED' || type === 'ERROR') finish(() => resolve(undefined));
    };
    const onEnd = (err: unknown) => {
      const status = apiStatus(err);
      if (status === 401 || status === 403) {
        finish(() =>
          reject(kubernetesFailure(clients.name, `watch Deployment ${d.namespace}/${d.name}`, err)),
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
  d: DeploymentState,
  verdict: RolloutVerdict,
  started: number,
): Promise<ApplicationFailure> {
  const elapsedMs = Date.now() - started;
  const pods = await diagnosePods(clients, d);
  const why = 'reason' in verdict ? verdict.reason : undefined;
  const state = pods ? describePods(pods, d.spec.replicas) : verdict.progress;
  const where = `${d.namespace}/${d.name}`;
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
        observedGeneration: d.status.observedGeneration,
        desiredReplicas: d.spec.replicas,
        updatedReplicas: d.status.updatedReplicas,
        readyReplicas: d.status.readyReplicas,
        availableReplicas: d.status.availableReplicas,
        ...(pods ? { pods } : {}),
      },
    ],
  });
}
