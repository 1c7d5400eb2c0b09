// The workloads of the inventory's scope as Kubernetes lists them: Deployments, StatefulSets,
// DaemonSets and CronJobs, each with every container and init container of its pod template and
// what its live pods report in imageID. Every object is parsed here with its own minimal schema:
// one that does not parse is left out and named, never trusted half-way.
import { BatchV1Api } from '@kubernetes/client-node';
import { z } from 'zod';
import type { ClusterClients } from './clusters.ts';
import { imageIdDigest, type PodImage } from './running-digest.ts';

export const workloadKinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'] as const;
export type WorkloadKind = (typeof workloadKinds)[number];

const labels = z.record(z.string(), z.string()).optional();
const ownerReference = z.object({
  kind: z.string(),
  name: z.string(),
  uid: z.string().optional(),
  controller: z.boolean().optional(),
});
const metadata = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1),
  uid: z.string().optional(),
  labels,
  ownerReferences: z.array(ownerReference).optional(),
  deletionTimestamp: z.unknown().optional(),
});
const container = z.object({ name: z.string().min(1), image: z.string().optional() });
const podSpec = z.object({
  containers: z.array(container).default([]),
  initContainers: z.array(container).optional(),
});
const podTemplate = z.object({ spec: podSpec });
const podWorkloadSchema = z.object({ metadata, spec: z.object({ template: podTemplate }) });
const cronJobSchema = z.object({
  metadata,
  spec: z.object({ jobTemplate: z.object({ spec: z.object({ template: podTemplate }) }) }),
});
const jobSchema = z.object({ metadata });
const containerStatus = z.object({ name: z.string(), imageID: z.string().optional() });
const podSchema = z.object({
  metadata,
  spec: z.object({ nodeName: z.string().optional() }).optional(),
  status: z
    .object({
      phase: z.string().optional(),
      containerStatuses: z.array(containerStatus).optional(),
      initContainerStatuses: z.array(containerStatus).optional(),
    })
    .optional(),
});
type Pod = z.infer<typeof podSchema>;
type Metadata = z.infer<typeof metadata>;

export interface WorkloadContainer {
  name: string;
  /** The image as the pod template names it. */
  image: string;
  init: boolean;
  /** What each live pod of the workload runs in this container; empty when none reports. */
  pods: PodImage[];
}

export interface Workload {
  cluster: string;
  namespace: string;
  kind: WorkloadKind;
  name: string;
  labels: Record<string, string>;
  containers: WorkloadContainer[];
}

export interface WorkloadScope {
  /** Namespaces to read; `['*']` is every namespace (one cluster-wide LIST per kind). */
  namespaces: readonly string[];
  /** Workload labels that must all match (pods are matched to workloads by owner, not by it). */
  selector?: Readonly<Record<string, string>>;
}

export interface WorkloadRead {
  workloads: Workload[];
  /** Objects that did not parse, named, so a person can find them. */
  problems: string[];
}

/** The pod's controller, the one owner Kubernetes lets manage it. */
const controllerOf = (m: Metadata) => m.ownerReferences?.find((o) => o.controller) ?? m.ownerReferences?.[0];

const isLive = (pod: Pod) =>
  !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';

/**
 * The key of the workload a pod belongs to, by ownership: a Deployment owns its pods through a
 * ReplicaSet named `<deployment>-<pod-template-hash>`, a CronJob through a Job. Ownership is
 * exact where a Deployment's selector (matchExpressions, shared labels) would not be.
 */
function podOwner(pod: Pod, jobOwners: ReadonlyMap<string, string>): string | undefined {
  const owner = controllerOf(pod.metadata);
  if (!owner) return undefined;
  const ns = pod.metadata.namespace;
  switch (owner.kind) {
    case 'StatefulSet':
    case 'DaemonSet':
      return `${ns}/${owner.kind}/${owner.name}`;
    case 'ReplicaSet': {
      const hash = pod.metadata.labels?.['pod-template-hash'];
      return hash && owner.name.endsWith(`-${hash}`)
        ? `${ns}/Deployment/${owner.name.slice(0, -hash.length - 1)}`
        : undefined;
    }
    case 'Job': {
      const cronJob = jobOwners.get(`${ns}/${owner.name}`);
      return cronJob ? `${ns}/CronJob/${cronJob}` : undefined;
    }
    default:
      return undefined;
  }
}

function labelsMatch(have: Record<string, string> | undefined, want: Readonly<Record<string, string>>) {
  return Object.entries(want).every(([k, v]) => have?.[k] === v);
}

interface RawLists {
  deployments: unknown[];
  statefulSets: unknown[];
  daemonSets: unknown[];
  cronJobs: unknown[];
  jobs: unknown[];
  pods: unknown[];
}

const batchClients = new WeakMap<ClusterClients, BatchV1Api>();
function batchOf(cluster: ClusterClients): BatchV1Api {
  let batch = batchClients.get(cluster);
  if (!batch) {
    batch = cluster.config.makeApiClient(BatchV1Api);
    batchClients.set(cluster, batch);
  }
  return batch;
}

/** One LIST per kind (and of Jobs and Pods) per namespace, or per cluster for `*`. */
async function listAll(cluster: ClusterClients, namespace: string): Promise<RawLists> {
  const batch = batchOf(cluster);
  const { apps, core } = cluster;
  const items = <T>(p: Promise<{ items: T[] }>) => p.then((l) => l.items as unknown[]);
  const [deployments, statefulSets, daemonSets, cronJobs, jobs, pods] = await Promise.all(
    namespace === '*'
      ? [
          items(apps.listDeploymentForAllNamespaces()),
          items(apps.listStatefulSetForAllNamespaces()),
          items(apps.listDaemonSetForAllNamespaces()),
          items(batch.listCronJobForAllNamespaces()),
          items(batch.listJobForAllNamespaces()),
          items(core.listPodForAllNamespaces()),
        ]
      : [
          items(apps.listNamespacedDeployment({ namespace })),
          items(apps.listNamespacedStatefulSet({ namespace })),
          items(apps.listNamespacedDaemonSet({ namespace })),
          items(batch.listNamespacedCronJob({ namespace })),
          items(batch.listNamespacedJob({ namespace })),
          items(core.listNamespacedPod({ namespace })),
        ],
  );
  return {
    deployments: deployments ?? [],
    statefulSets: statefulSets ?? [],
    daemonSets: daemonSets ?? [],
    cronJobs: cronJobs ?? [],
    jobs: jobs ?? [],
    pods: pods ?? [],
  };
}

/** Reads every workload of the scope in one cluster. A LIST that fails fails the read. */
export async function readWorkloads(cluster: ClusterClients, scope: WorkloadScope): Promise<WorkloadRead> {
  const out: WorkloadRead = { workloads: [], problems: [] };
  for (const namespace of scope.namespaces) {
    const lists = await listAll(cluster, namespace);
    const read = workloadsFromLists(cluster.name, lists, scope.selector ?? {});
    out.workloads.push(...read.workloads);
    out.problems.push(...read.problems);
  }
  return out;
}

/** The pure half of readWorkloads: parsed lists in, workloads with their pods' digests out. */
export function workloadsFromLists(
  clusterName: string,
  lists: RawLists,
  selector: Readonly<Record<string, string>>,
): WorkloadRead {
  const problems: string[] = [];
  const parse = <T>(schema: z.ZodType<T>, kind: string, raw: unknown): T | undefined => {
    const parsed = schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    const m = (raw as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
    const issue = parsed.error.issues[0];
    problems.push(
      `${kind} ${String(m?.namespace ?? '?')}/${String(m?.name ?? '?')}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'malformed'}`,
    );
    return undefined;
  };
  const jobOwners = new Map<string, string>();
  for (const raw of lists.jobs) {
    const job = parse(jobSchema, 'Job', raw);
    const owner = job && controllerOf(job.metadata);
    if (job && owner?.kind === 'CronJob')
      jobOwners.set(`${job.metadata.namespace}/${job.metadata.name}`, owner.name);
  }
  const podsByOwner = new Map<string, Pod[]>();
  for (const raw of lists.pods) {
    const pod = parse(podSchema, 'Pod', raw);
    if (!pod || !isLive(pod)) continue;
    const owner = podOwner(pod, jobOwners);
    if (owner) podsByOwner.set(owner, [...(podsByOwner.get(owner) ?? []), pod]);
  }
  const workloads: Workload[] = [];
  const add = (kind: WorkloadKind, m: Metadata, spec: z.infer<typeof podSpec>) => {
    if (!labelsMatch(m.labels, selector)) return;
    const pods = podsByOwner.get(`${m.namespace}/${kind}/${m.name}`) ?? [];
    const containerOf = (c: z.infer<typeof container>, init: boolean): WorkloadContainer => ({
      name: c.name,
      image: c.image ?? '',
      init,
      pods: podImagesOf(pods, c.name, init),
    });
    workloads.push({
      cluster: clusterName,
      namespace: m.namespace,
      kind,
      name: m.name,
      labels: m.labels ?? {},
      containers: [
        ...spec.containers.map((c) => containerOf(c, false)),
        ...(spec.initContainers ?? []).map((c) => containerOf(c, true)),
      ],
    });
  };
  for (const raw of lists.deployments) {
    const d = parse(podWorkloadSchema, 'Deployment', raw);
    if (d) add('Deployment', d.metadata, d.spec.template.spec);
  }
  for (const raw of lists.statefulSets) {
    const s = parse(podWorkloadSchema, 'StatefulSet', raw);
    if (s) add('StatefulSet', s.metadata, s.spec.template.spec);
  }
  for (const raw of lists.daemonSets) {
    const s = parse(podWorkloadSchema, 'DaemonSet', raw);
    if (s) add('DaemonSet', s.metadata, s.spec.template.spec);
  }
  for (const raw of lists.cronJobs) {
    const c = parse(cronJobSchema, 'CronJob', raw);
    if (c) add('CronJob', c.metadata, c.spec.jobTemplate.spec.template.spec);
  }
  return { workloads, problems };
}

/** What each pod runs in the named container; pods still pulling (no digest yet) are left out. */
function podImagesOf(pods: readonly Pod[], name: string, init: boolean): PodImage[] {
  const out: PodImage[] = [];
  for (const pod of pods) {
    const statuses = init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
    const digest = imageIdDigest(statuses?.find((c) => c.name === name)?.imageID);
    const nodeName = pod.spec?.nodeName;
    if (digest) out.push({ digest, ...(nodeName ? { nodeName } : {}) });
  }
  return out;
}
