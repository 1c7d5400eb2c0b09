// `workload.stale` from the freshness collection: once per workload and staleness episode, not
// on every collection. An episode is a target behind since one moment (the first build it
// missed); it ends when the target catches up or misses from a newer moment on. The memory is
// the daemon's: after a restart a stale workload is told again, with the same Idempotency-Key
// (the episode is in the event's id), so a receiver that keeps keys drops the repeat.
import { setTimeout as sleep } from 'node:timers/promises';
import type { NotificationEvent, WorkloadStaleEvent } from '../activities/notify/events.ts';
import type { NotificationSender } from '../activities/notify/send.ts';
import type { TargetFreshness } from './freshness.ts';
import type { LogSink } from './webhooks/types.ts';

const keyOf = (t: TargetFreshness) => [t.pipeline, t.stage, t.namespace, t.deployment, t.container].join('/');

export function createStaleTracker(staleAfterMs: number) {
  const told = new Map<string, number>();
  return {
    /** The events of targets that crossed the threshold in an episode not told yet. */
    observe(targets: readonly TargetFreshness[], nowMs: number): WorkloadStaleEvent[] {
      const behind = new Set<string>();
      const events: WorkloadStaleEvent[] = [];
      for (const t of targets) {
        if (t.upToDate || t.behindSince === undefined) continue;
        const key = keyOf(t);
        behind.add(key);
        const staleSeconds = nowMs / 1000 - t.behindSince;
        if (staleSeconds * 1000 < staleAfterMs || told.get(key) === t.behindSince) continue;
        told.set(key, t.behindSince);
        events.push({
          type: 'workload.stale',
          pipeline: t.pipeline,
          stage: t.stage,
          namespace: t.namespace,
          workload: t.deployment,
          container: t.container,
          image: t.image,
          ...(t.runningDigest ? { runningDigest: t.runningDigest } : {}),
          ...(t.latestDigest ? { latestDigest: t.latestDigest } : {}),
          behindSince: new Date(t.behindSince * 1000).toISOString(),
          staleSeconds: Math.round(staleSeconds),
          at: new Date(nowMs).toISOString(),
        });
      }
      for (const key of told.keys()) if (!behind.has(key)) told.delete(key);
      return events;
    },
  };
}

/**
 * Sends one event outside any workflow, retrying the sinks that failed a bounded number of
 * times with growing pauses; never throws, and returns only when done or given up.
 */
export async function sendWithRetries(
  sender: NotificationSender,
  event: NotificationEvent,
  logger: LogSink,
  { attempts = 5, firstPauseMs = 2_000 } = {},
): Promise<void> {
  const done = new Set<string>();
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const results = await sender.send(event, done);
    for (const r of results) if (r.result !== 'failed') done.add(r.sink);
    const failed = results.filter((r) => r.result !== 'sent');
    for (const f of failed)
      logger.warn({ sink: f.sink, event: event.type, attempt, error: f.error }, 'notification not delivered');
    if (!results.some((r) => r.result === 'failed')) return;
    if (attempt < attempts) await sleep(firstPauseMs * 2 ** (attempt - 1), undefined, { ref: false });
  }
}
