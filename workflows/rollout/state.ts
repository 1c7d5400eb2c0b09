// The one object a rollout keeps: what it was asked, what an operator sees (status) and the few
// values its message handlers and steps share. Every step reads and updates it; nothing else
// holds rollout state, so a step is a function of (state, stage) and can be read on its own.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  type CancellationScope,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { TargetRef } from '../../activities/kubernetes/types.ts';
import type { FreezeSnapshot } from '../freeze-messages.ts';
import type { PendingApproval } from '../rollout-approval.ts';
import { rolloutCurrentDetails } from '../rollout-details.ts';
import {
  type Decision,
  type Phase,
  type RolloutInput,
  type RolloutOutcome,
  type RolloutStatus,
  searchAttributeNames,
  type TargetState,
} from '../rollout-messages.ts';

const phaseKey = defineSearchAttributeKey(searchAttributeNames.phase, SearchAttributeType.KEYWORD);
const stageKey = defineSearchAttributeKey(searchAttributeNames.stage, SearchAttributeType.KEYWORD);

/** How to undo one update: registered before the patch, undone newest wave first. */
export interface Compensation {
  target: TargetState;
  ref: TargetRef;
  fromImage: string;
  toImage: string;
  wave: number;
  /** The wave's bound on calls at once, kept for its rollback. */
  maxParallel?: number;
}

export interface RolloutState {
  readonly input: RolloutInput;
  readonly rolloutId: string;
  /** `host/repository:tag@digest`, what every target of this rollout is patched to. */
  readonly newImage: string;
  readonly status: RolloutStatus;
  /** The approval the rollout waits for now, if any. */
  pending?: PendingApproval;
  decision?: Decision;
  abortedBy?: string;
  /** The scope of the running stage; an abort cancels it. */
  activeScope?: CancellationScope;
  /** Rollbacks retried until they succeed; an abort while the rollout is rollback-stuck cancels them. */
  readonly stuckScopes: Set<CancellationScope>;
  /** Who gave a stuck rollback up. */
  rollbackAbandonedBy?: string;
  /** Notifications in flight, and whether `rollout.started` went out; absent before the notifications patch. */
  notifications?: { pending: Promise<void>[]; started: boolean };
  /** The newest freeze state this rollout heard of (freezeChanged signal or currentFreeze). */
  freeze?: FreezeSnapshot;
  /** Whether this run honours freezes (freezePatch), decided at its first safe point. */
  freezeAware?: boolean;
  publishedPhase?: string;
  publishedStage?: string;
}

export function createRolloutState(input: RolloutInput): RolloutState {
  const { request, spec } = input;
  const rolloutId = workflowInfo().workflowId;
  return {
    input,
    rolloutId,
    stuckScopes: new Set(),
    newImage: `${request.registryHost}/${request.repository}:${request.tag}@${request.digest}`,
    status: {
      rolloutId,
      pipeline: request.pipeline,
      image: request.image,
      tag: request.tag,
      digest: request.digest,
      phase: 'planning',
      paused: false,
      stageIndex: 0,
      stages: spec.stages.length,
      targets: [],
      checks: [],
      decisions: [],
      refused: [],
    },
  };
}

/** Workflow time as ISO 8601 (deterministic: the workflow clock). */
export const now = () => new Date(Date.now()).toISOString();

/** Republishes the UI's current details from the status. */
export function refresh(state: RolloutState): void {
  setCurrentDetails(rolloutCurrentDetails(state.status));
}

/** Sets the phase, refreshes the details and publishes phase and stage as search attributes. */
export function setPhase(state: RolloutState, phase: Phase): void {
  state.status.phase = phase;
  refresh(state);
  if (!state.input.searchAttributes) return;
  if (phase === state.publishedPhase && state.status.stage === state.publishedStage) return;
  state.publishedPhase = phase;
  state.publishedStage = state.status.stage;
  upsertSearchAttributes([
    { key: phaseKey, value: phase },
    ...(state.status.stage ? [{ key: stageKey, value: state.status.stage }] : []),
  ]);
}

/** Ends a stage: what happened and why. */
export class StageStop extends Error {
  readonly outcome: RolloutOutcome;
  readonly reasonLabel: string;
  constructor(outcome: RolloutOutcome, reasonLabel: string, message: string) {
    super(message);
    this.outcome = outcome;
    this.reasonLabel = reasonLabel;
  }
}
