// Inputs and results of the Kubernetes activities. Plain JSON data: workflows import these with
// `import type`, and every value lands in the workflow history.

export const workloadKinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'] as const;
export type WorkloadKind = (typeof workloadKinds)[number];

/**
 * Same shape as the config's TargetConfig: exactly one of deployment, name or selector. `kind`
 * (absent: Deployment) is the kind of a named target; a selector matches every kind in `kinds`
 * (absent: `kind`, else Deployment).
 */
export interface TargetSpec {
  namespace: string;
  kind?: WorkloadKind;
  name?: string;
  deployment?: string;
  selector?: Record<string, string>;
  kinds?: WorkloadKind[];
  container?: string;
  /** CronJob: the stage is ready once the next Job on the new image succeeds. */
  awaitNextJob?: boolean;
}

export interface TargetRef {
  cluster: string;
  namespace: string;
  /** Absent in histories recorded before workload kinds: a Deployment. */
  kind?: WorkloadKind;
  /** The workload's name, whatever its kind (the field kept its first name for replay). */
  deployment: string;
  container: string;
}

export interface PlannedTarget extends TargetRef {
  /** Image string of the container now. */
  currentImage: string;
  /** metadata.generation now. */
  generation: number;
  action: 'update' | 'skip';
  /** For skip: e.g. `already runs sha256:…`. */
  reason?: string;
  /** CronJob: wait for the next Job's success (the target's awaitNextJob). */
  awaitNextJob?: boolean;
}

export interface PlanStageInput {
  /** The pipeline whose stage this is: its config decides what may be planned, and it owns what it changes. */
  pipeline: string;
  cluster: string;
  targets: TargetSpec[];
  registryHost: string;
  repository: string;
  tag: string;
  digest: string;
}

/** Something that does not stop the stage but that an operator should know, such as a GitOps owner. */
export interface PlanWarning {
  /** `namespace/name` of the workload. */
  target: string;
  /** The GitOps tools that manage it (`argocd`, `flux`). */
  tools: string[];
  message: string;
}

export interface PlanStageResult {
  targets: PlannedTarget[];
  newImage: string;
  problems: string[];
  /** Absent when there is nothing to warn about (and in results recorded before warnings existed). */
  warnings?: PlanWarning[];
}

export interface UpdateInput {
  /** The pipeline rolling out; recorded on the Deployment as its owner. */
  pipeline: string;
  ref: TargetRef;
  newImage: string;
  previousImage: string;
  rolloutId: string;
  changeCause: string;
}

export interface UpdateResult {
  changed: boolean;
  generation: number;
  image: string;
}

export interface AwaitInput {
  ref: TargetRef;
  image: string;
  timeoutMs: number;
  /** The wait's end (epoch ms, from the workflow clock): a retried wait keeps it instead of starting over. */
  deadlineAt?: number;
  /** CronJob: ready only once a Job on `image` succeeded; a failed one is not ready. */
  awaitNextJob?: boolean;
}

export interface AwaitResult {
  ready: true;
  generation: number;
  readyReplicas: number;
}

export interface RollbackInput {
  ref: TargetRef;
  rolloutId: string;
  fromImage: string;
  toImage: string;
  reason: string;
  /** Every failure is retryable: the rollback is retried until it succeeds (missing RBAC included). */
  persistent?: boolean;
}

export interface RollbackResult {
  result: 'reverted' | 'already' | 'drift';
  currentImage: string;
  generation: number;
}
