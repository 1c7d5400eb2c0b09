// The webhook sources Freshet understands: how each one authenticates and which parser reads
// its payloads. Adding a source is one parser file and one row here (and its name in the
// config's `webhookSources`, which this table must cover).
import type { webhookSources } from '../../config/schema.ts';
import type { WebhookAuth } from './auth.ts';
import { parseDistributionPayload } from './distribution.ts';
import { parseDockerHubPayload } from './dockerhub.ts';
import { parseGhcrPayload } from './ghcr.ts';
import { parseHarborPayload } from './harbor.ts';
import { parseQuayPayload } from './quay.ts';
import type { WebhookPayloadParser } from './types.ts';

export type WebhookSource = (typeof webhookSources)[number];

export type WebhookReceiver = { auth: WebhookAuth; parse: WebhookPayloadParser };

const webhookReceivers: Record<WebhookSource, WebhookReceiver> = {
  distribution: { auth: { kind: 'bearer-token', tokenInQuery: false }, parse: parseDistributionPayload },
  dockerhub: { auth: { kind: 'bearer-token', tokenInQuery: true }, parse: parseDockerHubPayload },
  harbor: { auth: { kind: 'bearer-token', tokenInQuery: false }, parse: parseHarborPayload },
  quay: { auth: { kind: 'bearer-token', tokenInQuery: true }, parse: parseQuayPayload },
  ghcr: { auth: { kind: 'github-signature' }, parse: parseGhcrPayload },
};

export const knownWebhookSources = Object.keys(webhookReceivers) as WebhookSource[];

/** The receiver for a source named in a URL; undefined for names that are not sources. */
export function webhookReceiverFor(source: string): WebhookReceiver | undefined {
  return Object.hasOwn(webhookReceivers, source) ? webhookReceivers[source as WebhookSource] : undefined;
}
