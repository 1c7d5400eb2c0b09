// A tiny in-memory cluster for workflow unit tests: Deployments with one image per container, and
// Kubernetes activities on it that answer the rollout workflow the way the real ones do (same
// result shapes, same failure types, same drift rules), so a test can assert the exact patches.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DeploymentState } from '../../activities/kubernetes/deployment.ts';
import type { KubernetesActivities } from '../../activities/kubernetes/index.ts';
import { planTargets } from '../../activities/kubernetes/plan.ts';
import { imageRevertedFailure } from '../../activities/kubernetes/reverted.ts';
import type { AwaitInput, TargetRef } from '../../activities/kubernetes/types.ts';

/** One change Freshet's activities made to a Deployment; reads and no-ops are not patches. */
export interface Patch {
  kind: 'update' | 'rollback';
  /** `namespace/deployment/container` */
  target: string;
  image: string;
}

export interface ModelDeployment {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** Container name → image. */
  containers: Record<string, string>;
}

/** What waiting for a Deployment on an image does: become ready, fail as the real await would, or hang. */
export type Readiness = 'ready' | 'not-ready' | 'hang';

interface Stored extends ModelDeployment {
  generation: number;
}

interface Hold {
  released: Promise<Readiness>;
  release: (outcome: Readiness) => void;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;
/** The Freshet instance the model's plans are made for; model Deployments carry no owner. */
const modelInstance = 'model';

export class ClusterModel {
  readonly name: string;
  /** Every change the activities made, in the order they made them. */
  readonly patches: Patch[] = [];
  private readonly deployments = new Map<string, Stored>();
  private readonly brokenImages = new Set<string>();
  private readonly holds = new Map<string, Hold>();
  /** `namespace/name/container` → the field manager that last set that image from outside. */
  private readonly writers = new Map<string, string>();

  constructor(name = 'local') {
    this.name = name;
  }

  add(d: ModelDeployment): this {
    this.deployments.set(key(d.namespace, d.name), { ...d, containers: { ...d.containers }, generation: 1 });
    return this;
  }

  image(namespace: string, name: string, container: string): string | undefined {
    return this.deployments.get(key(namespace, name))?.containers[container];
  }

  /**
   * Someone other than Freshet sets an image (kubectl, a GitOps controller), under field manager
   * `manager`: not recorded as a patch. A wait for the image it replaced ends as the real one
   * does, with ImageReverted naming that manager.
   */
  setImage(namespace: string, name: string, container: string, image: string, manager = 'kubectl'): void {
    const d = this.require(namespace, name);
    d.containers[container] = image;
    d.generation++;
    this.writers.set(`${key(namespace, name)}/${container}`, manager);
    for (const [at, hold] of this.holds)
      if (at.startsWith(`${key(namespace, name)}@`) && !at.endsWith(`@${image}`)) hold.release('ready');
  }

  /** Pods of this image never become ready: every wait for it fails with DeploymentNotReady. */
  breakImage(image: string): this {
    this.brokenImages.add(image);
    return this;
  }

  /**
   * Waits for `namespace/name` on `image` block until `release` (or the activity is cancelled),
   * then end as `release` says: a test decides when a wave is done, and can act in between.
   */
  hold(namespace: string, name: string, image: string): { release: (outcome?: Readiness) => void } {
    let release: (outcome: Readiness) => void = () => undefined;
    const released = new Promise<Readiness>((resolve) => {
      release = resolve;
    });
    this.holds.set(`${key(namespace, name)}@${image}`, { released, release });
    return { release: (outcome = 'ready') => release(outcome) };
  }

  /** Waits for `namespace/name` on `image` fail with DeploymentNotReady, other Deployments on it may be fine. */
  failReadiness(namespace: string, name: string, image: string): this {
    this.hold(namespace, name, image).release('not-ready');
    return this;
  }

  /** The Kubernetes activities of the rollout workflow, on this model. */
  activities(): KubernetesActivities {
    return {
      planStage: async (input) => {
        this.requireCluster(input.cluster);
        return planTargets(
          [...this.deployments.values()].map((d) => this.state(d)),
          input,
          modelInstance,
        );
      },
      updateDeploymentImage: async (input) => {
        const d = this.target(input.ref);
        const current = this.container(d, input.ref);
        if (current === input.newImage) return { changed: false, generation: d.generation, image: current };
        if (current !== input.previousImage) {
          throw ApplicationFailure.nonRetryable(
            `${d.namespace}/${d.name} container ${input.ref.container} now runs ${current}, not ${input.previousImage} as planned; someone else changed it, so Freshet leaves it alone`,
            'DeploymentDrifted',
          );
        }
        this.patch(d, input.ref.container, input.newImage, 'update');
        return { changed: true, generation: d.generation, image: input.newImage };
      },
      awaitDeploymentReady: async (input) => this.awaitReady(input),
      rollbackDeployment: async (input) => {
        this.requireCluster(input.ref.cluster);
        const d = this.deployments.get(key(input.ref.namespace, input.ref.deployment));
        const current = d?.containers[input.ref.container];
        if (!d || current === undefined) return { result: 'drift', currentImage: '', generation: 0 };
        if (current === input.toImage)
          return { result: 'already', currentImage: current, generation: d.generation };
        if (current !== input.fromImage)
          return { result: 'drift', currentImage: current, generation: d.generation };
        this.patch(d, input.ref.container, input.toImage, 'rollback');
        return { result: 'reverted', currentImage: input.toImage, generation: d.generation };
      },
    };
  }

  private async awaitReady(input: AwaitInput) {
    const d = this.target(input.ref);
    const where = `${d.namespace}/${d.name}`;
    if (this.container(d, input.ref) !== input.image) throw this.reverted(d, input);
    const hold = this.holds.get(`${where}@${input.image}`);
    const readiness: Readiness = hold
      ? await untilCancelled(hold.released)
      : this.brokenImages.has(input.image)
        ? 'not-ready'
        : 'ready';
    if (this.container(d, input.ref) !== input.image) throw this.reverted(d, input);
    if (readiness === 'ready') return { ready: true as const, generation: d.generation, readyReplicas: 1 };
    if (readiness === 'hang') await untilCancelled(new Promise<never>(() => undefined));
    throw notReady(input, 'pods of the new image never became ready', 'timeout');
  }

  /** What the real await throws, from managedFields the way the apiserver records the writer. */
  private reverted(d: Stored, input: AwaitInput): ApplicationFailure {
    const { container } = input.ref;
    const manager = this.writers.get(`${key(d.namespace, d.name)}/${container}`) ?? 'unknown';
    const managedFields = [
      {
        manager,
        operation: 'Update',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:spec': {
            'f:template': {
              'f:spec': { 'f:containers': { [`k:{"name":"${container}"}`]: { 'f:image': {} } } },
            },
          },
        },
      },
    ];
    return imageRevertedFailure(
      this.name,
      { kind: 'Deployment', namespace: d.namespace, name: d.name, managedFields },
      container,
      input.image,
      d.containers[container],
    );
  }

  private patch(d: Stored, container: string, image: string, kind: Patch['kind']) {
    d.containers[container] = image;
    d.generation++;
    this.patches.push({ kind, target: `${d.namespace}/${d.name}/${container}`, image });
  }

  private state(d: Stored): DeploymentState {
    const containers = Object.entries(d.containers).map(([name, image]) => ({ name, image }));
    return {
      kind: 'Deployment',
      namespace: d.namespace,
      name: d.name,
      metadata: {
        name: d.name,
        namespace: d.namespace,
        uid: `uid-${d.namespace}-${d.name}`,
        generation: d.generation,
        resourceVersion: String(d.generation),
        ...(d.labels ? { labels: d.labels } : {}),
      },
      spec: { replicas: 1, selector: {}, template: { spec: { containers, initContainers: [] } } },
      status: {
        observedGeneration: d.generation,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        conditions: [],
      },
    };
  }

  private requireCluster(cluster: string) {
    if (cluster !== this.name) {
      throw ApplicationFailure.nonRetryable(
        `unknown cluster "${cluster}" (configured: ${this.name})`,
        'UnknownCluster',
      );
    }
  }

  private require(namespace: string, name: string): Stored {
    const d = this.deployments.get(key(namespace, name));
    if (!d) throw new Error(`the model has no Deployment ${namespace}/${name}`);
    return d;
  }

  private target(ref: TargetRef): Stored {
    this.requireCluster(ref.cluster);
    const d = this.deployments.get(key(ref.namespace, ref.deployment));
    if (d) return d;
    throw ApplicationFailure.create({
      message: `cluster ${ref.cluster}: Deployment ${ref.namespace}/${ref.deployment} not found`,
      type: 'DeploymentNotFound',
      nonRetryable: true,
    });
  }

  private container(d: Stored, ref: TargetRef): string {
    const image = d.containers[ref.container];
    if (image !== undefined) return image;
    throw ApplicationFailure.create({
      message: `cluster ${ref.cluster}: ${d.namespace}/${d.name}: no container "${ref.container}" (containers: ${Object.keys(d.containers).join(', ')})`,
      type: 'ContainerNotFound',
      nonRetryable: true,
    });
  }
}

/** The real await's failure: non-retryable, so the workflow rolls back instead of waiting again. */
function notReady(input: AwaitInput, why: string, reason: 'timeout'): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${input.ref.namespace}/${input.ref.deployment} not ready after 0s: ${why}; 0/1 updated, 0 ready`,
    type: 'DeploymentNotReady',
    nonRetryable: true,
    details: [{ ...input.ref, image: input.image, reason }],
  });
}

/**
 * Resolves with `p`, or rejects once the workflow cancels the activity (or the worker shuts down).
 * Heartbeats meanwhile: cancellation reaches only an activity that heartbeats.
 */
async function untilCancelled<T>(p: Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 20);
  ctx.heartbeat();
  try {
    return await Promise.race([p, ctx.cancelled]);
  } finally {
    clearInterval(beat);
  }
}
