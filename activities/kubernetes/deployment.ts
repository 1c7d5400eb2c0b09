// The parts of a Deployment the activities depend on, parsed at the edge (typed API results and
// raw watch events alike), and the one guarded patch that changes a container's image.
import { z } from 'zod';
import type { KubernetesClients } from './clients.ts';
import { apiStatus, kubernetesFailure } from './errors.ts';
import { freshetFieldManager } from './field-managers.ts';

/** What Freshet records on each Deployment it changes (invariant 2). */
export const annotations = {
  rolloutId: 'freshet.dev/rollout-id',
  previousImage: 'freshet.dev/previous-image',
  image: 'freshet.dev/image',
  rolledBackBy: 'freshet.dev/rolled-back-by',
  /** The pipeline and Freshet instance that own the Deployment: set with each update, never by a rollback. */
  pipeline: 'freshet.dev/pipeline',
  instance: 'freshet.dev/instance',
  changeCause: 'kubernetes.io/change-cause',
} as const;

const labels = z.record(z.string(), z.string());

const deploymentSchema = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().default(''),
    generation: z.number().default(0),
    resourceVersion: z.string().default(''),
    labels: labels.optional(),
    annotations: labels.optional(),
    /** Raw: read by field-managers.ts, which parses what it needs. */
    managedFields: z.array(z.unknown()).optional(),
  }),
  spec: z.object({
    replicas: z.number().default(1),
    selector: z.object({ matchLabels: labels.optional() }).default({}),
    template: z.object({
      spec: z.object({ containers: z.array(z.object({ name: z.string(), image: z.string().default('') })) }),
    }),
  }),
  status: z
    .object({
      observedGeneration: z.number().default(0),
      replicas: z.number().default(0),
      updatedReplicas: z.number().default(0),
      readyReplicas: z.number().default(0),
      availableReplicas: z.number().default(0),
      conditions: z
        .array(
          z.object({
            type: z.string(),
            status: z.string(),
            reason: z.string().optional(),
            message: z.string().optional(),
          }),
        )
        .default([]),
    })
    .prefault({}),
});

export type DeploymentState = z.infer<typeof deploymentSchema> & { namespace: string; name: string };

/** `fallbackNamespace` covers objects that omit their namespace (never the apiserver's, but fixtures). */
export function parseDeployment(raw: unknown, fallbackNamespace = ''): DeploymentState {
  const result = deploymentSchema.safeParse(raw);
  if (!result.success) {
    const path = result.error.issues[0]?.path.join('.') ?? '';
    throw new Error(`unexpected Deployment object: ${path}: ${result.error.issues[0]?.message ?? ''}`);
  }
  const d = result.data;
  return { ...d, namespace: d.metadata.namespace ?? fallbackNamespace, name: d.metadata.name };
}

/** Who owns the Deployment, when a Freshet update recorded it. */
export function ownerOf(d: DeploymentState): { pipeline: string; instance: string } | undefined {
  const pipeline = d.metadata.annotations?.[annotations.pipeline];
  if (pipeline === undefined) return undefined;
  return { pipeline, instance: d.metadata.annotations?.[annotations.instance] ?? '' };
}

/** The Deployment as the object an Event is about. */
export function deploymentRef(d: DeploymentState) {
  const { uid, resourceVersion } = d.metadata;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: d.namespace,
    name: d.name,
    uid,
    resourceVersion,
  };
}

export function containerImage(d: DeploymentState, container: string): string | undefined {
  return d.spec.template.spec.containers.find((c) => c.name === container)?.image;
}

export function containerNames(d: DeploymentState): string[] {
  return d.spec.template.spec.containers.map((c) => c.name);
}

export async function readDeployment(
  clients: KubernetesClients,
  namespace: string,
  name: string,
): Promise<DeploymentState | undefined> {
  try {
    return parseDeployment(await clients.apps.readNamespacedDeployment({ namespace, name }), namespace);
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw kubernetesFailure(clients.name, `read Deployment ${namespace}/${name}`, err);
  }
}

export const labelsMatch = (labels: Record<string, string> | undefined, selector: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** `a=1,b=2`, keys sorted so equal selectors give equal text. */
export const selectorText = (selector: Record<string, string>) =>
  Object.entries(selector)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

type JsonPatchOp = { op: 'test' | 'replace' | 'add'; path: string; value: unknown };

const pointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * One JSON patch: the `test` ops make it fail when someone changed the container since we read
 * it, instead of overwriting their change; status updates by controllers do not disturb it.
 * Only the container image and Deployment annotations change, never the pod template metadata,
 * so the Deployment gets exactly one new revision.
 */
export function imagePatch(
  d: DeploymentState,
  container: string,
  from: string,
  to: string,
  annotations: Record<string, string>,
): JsonPatchOp[] {
  const index = d.spec.template.spec.containers.findIndex((c) => c.name === container);
  if (index < 0) throw new Error(`${d.namespace}/${d.name}: no container "${container}"`);
  const base = `/spec/template/spec/containers/${index}`;
  const ops: JsonPatchOp[] = [
    { op: 'test', path: `${base}/name`, value: container },
    { op: 'test', path: `${base}/image`, value: from },
    { op: 'replace', path: `${base}/image`, value: to },
  ];
  if (!d.metadata.annotations) ops.push({ op: 'add', path: '/metadata/annotations', value: annotations });
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
  d: DeploymentState,
  container: string,
  from: string,
  to: string,
  annotations: Record<string, string>,
): Promise<DeploymentState | 'moved'> {
  const action = `patch Deployment ${d.namespace}/${d.name} container ${container} to ${to}`;
  try {
    const body = imagePatch(d, container, from, to, annotations);
    const patched = await clients.apps.patchNamespacedDeployment({
      namespace: d.namespace,
      name: d.name,
      body,
      fieldManager: freshetFieldManager,
    });
    return parseDeployment(patched, d.namespace);
  } catch (err) {
    const status = apiStatus(err);
    // A failed `test` op and a truly invalid patch both answer 422; fresh state tells them apart.
    if (status === 422 || status === 404) {
      const now = await readDeployment(clients, d.namespace, d.name);
      if (!now || containerImage(now, container) !== from) return 'moved';
    }
    throw kubernetesFailure(clients.name, action, err);
  }
}
