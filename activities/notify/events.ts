// What Freshet tells people about: one event type per thing that happened, as a discriminated
// union on `type`. A new kind of event (a freeze, a signature gate) adds one member here and one
// name to notificationEventTypes; the sinks render every member through describeEvent. Events
// are plain JSON that travel in workflow histories, so they never carry a secret.

/** The rollout an event is about: the image and the digest it rolls out. */
export interface RolloutRef {
  rolloutId: string;
  pipeline: string;
  /** The image's name in the config. */
  image: string;
  /** `host/repository:tag`, as Deployments name it. */
  reference: string;
  tag: string;
  /** The new digest. */
  digest: string;
}

/** What every rollout event carries: the rollout, the stage and what the stage's targets ran before. */
interface RolloutEventBase {
  rollout: RolloutRef;
  stage: string;
  /** Distinct images the stage's targets ran before this rollout (the previous stage's, until planned). */
  previousImages: string[];
  /** When it happened (ISO 8601, the workflow's clock). */
  at: string;
}

export type RolloutStartedEvent = RolloutEventBase & { type: 'rollout.started' };
export type ApprovalWaitingEvent = RolloutEventBase & {
  type: 'approval.waiting';
  deadline: string;
  approvers?: string[];
};
export type ApprovalDecidedEvent = RolloutEventBase & {
  type: 'approval.approved' | 'approval.rejected';
  by: string;
  comment?: string;
};
export type RolledBackEvent = RolloutEventBase & {
  type: 'rollout.rolled-back';
  /** Why the stage stopped, as the rollout's result says it. */
  reason: string;
  /** not_ready, check_failed, aborted, … (the freshet_rollbacks_total reason). */
  reasonLabel: string;
  reverted: number;
  problems: string[];
};
export type RollbackStuckEvent = RolloutEventBase & {
  type: 'rollback.stuck';
  /** `namespace/workload` that cannot be patched back. */
  target: string;
  error: string;
};
export type RolloutSucceededEvent = RolloutEventBase & {
  type: 'rollout.succeeded';
  /** From the first sighting of the digest to the last stage done. */
  timeToProductionSeconds: number;
};
/** Any other end: rejected, not approved in time, aborted, superseded or failed. */
export type RolloutStoppedEvent = RolloutEventBase & {
  type: 'rollout.stopped';
  outcome: string;
  reason: string;
};

/** A workload that has not run the newest build of its tag for longer than the threshold. */
export interface WorkloadStaleEvent {
  type: 'workload.stale';
  pipeline: string;
  stage: string;
  namespace: string;
  workload: string;
  container: string;
  image: string;
  runningDigest?: string;
  latestDigest?: string;
  /** When the first build it missed was seen (ISO 8601): the start of this staleness episode. */
  behindSince: string;
  staleSeconds: number;
  at: string;
}

/** A freeze set (`freshet freeze`), lifted (`freshet unfreeze`) or expired at its `until`. */
export interface FreezeChangedEvent {
  type: 'freeze.changed';
  change: 'frozen' | 'unfrozen' | 'expired';
  /** Absent: every pipeline. */
  pipeline?: string;
  reason: string;
  /** Who set it. */
  by: string;
  /** Who lifted it (unfrozen). */
  liftedBy?: string;
  since: string;
  until?: string;
  at: string;
}

export type NotificationEvent =
  | RolloutStartedEvent
  | ApprovalWaitingEvent
  | ApprovalDecidedEvent
  | RolledBackEvent
  | RollbackStuckEvent
  | RolloutSucceededEvent
  | RolloutStoppedEvent
  | WorkloadStaleEvent
  | FreezeChangedEvent;

export type NotificationEventType = NotificationEvent['type'];

/** Every event type, in the order the README lists them; the config's `events` lists choose from these. */
export const notificationEventTypes = [
  'rollout.started',
  'approval.waiting',
  'approval.approved',
  'approval.rejected',
  'rollout.rolled-back',
  'rollback.stuck',
  'rollout.succeeded',
  'rollout.stopped',
  'workload.stale',
  'freeze.changed',
] as const satisfies readonly NotificationEventType[];

type Missing = Exclude<NotificationEventType, (typeof notificationEventTypes)[number]>;
// Fails to compile when a member of the union is missing from the list.
const everyTypeListed: Missing extends never ? true : Missing = true;
void everyTypeListed;

/**
 * The event's stable id, the same however often it is sent: the rollout, the event and the
 * stage (each happens at most once per stage of a rollout), or for staleness the workload and
 * the start of its episode. Sinks send it as `Idempotency-Key` so a receiver drops repeats.
 */
export function notificationId(event: NotificationEvent): string {
  if (event.type === 'workload.stale') {
    return [
      'stale',
      event.pipeline,
      event.stage,
      event.namespace,
      event.workload,
      event.container,
      event.behindSince,
    ].join('/');
  }
  if (event.type === 'freeze.changed')
    return ['freeze', event.pipeline ?? '*', event.since, event.change].join('/');
  return `${event.rollout.rolloutId}/${event.type}/${event.stage}`;
}

/** The pipeline an event belongs to, for a sink's `pipelines` filter; undefined: every pipeline's. */
export function eventPipeline(event: NotificationEvent): string | undefined {
  return 'rollout' in event ? event.rollout.pipeline : event.pipeline;
}
