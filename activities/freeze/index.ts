// The freeze workflow's side effects and a rollout's question about the current freeze. Running
// rollouts are found by visibility (this task queue, ids of this instance) and each is signalled
// the whole state; the listing runs twice, a few seconds apart, so a rollout that started while
// the first listing ran (visibility lags a little) still hears of the change. A rollout that
// starts later asks for the state itself (currentFreeze), so none is missed.
import { heartbeat, sleep } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  type FreezeChange,
  type FreezeSnapshot,
  freezeChangedSignal,
  freezeStatusQuery,
  freezeWorkflowId,
  noFreeze,
} from '../../workflows/freeze-messages.ts';
import type { FreezeChangedEvent } from '../notify/events.ts';

export interface FreezeActivityOptions {
  client: Client;
  taskQueue: string;
  instance: string;
  /** Where a freeze change is announced to people (the notification sinks); logs it by default. */
  sendFreezeNotification?: (change: FreezeChange) => Promise<void>;
  log?: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
  /** Pause between the two listings; default 3 s. */
  relistAfterMs?: number;
}

const runningRollouts = (taskQueue: string) =>
  `WorkflowType = 'rolloutWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;

export function createFreezeActivities(opts: FreezeActivityOptions) {
  const { client, taskQueue, instance } = opts;
  const ownId = (id: string) => id.endsWith(`@${instance}`);

  async function signalRunning(snapshot: FreezeSnapshot, told: Set<string>): Promise<void> {
    for await (const wf of client.workflow.list({ query: runningRollouts(taskQueue) })) {
      if (!ownId(wf.workflowId) || told.has(wf.workflowId)) continue;
      told.add(wf.workflowId);
      // A rollout that closed since the listing has nothing to stop.
      await client.workflow
        .getHandle(wf.workflowId)
        .signal(freezeChangedSignal, snapshot)
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
      heartbeat();
    }
  }

  return {
    /** Tells every running rollout of this instance the freeze state. */
    async announceFreeze(input: { instance: string; snapshot: FreezeSnapshot }): Promise<number> {
      const told = new Set<string>();
      await signalRunning(input.snapshot, told);
      await sleep(opts.relistAfterMs ?? 3_000);
      await signalRunning(input.snapshot, told);
      return told.size;
    },
    /** Hands one freeze change to the notification hook. */
    async notifyFreezeChange(change: FreezeChange): Promise<void> {
      await (opts.sendFreezeNotification ?? logFreezeChange(opts.log))(change);
    },
    /** The freeze state now; no freeze workflow yet means nothing was ever frozen. */
    async currentFreeze(): Promise<FreezeSnapshot> {
      return readFreeze(client, instance);
    },
  };
}

/** The freeze workflow's state, from its query; nothing frozen when it has never run. */
export async function readFreeze(client: Client, instance: string): Promise<FreezeSnapshot> {
  try {
    return await client.workflow.getHandle(freezeWorkflowId(instance)).query(freezeStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return noFreeze();
    throw err;
  }
}

/**
 * The notification hook's default: a log line. The notification sinks replace it (daemon.ts
 * passes `sendFreezeNotification`), so each change is sent once, from this activity.
 */
export function logFreezeChange(log: FreezeActivityOptions['log']) {
  return async (change: FreezeChange): Promise<void> => {
    log?.info(
      {
        kind: change.kind,
        pipeline: change.pipeline ?? '(every pipeline)',
        by: change.by ?? change.freeze.by,
        reason: change.freeze.reason,
        until: change.freeze.until,
      },
      `freeze ${change.kind}`,
    );
  };
}

/** A freeze change as the notification sinks hear of it. */
export function freezeChangedEvent(change: FreezeChange): FreezeChangedEvent {
  return {
    type: 'freeze.changed',
    change: change.kind,
    ...(change.pipeline !== undefined ? { pipeline: change.pipeline } : {}),
    reason: change.freeze.reason,
    by: change.freeze.by,
    ...(change.kind === 'unfrozen' && change.by ? { liftedBy: change.by } : {}),
    since: change.freeze.since,
    ...(change.freeze.until ? { until: change.freeze.until } : {}),
    at: change.at,
  };
}

export type FreezeActivities = ReturnType<typeof createFreezeActivities>;
