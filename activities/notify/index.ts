// The `notify` activity: a rollout's event to every sink that wants it. A sink that fails is
// retried by the activity's retry policy; the sinks already served are kept in the heartbeat
// details, so a retry sends only to those that failed. Delivery is at least once: a worker that
// dies between a send and its heartbeat sends again, with the same Idempotency-Key.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { LogSink } from '../../worker/webhooks/types.ts';
import { type NotificationEvent, notificationId } from './events.ts';
import type { NotificationSender, SinkResult } from './send.ts';

export function createNotifyActivities(deps: { sender: NotificationSender; logger?: LogSink }) {
  return {
    async notify(event: NotificationEvent): Promise<SinkResult[]> {
      const ctx = Context.current();
      const details: unknown = ctx.info.heartbeatDetails;
      const done = new Set(Array.isArray(details) ? details.filter((d) => typeof d === 'string') : []);
      const id = notificationId(event);
      const results = await deps.sender.send(event, done);
      for (const r of results) {
        if (r.result !== 'failed') done.add(r.sink);
        if (r.result !== 'sent')
          deps.logger?.warn(
            { sink: r.sink, event: event.type, id, error: r.error },
            'notification not delivered',
          );
      }
      ctx.heartbeat([...done]);
      const failed = results.filter((r) => r.result === 'failed');
      if (failed.length > 0) {
        throw ApplicationFailure.retryable(
          `notification ${id}: ${failed.map((f) => `sink ${f.sink}: ${f.error}`).join('; ')}`,
          'NotificationNotDelivered',
        );
      }
      return results;
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
