// A rollout's notifications: each event is one `notify` activity, started and not awaited, so a
// slow or dead sink never holds a wave, a gate or a rollback. The activity retries a few times
// within a bounded time; the rollout waits for what is still in flight only as it ends, since an
// activity of a closed workflow is never run.
import { CancellationScope, patched, proxyActivities } from '@temporalio/workflow';
import type { NotificationEvent, RolloutRef } from '../../activities/notify/events.ts';
import type { NotifyActivities } from '../../activities/notify/index.ts';
import { now, type RolloutState } from './state.ts';

/** Rollouts send notifications (before it: none). */
export const notificationsPatch = 'notifications';

const { notify } = proxyActivities<NotifyActivities>({
  startToCloseTimeout: '40 seconds',
  // The whole of a notification's retries: what the rollout's end may wait for, at worst.
  scheduleToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
  },
});

type Distribute<T> = T extends unknown ? Omit<T, 'rollout' | 'stage' | 'previousImages' | 'at'> : never;
export type RolloutEventFields = Distribute<Extract<NotificationEvent, { rollout: RolloutRef }>>;

/** Decides once, at the start, whether this rollout notifies: a rollout begun by older code never does. */
export function initNotifications(state: RolloutState): void {
  state.notifications = patched(notificationsPatch) ? { pending: [], started: false } : undefined;
}

/** `rollout.started`, once, when the first stage has planned (so the old digest is known). */
export function notifyStarted(state: RolloutState, stage: string): void {
  if (!state.notifications || state.notifications.started) return;
  state.notifications.started = true;
  notifyEvent(state, stage, { type: 'rollout.started' });
}

/** Starts the notification of one event of the given stage; returns at once. */
export function notifyEvent(state: RolloutState, stage: string, fields: RolloutEventFields): void {
  if (!state.notifications) return;
  const { request } = state.input;
  const forStage = state.status.targets.filter((t) => t.stage === stage);
  const previousImages = [
    ...new Set((forStage.length ? forStage : state.status.targets).map((t) => t.previousImage)),
  ];
  const event = {
    ...fields,
    rollout: {
      rolloutId: state.rolloutId,
      pipeline: request.pipeline,
      image: request.image,
      reference: `${request.registryHost}/${request.repository}:${request.tag}`,
      tag: request.tag,
      digest: request.digest,
    },
    stage,
    previousImages,
    at: now(),
  } as NotificationEvent;
  // Not cancelled with the stage: an abort must not swallow the news of it.
  state.notifications.pending.push(
    CancellationScope.nonCancellable(() => notify(event)).then(
      () => undefined,
      () => undefined,
    ),
  );
}

/** Waits for the notifications still in flight (bounded by the activity's scheduleToCloseTimeout). */
export async function drainNotifications(state: RolloutState): Promise<void> {
  const pending = state.notifications?.pending ?? [];
  if (pending.length === 0) return;
  await CancellationScope.nonCancellable(() => Promise.all(pending));
}
