// The refused-webhook counter. Its labels stay bounded whatever strangers send: the source is
// one of the known sources or `other` (the path segment is theirs to choose), the reason one of
// a fixed list.
import { Counter, type Registry } from 'prom-client';
import { type WebhookRefusalReason, webhookRefusalReasons } from './handler.ts';
import { knownWebhookSources, webhookReceiverFor } from './index.ts';

export function createWebhookMetrics(registry: Registry) {
  const refused = new Counter({
    name: 'freshet_webhooks_refused_total',
    help: 'Webhook requests refused, by source (or other) and reason; nothing was forwarded for them',
    labelNames: ['source', 'reason'],
    registers: [registry],
  });
  // Every series exists from the start at 0, so increase() sees the first refusal.
  for (const source of [...knownWebhookSources, 'other'])
    for (const reason of webhookRefusalReasons) refused.inc({ source, reason }, 0);
  return {
    refused(source: string, reason: WebhookRefusalReason): void {
      refused.inc({ source: webhookReceiverFor(source) ? source : 'other', reason });
    },
  };
}
