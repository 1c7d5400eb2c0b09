// Sends one event to every configured sink that wants it. Secrets (the Slack URL, the webhook's
// signing secret) are read here, at send time, from the daemon's own config; the event names no
// sink, so a workflow cannot send anywhere the config does not list (invariant 12).

import type { SinkConfig } from '../../config/notifications-schema.ts';
import type { Config } from '../../config/schema.ts';
import { resolveSecret } from '../../config/secrets.ts';
import { describeEvent } from './describe.ts';
import { eventPipeline, type NotificationEvent, notificationId } from './events.ts';
import { DeliveryError } from './post.ts';
import { sendSlack, slackMessage } from './slack.ts';
import { sendWebhook, webhookPayload } from './webhook.ts';

export interface NotificationMetrics {
  inc(labels: { sink: string; event: string; result: 'sent' | 'failed' | 'refused' }): void;
}

export interface SinkResult {
  sink: string;
  result: 'sent' | 'failed' | 'refused';
  /** Safe to show: a status or a network error's code, never a URL or a secret. */
  error?: string;
}

export function sinksFor(config: Config, event: NotificationEvent): SinkConfig[] {
  const pipeline = eventPipeline(event);
  return config.notifications.sinks.filter(
    (s) =>
      (!s.events || s.events.includes(event.type)) &&
      (!s.pipelines || pipeline === undefined || s.pipelines.includes(pipeline)),
  );
}

export function createNotificationSender(deps: {
  config: Config;
  metrics: NotificationMetrics;
  env?: NodeJS.ProcessEnv;
}) {
  const { config, metrics } = deps;
  const ctx = { temporalUiUrl: config.notifications.temporalUiUrl, namespace: config.temporal.namespace };

  async function sendTo(sink: SinkConfig, event: NotificationEvent): Promise<void> {
    const id = notificationId(event);
    const d = describeEvent(event, ctx);
    const where = `notifications.sinks (${sink.name})`;
    if (sink.slack) {
      const url = resolveSecret(
        { env: sink.slack.urlEnv, file: sink.slack.urlFile },
        `${where}.slack.url`,
        deps.env,
      );
      await sendSlack(url, slackMessage(d, id), id, sink.timeout);
    } else if (sink.webhook) {
      const secret = resolveSecret(
        { env: sink.webhook.secretEnv, file: sink.webhook.secretFile },
        `${where}.webhook.secret`,
        deps.env,
      );
      await sendWebhook(sink.webhook.url, secret, webhookPayload(event, d), sink.timeout);
    }
  }

  return {
    /** Sends to each sink that wants the event, except those in `skip` (already sent). */
    async send(event: NotificationEvent, skip: ReadonlySet<string> = new Set()): Promise<SinkResult[]> {
      const sinks = sinksFor(config, event).filter((s) => !skip.has(s.name));
      return Promise.all(
        sinks.map(async (sink): Promise<SinkResult> => {
          try {
            await sendTo(sink, event);
            metrics.inc({ sink: sink.name, event: event.type, result: 'sent' });
            return { sink: sink.name, result: 'sent' };
          } catch (err) {
            // A missing secret is fixed by an operator, not by trying again; it is counted as refused.
            const retryable = err instanceof DeliveryError && err.retryable;
            const result = retryable ? 'failed' : 'refused';
            metrics.inc({ sink: sink.name, event: event.type, result });
            const error = err instanceof Error ? err.message : String(err);
            return { sink: sink.name, result, error };
          }
        }),
      );
    },
  };
}

export type NotificationSender = ReturnType<typeof createNotificationSender>;
