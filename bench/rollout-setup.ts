// What the rollout benchmarks (overhead, rollback, recovery) share: namespaces of the run's own
// with Deployments on KWOK, a namespace-wide watch that timestamps every version of every
// Deployment as the benchmark sees it, a config for the stack, and the activity timeline of a
// workflow read back from its history.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { Watch } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { type DeploymentState, parseDeployment } from '../activities/kubernetes/deployment.ts';
import { rolloutVerdict } from '../activities/kubernetes/readiness.ts';
import { type Config, configSchema } from '../config/schema.ts';
import { auditLogFile, type Endpoints } from '../stack/layout.ts';
import { apiserverRequestTotals } from '../test/support/apiserver-requests.ts';
import { createNamespace, deleteNamespace, deploymentManifest, type Kube } from '../test/support/kube.ts';
import type { Progress } from './harness.ts';

export { type Kube, kubeClients } from '../test/support/kube.ts';

/** The only container of a benchmark Deployment (deploymentManifest names it after the Deployment). */
export const containerOf = (d: DeploymentState) => d.spec.template.spec.containers[0]?.name ?? '';
export const imageOf = (d: DeploymentState) => d.spec.template.spec.containers[0]?.image ?? '';

/** Freshet's own definition of done (activities/kubernetes/readiness.ts), for `image`. */
export const rolledOut = (d: DeploymentState | undefined, image: string) =>
  d !== undefined && rolloutVerdict(d, containerOf(d), image).state === 'done';

/** Creates a namespace with `names` Deployments running `image`, `concurrency` creates at a time. */
export async function createDeployments(
  kube: Kube,
  namespace: string,
  names: readonly string[],
  image: string,
  opts: {
    replicas?: number;
    progressDeadlineSeconds?: number;
    /** Extra labels on the Deployment (not its pods), for selector targets. */
    labels?: Record<string, string>;
    concurrency?: number;
  } = {},
): Promise<void> {
  await createNamespace(kube, namespace);
  let next = 0;
  const createNext = async () => {
    for (let name = names[next++]; name !== undefined; name = names[next++]) {
      const body = deploymentManifest({
        name,
        image,
        replicas: opts.replicas ?? 1,
        ...(opts.progressDeadlineSeconds ? { progressDeadlineSeconds: opts.progressDeadlineSeconds } : {}),
      });
      body.metadata = { ...body.metadata, labels: { ...body.metadata?.labels, ...opts.labels } };
      await kube.apps.createNamespacedDeployment({ namespace, body });
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 10 }, createNext));
}

/** Sets the only container of one Deployment to `image`: what `kubectl set image` changes. */
export async function setImage(kube: Kube, namespace: string, name: string, image: string): Promise<void> {
  await kube.apps.patchNamespacedDeployment({
    namespace,
    name,
    body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }],
  });
}

export interface Seen {
  /** Date.now() when the benchmark received this version (list or watch event). */
  at: number;
  d: DeploymentState;
}

export type Latest = ReadonlyMap<string, DeploymentState>;

export interface NamespaceWatch {
  readonly namespace: string;
  latest(): Latest;
  /** Every version of `name` seen, oldest first. */
  versions(name: string): Seen[];
  /** When `name` was first seen matching `test`, at or after `since` (ms). */
  firstSeen(name: string, test: (d: DeploymentState) => boolean, since?: number): number | undefined;
  /** Resolves with the first value `check` returns over the latest versions; re-checked on every event. */
  until<T>(what: string, check: (latest: Latest) => T | undefined | false, timeoutMs: number): Promise<T>;
  close(): void;
}

interface Waiter {
  check: (latest: Latest) => unknown;
  resolve: (value: unknown) => void;
}

/**
 * List, then watch from the list's resourceVersion (with bookmarks), so no version in between is
 * missed; a watch that ends is resumed from the last version seen, or re-listed on 410 Gone.
 */
export async function watchNamespace(kube: Kube, namespace: string): Promise<NamespaceWatch> {
  const latest = new Map<string, DeploymentState>();
  const versions = new Map<string, Seen[]>();
  const waiters = new Set<Waiter>();
  let resourceVersion = '';
  let closed = false;
  let controller: AbortController | undefined;

  const record = (raw: unknown, at: number) => {
    const d = parseDeployment(raw, namespace);
    const before = latest.get(d.name);
    if (before?.metadata.resourceVersion === d.metadata.resourceVersion) return;
    latest.set(d.name, d);
    const list = versions.get(d.name) ?? [];
    list.push({ at, d });
    versions.set(d.name, list);
  };
  const evaluate = () => {
    for (const w of waiters) {
      const value = w.check(latest);
      if (value !== undefined && value !== false) {
        waiters.delete(w);
        w.resolve(value);
      }
    }
  };
  const list = async () => {
    const at = Date.now();
    const result = await kube.apps.listNamespacedDeployment({ namespace });
    for (const item of result.items) record(item, at);
    resourceVersion = result.metadata?.resourceVersion ?? '';
    evaluate();
  };
  const watch = async (): Promise<void> => {
    if (closed) return;
    let gone = false;
    const restart = () => {
      if (closed) return;
      setTimeout(() => {
        const again = gone ? list().then(watch) : watch();
        again.catch(() => setTimeout(() => void list().then(watch, () => undefined), 500));
      }, 50);
    };
    const c = await new Watch(kube.config)
      .watch(
        `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments`,
        { resourceVersion, allowWatchBookmarks: true },
        (type: string, object: unknown) => {
          const at = Date.now();
          const meta = (object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata;
          if (type === 'ERROR') {
            gone = true;
            return;
          }
          if (meta?.resourceVersion) resourceVersion = meta.resourceVersion;
          if (type === 'BOOKMARK') return;
          if (type === 'DELETED') {
            const name = (object as { metadata?: { name?: string } }).metadata?.name;
            if (name) latest.delete(name);
          } else record(object, at);
          evaluate();
        },
        () => restart(),
      )
      .catch(() => {
        restart();
        return undefined;
      });
    controller = c;
    if (closed) c?.abort();
  };
  await list();
  await watch();

  return {
    namespace,
    latest: () => latest,
    versions: (name) => versions.get(name) ?? [],
    firstSeen(name, test, since = 0) {
      return (versions.get(name) ?? []).find((v) => v.at >= since && test(v.d))?.at;
    },
    until<T>(what: string, check: (l: Latest) => T | undefined | false, timeoutMs: number) {
      return new Promise<T>((resolve, reject) => {
        const now = check(latest);
        if (now !== undefined && now !== false) return resolve(now);
        const waiter: Waiter = {
          check,
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ${namespace}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close() {
      closed = true;
      controller?.abort();
    },
  };
}

/**
 * The SDK logs every failed activity at WARN with its stack; a benchmark that fails rollouts on
 * purpose would bury its progress lines under them. Drops those of the given failure types only.
 */
export function muteActivityFailures(types: readonly string[]): void {
  const logger = Runtime.instance().logger;
  const warn = logger.warn.bind(logger);
  logger.warn = (message, meta) => {
    const type = (meta?.error as { type?: unknown } | undefined)?.type;
    if (message === 'Activity failed' && typeof type === 'string' && types.includes(type)) return;
    warn(message, meta);
  };
}

/** Waits until each of `names` exists and has rolled out `image` (by its own verdict). */
export function allRolledOut(
  watch: NamespaceWatch,
  names: readonly string[],
  image: (name: string) => string,
  timeoutMs: number,
): Promise<true> {
  return watch.until(
    `${names.length} Deployments rolled out`,
    (latest) => names.every((n) => rolledOut(latest.get(n), image(n))),
    timeoutMs,
  );
}

/**
 * The apiserver's own request counter (apiserver_request_total, every client, every status),
 * summed per `resource VERB`. Read before and after a variant, the difference is what the variant
 * cost the apiserver, plus whatever else used the stack meanwhile.
 */
export function apiserverRequests(kube: Kube): Promise<Map<string, number>> {
  return apiserverRequestTotals(kube, (l) => `${l.resource ?? ''} ${l.verb ?? ''}`);
}

/** Where the audit log ends now; undefined when the stack writes none (FRESHET_STACK_AUDIT unset). */
export function auditMark(): number | undefined {
  return existsSync(auditLogFile) ? statSync(auditLogFile).size : undefined;
}

/**
 * The requests the audit log recorded since `mark`, per `client verb resource`: the client is the
 * user agent's program (`freshet`, `kube-scheduler`, `kwok`, …; the controller manager's with the
 * controller whose ServiceAccount it used), so Freshet's own requests are told apart from what
 * the controllers do because of them.
 */
export function auditSince(mark: number | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  if (mark === undefined || !existsSync(auditLogFile)) return counts;
  const end = statSync(auditLogFile).size;
  if (end <= mark) return counts;
  const buffer = Buffer.alloc(end - mark);
  const fd = openSync(auditLogFile, 'r');
  try {
    readSync(fd, buffer, 0, buffer.length, mark);
  } finally {
    closeSync(fd);
  }
  for (const line of buffer.toString('utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let e: {
      stage?: string;
      verb?: string;
      userAgent?: string;
      user?: { username?: string };
      objectRef?: { resource?: string; subresource?: string };
    };
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (e.stage !== 'ResponseComplete') continue;
    const program = (e.userAgent ?? '?').split('/')[0] ?? '?';
    const sa = /^system:serviceaccount:kube-system:(.+)$/.exec(e.user?.username ?? '')?.[1];
    const client = program === 'kube-controller-manager' && sa ? `kcm:${sa}` : program;
    const ref = e.objectRef;
    const resource = ref
      ? `${ref.resource ?? ''}${ref.subresource ? `/${ref.subresource}` : ''}`
      : 'nonresource';
    const key = `${client} ${e.verb ?? '?'} ${resource}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** after − before, per key and in total. */
export function requestsBetween(before: Map<string, number>, after: Map<string, number>) {
  const delta = new Map<string, number>();
  let total = 0;
  for (const [key, value] of after) {
    const d = value - (before.get(key) ?? 0);
    if (d <= 0) continue;
    delta.set(key, d);
    total += d;
  }
  return { total, of: (key: string) => delta.get(key) ?? 0, delta };
}

/** An image of the benchmark's, rolled out by `pipeline`; its watch polls once a day, so only the benchmark requests rollouts. */
export interface BenchImage {
  name: string;
  repository: string;
  tag: string;
  pipeline: string;
}

/**
 * A config with one registry (the stack's anonymous one), the stack's cluster as `local`, and the
 * given images: the daemon refuses to roll out an image its config does not name for the pipeline.
 */
export function rolloutConfig(
  stack: Endpoints,
  opts: {
    registry: string;
    taskQueue: string;
    pipelines: Record<string, unknown>;
    images?: BenchImage[];
    /** The config's `worker` section (its defaults when absent). */
    worker?: unknown;
  },
): Config {
  return configSchema.parse({
    temporal: { address: stack.temporal.address, taskQueue: opts.taskQueue },
    ...(opts.worker === undefined ? {} : { worker: opts.worker }),
    registries: [{ name: opts.registry, url: stack.registry.url }],
    clusters: { local: { kubeconfig: stack.kubernetes.kubeconfig, context: stack.kubernetes.context } },
    images: (opts.images ?? []).map((i) => ({
      name: i.name,
      registry: opts.registry,
      repository: i.repository,
      track: { tag: i.tag },
      pipeline: i.pipeline,
      interval: '24h',
    })),
    pipelines: opts.pipelines,
  });
}

/** FRESHET_BENCH_OVERHEAD_WORKER: the daemon's `worker` settings as JSON, such as `{"eagerActivities":100}`. */
export function workerSettings(progress: Progress): { worker?: unknown } {
  const raw = process.env.FRESHET_BENCH_OVERHEAD_WORKER;
  if (!raw) return {};
  progress(`worker settings ${raw}`);
  return { worker: JSON.parse(raw) as unknown };
}

/** Waits until the workflow exists (it is started by the pipeline workflow), then for its result. */
export async function rolloutResult<T>(client: Client, workflowId: string, timeoutMs: number): Promise<T> {
  const handle = client.workflow.getHandle(workflowId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exists = await handle.describe().then(
      () => true,
      () => false,
    );
    if (exists) break;
    if (Date.now() > deadline) throw new Error(`${workflowId} did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return (await handle.result()) as T;
}

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

export function eventMs(ts: Timestamp): number {
  if (!ts) return Number.NaN;
  const s = ts.seconds as number | { toNumber(): number } | null | undefined;
  const seconds = typeof s === 'number' ? s : s ? s.toNumber() : 0;
  return seconds * 1000 + (ts.nanos ?? 0) / 1e6;
}

export interface ActivityRun {
  type: string;
  /** The first argument, decoded (the default converter writes JSON). */
  input?: unknown;
  scheduled: number;
  started?: number;
  completed?: number;
  /** Attempt of the run that completed (1 unless retried). */
  attempt?: number;
  /** Why the attempt before it ended (retried activities only). */
  lastFailure?: string;
  outcome?: 'completed' | 'failed' | 'timed_out' | 'canceled';
}

export interface Timeline {
  started: number;
  closed?: number;
  activities: ActivityRun[];
  workflowTasks: { scheduled: number; started?: number; completed?: number; timedOut?: number }[];
}

/** Event times of a workflow's history (the Temporal server's clock, the same machine's). */
export async function timelineOf(client: Client, workflowId: string): Promise<Timeline> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const byId = new Map<string, ActivityRun>();
  const tasks: Timeline['workflowTasks'] = [];
  const timeline: Timeline = { started: Number.NaN, activities: [], workflowTasks: tasks };
  for (const e of events) {
    const at = eventMs(e.eventTime as Timestamp);
    const id = String(e.eventId);
    if (e.workflowExecutionStartedEventAttributes) timeline.started = at;
    if (
      e.workflowExecutionCompletedEventAttributes ||
      e.workflowExecutionFailedEventAttributes ||
      e.workflowExecutionTerminatedEventAttributes
    )
      timeline.closed = at;
    if (e.workflowTaskScheduledEventAttributes) tasks.push({ scheduled: at });
    const last = tasks.at(-1);
    if (last && e.workflowTaskStartedEventAttributes) last.started = at;
    if (last && e.workflowTaskCompletedEventAttributes) last.completed = at;
    if (last && e.workflowTaskTimedOutEventAttributes) last.timedOut = at;
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const run: ActivityRun = {
        type: scheduled.activityType?.name ?? '',
        scheduled: at,
        input: decodeJson(scheduled.input?.payloads?.[0]?.data),
      };
      byId.set(id, run);
      timeline.activities.push(run);
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const run = byId.get(String(started.scheduledEventId));
      if (run) {
        run.started = at;
        run.attempt = started.attempt ?? 1;
        if (started.lastFailure?.message) run.lastFailure = started.lastFailure.message;
      }
    }
    const ends = [
      ['completed', e.activityTaskCompletedEventAttributes],
      ['failed', e.activityTaskFailedEventAttributes],
      ['timed_out', e.activityTaskTimedOutEventAttributes],
      ['canceled', e.activityTaskCanceledEventAttributes],
    ] as const;
    for (const [outcome, attrs] of ends) {
      if (!attrs) continue;
      const run = byId.get(String(attrs.scheduledEventId));
      if (run) {
        run.completed = at;
        run.outcome = outcome;
      }
    }
  }
  return timeline;
}

function decodeJson(data: Uint8Array | null | undefined): unknown {
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The Deployment an activity of the rollout workflow worked on (its input's `ref`). */
export const deploymentOf = (run: ActivityRun) =>
  (run.input as { ref?: { deployment?: string } } | undefined)?.ref?.deployment;

/** Terminates what is still running; a workflow that already closed (or never started) is fine. */
export async function terminateAll(client: Client, workflowIds: Iterable<string>, reason: string) {
  for (const id of workflowIds) {
    await client.workflow
      .getHandle(id)
      .terminate(reason)
      .catch(() => undefined);
  }
}

/** Deletes the run's namespaces and waits (up to 2 min) until they are gone, so the next benchmark starts quiet. */
export async function removeNamespaces(kube: Kube, namespaces: string[], progress: Progress) {
  await Promise.all(namespaces.map((ns) => deleteNamespace(kube, ns)));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const left = await Promise.all(
      namespaces.map((name) =>
        kube.core.readNamespace({ name }).then(
          () => name,
          () => undefined,
        ),
      ),
    );
    if (left.every((x) => x === undefined)) return;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  progress(`namespaces still terminating after 2 min: ${namespaces.join(', ')}`);
}
