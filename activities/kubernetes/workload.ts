// The workload kinds a target may name, one small adapter each: where the pod template is, how to
// read, list and patch the object, and the status fields readiness depends on. Everything is
// parsed at the edge (typed API results and raw watch events alike); plan, update, await and
// rollback only see WorkloadState.
import { z } from 'zod';
import type { KubernetesClients } from './clients.ts';
import { apiStatus, kubernetesFailure } from './errors.ts';
import { freshetFieldManager } from './field-managers.ts';
import { type TargetSpec, type WorkloadKind, workloadKinds } from './types.ts';

export { type WorkloadKind, workloadKinds };

/** What Freshet records on each workload it changes (invariant 2). */
export const annotations = {
  rolloutId: 'freshet.dev/rollout-id',
  previousImage: 'freshet.dev/previous-image',
  image: 'freshet.dev/image',
  rolledBackBy: 'freshet.dev/rolled-back-by',
  /** The pipeline and Freshet instance that own the workload: set with each update, never by a rollback. */
  pipeline: 'freshet.dev/pipeline',
  instance: 'freshet.dev/instance',
  changeCause: 'kubernetes.io/change-cause',
} as const;

const labels = z.record(z.string(), z.string());

/** The typed client gives a Date, a raw watch event the RFC 3339 text: both become the text. */
const timestamp = z.union([z.string(), z.date().transform((d) => d.toISOString())]);

const metadata = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().default(''),
  generation: z.number().default(0),
  resourceVersion: z.string().default(''),
  labels: labels.optional(),
  annotations: labels.optional(),
  /** Raw: read by field-managers.ts, which parses what it needs. */
  managedFields: z.array(z.unknown()).optional(),
});

const container = z.object({ name: z.string(), image: z.string().default('') });
const initContainer = container.extend({ restartPolicy: z.string().optional() });
const podSpec = z.object({
  containers: z.array(container),
  initContainers: z.array(initContainer).default([]),
});
const podTemplateSchema = z.object({ spec: podSpec });
const selector = z.object({ matchLabels: labels.optional() }).default({});
const conditions = z
  .array(
    z.object({
      type: z.string(),
      status: z.string(),
      reason: z.string().optional(),
      message: z.string().optional(),
    }),
  )
  .default([]);

const deploymentSchema = z.object({
  metadata,
  spec: z.object({ replicas: z.number().default(1), selector, template: podTemplateSchema }),
  status: z
    .object({
      observedGeneration: z.number().default(0),
      replicas: z.number().default(0),
      updatedReplicas: z.number().default(0),
      readyReplicas: z.number().default(0),
      availableReplicas: z.number().default(0),
      conditions,
    })
    .prefault({}),
});

const statefulSetSchema = z.object({
  metadata,
  spec: z.object({
    replicas: z.number().default(1),
    selector,
    template: podTemplateSchema,
    podManagementPolicy: z.string().default('OrderedReady'),
    updateStrategy: z
      .object({
        type: z.string().default('RollingUpdate'),
        rollingUpdate: z.object({ partition: z.number().default(0) }).optional(),
      })
      .default({ type: 'RollingUpdate' }),
  }),
  status: z
    .object({
      observedGeneration: z.number().default(0),
      replicas: z.number().default(0),
      updatedReplicas: z.number().default(0),
      readyReplicas: z.number().default(0),
      availableReplicas: z.number().default(0),
      currentRevision: z.string().default(''),
      updateRevision: z.string().default(''),
    })
    .prefault({}),
});

const daemonSetSchema = z.object({
  metadata,
  spec: z.object({
    selector,
    template: podTemplateSchema,
    updateStrategy: z
      .object({ type: z.string().default('RollingUpdate') })
      .default({ type: 'RollingUpdate' }),
  }),
  status: z
    .object({
      observedGeneration: z.number().default(0),
      desiredNumberScheduled: z.number().default(0),
      currentNumberScheduled: z.number().default(0),
      updatedNumberScheduled: z.number().default(0),
      numberAvailable: z.number().default(0),
      numberReady: z.number().default(0),
    })
    .prefault({}),
});

const cronJobSchema = z.object({
  metadata,
  spec: z.object({
    schedule: z.string().default(''),
    suspend: z.boolean().default(false),
    jobTemplate: z.object({ spec: z.object({ template: podTemplateSchema }) }),
  }),
  status: z
    .object({
      lastScheduleTime: timestamp.optional(),
      lastSuccessfulTime: timestamp.optional(),
    })
    .prefault({}),
});

type Named = { namespace: string; name: string };
export type DeploymentState = z.infer<typeof deploymentSchema> & Named & { kind: 'Deployment' };
export type StatefulSetState = z.infer<typeof statefulSetSchema> & Named & { kind: 'StatefulSet' };
export type DaemonSetState = z.infer<typeof daemonSetSchema> & Named & { kind: 'DaemonSet' };
export type CronJobState = z.infer<typeof cronJobSchema> & Named & { kind: 'CronJob' };
export type WorkloadState = DeploymentState | StatefulSetState | DaemonSetState | CronJobState;

const schemas = {
  Deployment: deploymentSchema,
  StatefulSet: statefulSetSchema,
  DaemonSet: daemonSetSchema,
  CronJob: cronJobSchema,
} as const;

/** `fallbackNamespace` covers objects that omit their namespace (never the apiserver's, but fixtures). */
export function parseWorkload(kind: WorkloadKind, raw: unknown, fallbackNamespace = ''): WorkloadState {
  const result = schemas[kind].safeParse(raw);
  if (!result.success) {
    const path = result.error.issues[0]?.path.join('.') ?? '';
    throw new Error(`unexpected ${kind} object: ${path}: ${result.error.issues[0]?.message ?? ''}`);
  }
  const w = result.data;
  return {
    ...w,
    kind,
    namespace: w.metadata.namespace ?? fallbackNamespace,
    name: w.metadata.name,
  } as WorkloadState;
}

export function parseDeployment(raw: unknown, fallbackNamespace = ''): DeploymentState {
  return parseWorkload('Deployment', raw, fallbackNamespace) as DeploymentState;
}

/** The kind a target or reference means: absent is Deployment (targets and histories before kinds). */
export const kindOf = (x: { kind?: WorkloadKind | undefined }): WorkloadKind => x.kind ?? 'Deployment';

/** The one workload a named target means, or undefined for a selector target. */
export function targetName(t: TargetSpec): string | undefined {
  return t.deployment ?? t.name;
}

/** The kinds a target may match: its one kind when named, else its `kinds` (default: its kind). */
export function targetKinds(t: TargetSpec): WorkloadKind[] {
  if (targetName(t) !== undefined || !t.kinds?.length) return [kindOf(t)];
  return [...new Set(t.kinds)];
}

/** `statefulset/db`, as kubectl spells a workload; a Deployment stays `web` unless `always`. */
export function workloadLabel(kind: WorkloadKind | undefined, name: string, always = false): string {
  return kind === undefined || (kind === 'Deployment' && !always) ? name : `${kind.toLowerCase()}/${name}`;
}

export interface PodTemplateRef {
  spec: z.infer<typeof podSpec>;
  /** JSON pointer to the pod spec inside the workload. */
  path: string;
}

export function podTemplate(w: WorkloadState): PodTemplateRef {
  if (w.kind === 'CronJob')
    return { spec: w.spec.jobTemplate.spec.template.spec, path: '/spec/jobTemplate/spec/template/spec' };
  return { spec: w.spec.template.spec, path: '/spec/template/spec' };
}

export interface WorkloadContainer {
  name: string;
  image: string;
  /** Where it sits in the pod spec: the app containers or the init containers (sidecars included). */
  list: 'containers' | 'initContainers';
  index: number;
  /** An init container with `restartPolicy: Always` runs beside the app containers. */
  sidecar: boolean;
}

/** App containers first, then init containers and sidecars: names are unique across both in a pod. */
export function workloadContainers(w: WorkloadState): WorkloadContainer[] {
  const { spec } = podTemplate(w);
  return [
    ...spec.containers.map((c, index) => ({
      name: c.name,
      image: c.image,
      list: 'containers' as const,
      index,
      sidecar: false,
    })),
    ...spec.initContainers.map((c, index) => ({
      name: c.name,
      image: c.image,
      list: 'initContainers' as const,
      index,
      sidecar: c.restartPolicy === 'Always',
    })),
  ];
}

export function containerImage(w: WorkloadState, container: string): string | undefined {
  return workloadContainers(w).find((c) => c.name === container)?.image;
}

export function containerNames(w: WorkloadState): string[] {
  return workloadContainers(w).map((c) => c.name);
}

/** The pod selector (matchLabels); a CronJob's pods are found through its Jobs instead. */
export function podSelector(w: WorkloadState): Record<string, string> {
  return w.kind === 'CronJob' ? {} : (w.spec.selector.matchLabels ?? {});
}

/** Who owns the workload, when a Freshet update recorded it. */
export function ownerOf(w: WorkloadState): { pipeline: string; instance: string } | undefined {
  const pipeline = w.metadata.annotations?.[annotations.pipeline];
  if (pipeline === undefined) return undefined;
  return { pipeline, instance: w.metadata.annotations?.[annotations.instance] ?? '' };
}

/** The workload as the object an Event is about. */
export function workloadRef(w: WorkloadState) {
  const { uid, resourceVersion } = w.metadata;
  return {
    apiVersion: w.kind === 'CronJob' ? 'batch/v1' : 'apps/v1',
    kind: w.kind,
    namespace: w.namespace,
    name: w.name,
    uid,
    resourceVersion,
  };
}

export const labelsMatch = (labels: Record<string, string> | undefined, selector: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** `a=1,b=2`, keys sorted so equal selectors give equal text. */
export const selectorText = (selector: Record<string, string>) =>
  Object.entries(selector)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** The API group path and resource of each kind, for watches. */
export const resourcePaths: Record<WorkloadKind, { group: string; plural: string }> = {
  Deployment: { group: '/apis/apps/v1', plural: 'deployments' },
  StatefulSet: { group: '/apis/apps/v1', plural: 'statefulsets' },
  DaemonSet: { group: '/apis/apps/v1', plural: 'daemonsets' },
  CronJob: { group: '/apis/batch/v1', plural: 'cronjobs' },
};

type Call = { namespace: string; name: string };
type Body = { body: object; fieldManager: string };

/** The typed client calls per kind, behind one shape. */
function api(clients: KubernetesClients, kind: WorkloadKind) {
  const { apps, batch } = clients;
  switch (kind) {
    case 'Deployment':
      return {
        read: (c: Call) => apps.readNamespacedDeployment(c),
        list: (c: { namespace: string; labelSelector?: string }) => apps.listNamespacedDeployment(c),
        patch: (c: Call & Body) => apps.patchNamespacedDeployment(c),
      };
    case 'StatefulSet':
      return {
        read: (c: Call) => apps.readNamespacedStatefulSet(c),
        list: (c: { namespace: string; labelSelector?: string }) => apps.listNamespacedStatefulSet(c),
        patch: (c: Call & Body) => apps.patchNamespacedStatefulSet(c),
      };
    case 'DaemonSet':
      return {
        read: (c: Call) => apps.readNamespacedDaemonSet(c),
        list: (c: { namespace: string; labelSelector?: string }) => apps.listNamespacedDaemonSet(c),
        patch: (c: Call & Body) => apps.patchNamespacedDaemonSet(c),
      };
    case 'CronJob':
      return {
        read: (c: Call) => batch.readNamespacedCronJob(c),
        list: (c: { namespace: string; labelSelector?: string }) => batch.listNamespacedCronJob(c),
        patch: (c: Call & Body) => batch.patchNamespacedCronJob(c),
      };
  }
}

export async function readWorkload(
  clients: KubernetesClients,
  kind: WorkloadKind,
  namespace: string,
  name: string,
): Promise<WorkloadState | undefined> {
  try {
    return parseWorkload(kind, await api(clients, kind).read({ namespace, name }), namespace);
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw kubernetesFailure(clients.name, `read ${kind} ${namespace}/${name}`, err);
  }
}

export async function readDeployment(
  clients: KubernetesClients,
  namespace: string,
  name: string,
): Promise<DeploymentState | undefined> {
  return (await readWorkload(clients, 'Deployment', namespace, name)) as DeploymentState | undefined;
}

export async function listWorkloads(
  clients: KubernetesClients,
  kind: WorkloadKind,
  namespace: string,
  labelSelector: string | undefined,
): Promise<WorkloadState[]> {
  try {
    const list = await api(clients, kind).list({ namespace, ...(labelSelector ? { labelSelector } : {}) });
    return list.items.map((w) => parseWorkload(kind, w, namespace));
  } catch (err) {
    throw kubernetesFailure(clients.name, `list ${kind}s in ${namespace}`, err);
  }
}

type JsonPatchOp = { op: 'test' | 'replace' | 'add'; path: string; value: unknown };

const pointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * One JSON patch: the `test` ops make it fail when someone changed the container since we read
 * it, instead of overwriting their change; status updates by controllers do not disturb it.
 * Only the container image and the workload's annotations change, never the pod template
 * metadata, so the workload gets exactly one new revision.
 */
export function imagePatch(
  w: WorkloadState,
  container: string,
  from: string,
  to: string,
  annotations: Record<string, string>,
): JsonPatchOp[] {
  const c = workloadContainers(w).find((x) => x.name === container);
  if (!c) throw new Error(`${w.namespace}/${w.name}: no container "${container}"`);
  const base = `${podTemplate(w).path}/${c.list}/${c.index}`;
  const ops: JsonPatchOp[] = [
    { op: 'test', path: `${base}/name`, value: container },
    { op: 'test', path: `${base}/image`, value: from },
    { op: 'replace', path: `${base}/image`, value: to },
  ];
  if (!w.metadata.annotations) ops.push({ op: 'add', path: '/metadata/annotations', value: annotations });
  else {
    for (const [key, value] of Object.entries(annotations)) {
      ops.push({ op: 'add', path: `/metadata/annotations/${pointer(key)}`, value });
    }
  }
  return ops;
}

/**
 * Applies imagePatch. Returns 'moved' when the container no longer runs `from` (a concurrent
 * change), so the caller decides again from fresh state; any other refusal is final.
 */
export async function patchContainerImage(
  clients: KubernetesClients,
  w: WorkloadState,
  container: string,
  from: string,
  to: string,
  annotations: Record<string, string>,
): Promise<WorkloadState | 'moved'> {
  const action = `patch ${w.kind} ${w.namespace}/${w.name} container ${container} to ${to}`;
  try {
    const body = imagePatch(w, container, from, to, annotations);
    const patched = await api(clients, w.kind).patch({
      namespace: w.namespace,
      name: w.name,
      body,
      fieldManager: freshetFieldManager,
    });
    return parseWorkload(w.kind, patched, w.namespace);
  } catch (err) {
    const status = apiStatus(err);
    // A failed `test` op and a truly invalid patch both answer 422; fresh state tells them apart.
    if (status === 422 || status === 404) {
      const now = await readWorkload(clients, w.kind, w.namespace, w.name);
      if (!now || containerImage(now, container) !== from) return 'moved';
    }
    throw kubernetesFailure(clients.name, action, err);
  }
}
