// Heartbeats on a timer while an activity works, so a worker that dies is noticed within the
// activity's heartbeat timeout instead of its start-to-close, however long one request takes.
import { asyncLocalStorage } from '@temporalio/activity';

/** Often enough for the shortest heartbeat timeout the workflows set; the SDK throttles what it sends. */
export const heartbeatEveryMs = 500;

/**
 * Runs `work`, heartbeating every `heartbeatEveryMs` with the details last given to `report`
 * (which also heartbeats them at once). Outside an activity it just runs `work`.
 */
export async function heartbeating<T>(work: (report: (details: unknown) => void) => Promise<T>): Promise<T> {
  const activity = asyncLocalStorage.getStore();
  if (!activity) return work(() => undefined);
  let last: unknown;
  const timer = setInterval(() => activity.heartbeat(last), heartbeatEveryMs);
  try {
    return await work((details) => {
      last = details;
      activity.heartbeat(details);
    });
  } finally {
    clearInterval(timer);
  }
}
