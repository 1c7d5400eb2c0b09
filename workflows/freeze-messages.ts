// Freezes: `freshet freeze` stops every rollout of this Freshet (or of one pipeline) at its next
// safe point and starts none until the freeze is lifted. The state lives in one long-lived freeze
// workflow per deployment (its id carries the instance, invariant 14); it tells running rollouts
// by signal, and a rollout that starts asks for the current state. Plain JSON only.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export interface Freeze {
  reason: string;
  by: string;
  /** ISO 8601. */
  since: string;
  /** ISO 8601: the freeze lifts itself then. */
  until?: string;
}

/** Every freeze in force. `version` grows with each change, so a rollout keeps the newest it saw. */
export interface FreezeSnapshot {
  version: number;
  /** A freeze of every pipeline. */
  all?: Freeze;
  pipelines: Record<string, Freeze>;
}

/** The freeze that holds one pipeline, and whether it is the pipeline's own or everyone's. */
export interface ActiveFreeze extends Freeze {
  scope: 'all' | 'pipeline';
}

export interface FreezeRequest {
  /** Absent: every pipeline. */
  pipeline?: string;
  reason: string;
  by: string;
  until?: string;
}

export interface UnfreezeRequest {
  /** Absent: lift every freeze. */
  pipeline?: string;
  by: string;
}

/** What changed, for the notification and the log. */
export interface FreezeChange {
  kind: 'frozen' | 'unfrozen' | 'expired';
  /** Absent: every pipeline. */
  pipeline?: string;
  freeze: Freeze;
  /** Who lifted it (unfrozen). */
  by?: string;
  at: string;
}

export interface FreezeInput {
  instance: string;
  /** Carried across continue-as-new. */
  snapshot?: FreezeSnapshot;
}

export const freezeUpdate = defineUpdate<FreezeSnapshot, [FreezeRequest]>('freeze');
export const unfreezeUpdate = defineUpdate<FreezeSnapshot, [UnfreezeRequest]>('unfreeze');
export const freezeStatusQuery = defineQuery<FreezeSnapshot>('freezeStatus');
/** Sent to each running rollout after every change, with the whole state. */
export const freezeChangedSignal = defineSignal<[FreezeSnapshot]>('freezeChanged');

export const freezeWorkflowId = (instance: string) => `freshet-freeze@${instance}`;

export const noFreeze = (): FreezeSnapshot => ({ version: 0, pipelines: {} });

/** The freeze that holds `pipeline` at `nowMs`, if any: its own first, else everyone's. */
export function freezeFor(
  snapshot: FreezeSnapshot | undefined,
  pipeline: string,
  nowMs: number,
): ActiveFreeze | undefined {
  if (!snapshot) return undefined;
  const inForce = (f: Freeze | undefined) => f !== undefined && (!f.until || Date.parse(f.until) > nowMs);
  const own = snapshot.pipelines[pipeline];
  if (inForce(own) && own) return { ...own, scope: 'pipeline' };
  if (inForce(snapshot.all) && snapshot.all) return { ...snapshot.all, scope: 'all' };
  return undefined;
}

/** One line for people: "frozen (every pipeline) by alice since …: incident 42". */
export function describeFreeze(f: ActiveFreeze): string {
  return (
    `frozen (${f.scope === 'all' ? 'every pipeline' : 'this pipeline'}) by ${f.by} since ${f.since}` +
    `${f.until ? ` until ${f.until}` : ''}: ${f.reason}`
  );
}
