// The generic JSON webhook, signed so a receiver knows Freshet sent it and can refuse replays:
//   X-Freshet-Timestamp: <unix seconds>
//   X-Freshet-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//   Idempotency-Key: <the event's stable id>
// The timestamp is inside the signed bytes, so an old request cannot be replayed with a new one.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EventDescription } from './describe.ts';
import { type NotificationEvent, notificationId } from './events.ts';
import { postBody } from './post.ts';

export const signatureHeader = 'x-freshet-signature';
export const timestampHeader = 'x-freshet-timestamp';
export const idempotencyHeader = 'idempotency-key';
export const eventHeader = 'x-freshet-event';

export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Whether a request carries a valid signature made at most `toleranceSeconds` from `nowSeconds`. */
export function verifyWebhookSignature(
  secret: string,
  headers: { signature?: string | undefined; timestamp?: string | undefined },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): 'ok' | 'missing' | 'stale' | 'mismatch' {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return 'missing';
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return 'stale';
  const want = Buffer.from(webhookSignature(secret, timestamp, body));
  const got = Buffer.from(signature);
  return got.length === want.length && timingSafeEqual(got, want) ? 'ok' : 'mismatch';
}

export interface WebhookPayload {
  id: string;
  type: string;
  title: string;
  facts: EventDescription['facts'];
  link?: string;
  commands?: string[];
  event: NotificationEvent;
}

export function webhookPayload(event: NotificationEvent, d: EventDescription): WebhookPayload {
  return {
    id: notificationId(event),
    type: event.type,
    title: d.title,
    facts: d.facts,
    ...(d.link ? { link: d.link } : {}),
    ...(d.commands ? { commands: d.commands } : {}),
    event,
  };
}

export async function sendWebhook(
  url: string,
  secret: string,
  payload: WebhookPayload,
  timeoutMs: number,
  nowMs = Date.now(),
): Promise<void> {
  const body = JSON.stringify(payload);
  const timestamp = String(Math.floor(nowMs / 1000));
  await postBody(
    url,
    body,
    {
      [timestampHeader]: timestamp,
      [signatureHeader]: webhookSignature(secret, timestamp, body),
      [idempotencyHeader]: payload.id,
      [eventHeader]: payload.type,
    },
    timeoutMs,
  );
}
