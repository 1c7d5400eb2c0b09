// Types and messages of the rollout and pipeline workflows, shared by the workflows, their
// activities, the daemon and the CLI. Everything here is plain JSON: it lands in histories,
// so it never carries a secret.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CheckOutcome, CheckSpec } from '../activities/health/types.ts';
import type { TargetSpec, WorkloadKind } from '../activities/kubernetes/types.ts';
import type { WindowSpec } from '../activities/windows/window-math.ts';
import type { ApprovalSignature, ApproverKey } from './approval-signature.ts';
import type { ActiveFreeze } from './freeze-messages.ts';
import type { WaveSpec } from './rollout-waves.ts';
import type { Trigger } from './watch-messages.ts';

export interface RolloutRequest {
  pipeline: string;
  image: string;
  registry: string;
  /** Host (and port) of the registry as Deployments name it, such as ghcr.io. */
  registryHost: string;
  repository: string;
  tag: string;
  digest: string;
  created?: string;
  trigger: Trigger;
  /** When the new digest was first seen (ISO 8601); time to production counts from here. */
  detectedAt: string;
  /** temporal.instance of the Freshet that asked; the rollout's id carries it (absent in old requests). */
  instance?: string;
}

export interface StageSpec {
  name: string;
  cluster: string;
  targets: TargetSpec[];
  waves: WaveSpec[];
  rolloutTimeoutMs: number;
  soakMs: number;
  /** How often checks run during the soak. */
  checkIntervalMs: number;
  checks: CheckSpec[];
  approval?: {
    timeoutMs: number;
    approvers?: string[];
    /** Public keys of the approvers that have one; their decisions count only when signed. */
    keys?: ApproverKey[];
    /** Refuse every unsigned decision, such as the UI's approve and reject signals. */
    requireSignature?: boolean;
  };
  /** When the stage may start a wave (absent: any time). */
  windows?: WindowSpec[];
}

/** The pipeline as configured when the rollout was requested; a config change never alters a running rollout. */
export interface PipelineSpec {
  name: string;
  onNewerDigest: 'supersede' | 'queue';
  stages: StageSpec[];
}

export interface RolloutInput {
  request: RolloutRequest;
  spec: PipelineSpec;
  /** The server knows Freshet's search attributes (the daemon checks on start). */
  searchAttributes?: boolean;
}

export type RolloutOutcome =
  | 'succeeded'
  | 'rolled_back'
  | 'rejected'
  | 'approval_timed_out'
  | 'aborted'
  | 'superseded'
  /** Someone else (a GitOps controller, a person) put another image into a target during the rollout. */
  | 'reverted'
  | 'failed';

export type Phase =
  | 'planning'
  | 'awaiting-approval'
  | 'rolling-out'
  | 'checking'
  | 'soaking'
  | 'paused'
  /** Held at a safe point by `freshet freeze` until the freeze is lifted. */
  | 'frozen'
  /** Outside the stage's change windows: a timer waits for the next one to open. */
  | 'waiting-for-window'
  | 'rolling-back'
  /** A rollback cannot patch a target back yet; it keeps trying until it can or an operator aborts. */
  | 'rollback-stuck'
  | 'done';

export type TargetStateName =
  | 'pending'
  | 'skipped'
  | 'updating'
  | 'ready'
  | 'failed'
  | 'rolled_back'
  | 'drift'
  /** Its image was put back by another field manager during the rollout; left to that owner. */
  | 'reverted';

/** `ns/web` for a Deployment, `ns/statefulset/db` for other kinds, as kubectl names them. */
export function workloadName(t: {
  namespace: string;
  kind?: WorkloadKind | undefined;
  deployment: string;
}): string {
  return t.kind === undefined || t.kind === 'Deployment'
    ? `${t.namespace}/${t.deployment}`
    : `${t.namespace}/${t.kind.toLowerCase()}/${t.deployment}`;
}

export interface TargetState {
  stage: string;
  cluster: string;
  namespace: string;
  /** Absent: a Deployment (and every target of rollouts from before workload kinds). */
  kind?: WorkloadKind;
  /** The workload's name, whatever its kind. */
  deployment: string;
  container: string;
  state: TargetStateName;
  /** The image before this rollout touched it. */
  previousImage: string;
  /** The image the target runs as far as this rollout knows. */
  image: string;
  detail?: string;
}

export interface Decision {
  stage: string;
  decision: 'approve' | 'reject';
  by: string;
  comment?: string;
  at: string;
}

export interface StageReport {
  name: string;
  outcome: 'succeeded' | 'rolled_back' | 'failed' | 'skipped' | 'stopped';
  startedAt: string;
  finishedAt?: string;
}

export interface RolloutStatus {
  rolloutId: string;
  pipeline: string;
  image: string;
  tag: string;
  digest: string;
  phase: Phase;
  paused: boolean;
  stage?: string;
  stageIndex: number;
  stages: number;
  wave?: { index: number; total: number };
  targets: TargetState[];
  checks: CheckOutcome[];
  approval?: {
    stage: string;
    since: string;
    deadline: string;
    approvers?: string[];
    /** Only signed decisions count (requireSignature): unsigned signals, such as the UI's, are refused. */
    signedOnly?: boolean;
  };
  decisions: Decision[];
  /** Approval attempts that were not accepted, with why (kept so an operator can see them). */
  refused: { by: string; reason: string; at: string }[];
  /** Messages that did not parse and were ignored (the newest few), with why. */
  ignored?: { message: string; reason: string; at: string }[];
  supersededBy?: string;
  /** Plan-time warnings, such as targets that Argo CD or Flux manages (absent when none). */
  warnings?: string[];
  /** The freeze that holds this rollout (at its next safe point, when it is mid-wave). */
  freeze?: ActiveFreeze;
  /** While waiting for a change window: when the next one opens, and the stage's windows. */
  window?: { opensAt?: string; windows: string[] };
  /** Targets whose rollback keeps failing, with the first error; empty once they are patched back. */
  rollbackStuck?: {
    namespace: string;
    kind?: WorkloadKind;
    deployment: string;
    since: string;
    error: string;
  }[];
  outcome?: RolloutOutcome;
  reason?: string;
}

export interface RolloutResult {
  rolloutId: string;
  outcome: RolloutOutcome;
  reason: string;
  request: RolloutRequest;
  targets: TargetState[];
  stages: StageReport[];
  decisions: Decision[];
}

export interface ApprovalInput {
  by: string;
  comment?: string;
  /** Ed25519 signature of the decision (see approval-signature.ts), from `freshet approve --key`. */
  signature?: ApprovalSignature;
}

export interface DecisionInput extends ApprovalInput {
  decision: 'approve' | 'reject';
}

export const approveSignal = defineSignal<[ApprovalInput]>('approve');
export const rejectSignal = defineSignal<[ApprovalInput]>('reject');
/** The same decision as an Update: a refused approver gets a visible error instead of silence. */
export const decideUpdate = defineUpdate<string, [DecisionInput]>('decide');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const abortSignal = defineSignal<[ApprovalInput?]>('abort');
/** Sent by the pipeline workflow when a newer digest waits: stop at the next safe point. */
export const supersedeSignal = defineSignal<[{ rolloutId: string; digest: string }]>('supersede');
export const rolloutStatusQuery = defineQuery<RolloutStatus>('status');

export { rolloutWorkflowId } from './watch-messages.ts';

// --- The pipeline workflow: one per pipeline, it runs that pipeline's rollouts one at a time.

export type PipelineRequest = RolloutInput;

export interface PipelineInput {
  pipeline: string;
  /** Carried across continue-as-new. */
  pending?: PipelineRequest[];
  recent?: string[];
}

export interface PipelineStatus {
  pipeline: string;
  current?: { rolloutId: string; digest: string; image: string };
  pending: { rolloutId: string; digest: string; image: string }[];
  recent: string[];
  /** Requests that did not parse and were ignored (the newest few), with why. */
  ignored?: { message: string; reason: string; at: string }[];
}

export const requestRolloutSignal = defineSignal<[PipelineRequest]>('requestRollout');
export const pipelineStatusQuery = defineQuery<PipelineStatus>('pipelineStatus');
export const pipelineWorkflowId = (instance: string, pipeline: string) =>
  `freshet-pipeline-${pipeline}@${instance}`;
/** The id a pipeline workflow had before ids carried the instance. */
export const legacyPipelineWorkflowId = (pipeline: string) => `freshet-pipeline-${pipeline}`;

/** Search attributes registered on the Temporal server (see stack/layout.ts and the README). */
export const searchAttributeNames = {
  pipeline: 'FreshetPipeline',
  image: 'FreshetImage',
  stage: 'FreshetStage',
  phase: 'FreshetPhase',
} as const;
