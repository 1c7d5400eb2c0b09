// One webhook request, from raw bytes to a status, independent of the HTTP server so every
// answer can be tested without sockets. A request that is refused for any reason forwards
// nothing (invariant 9); secrets, the Authorization header and the query never reach a log line
// or a response (invariant 10).
import { isAuthenticated } from './auth.ts';
import { webhookReceiverFor } from './index.ts';
import {
  type LogSink,
  silentLogSink,
  singleHeader,
  type WebhookHeaders,
  type WebhookHint,
  WebhookPayloadError,
} from './types.ts';

/** Registries send small JSON documents; anything larger is refused before it is parsed. */
export const maxWebhookBodyBytes = 1024 * 1024;

export type WebhookRequest = {
  /** The `<source>` of `/webhooks/<source>`. */
  source: string;
  headers: WebhookHeaders;
  rawBody: Buffer;
  query: URLSearchParams;
};

export type HintDisposition = 'accepted' | 'ignored';

export type WebhookOptions = {
  /** The configured secret of a source; undefined when no registry uses that source. */
  secretFor(source: string): string | undefined;
  /** Hands hints on (to the watch workflows); 'ignored' when none names a watched repository. */
  onHints(hints: WebhookHint[]): Promise<HintDisposition>;
  logger?: LogSink;
};

export type WebhookResponseBody =
  | { error: string; reason?: string }
  | { status: HintDisposition; hints: number; reason?: string };

export type WebhookResponse = { status: number; body: WebhookResponseBody };

export const bodyTooLarge: Readonly<WebhookResponse> = {
  status: 413,
  body: { error: `body larger than ${maxWebhookBodyBytes} bytes` },
};

/** Whether a request for this source can succeed at all; lets a server refuse before reading a body. */
export function isWebhookSourceEnabled(source: string, options: WebhookOptions): boolean {
  return webhookReceiverFor(source) !== undefined && Boolean(options.secretFor(source));
}

export async function handleWebhook(
  request: WebhookRequest,
  options: WebhookOptions,
): Promise<WebhookResponse> {
  const log = options.logger ?? silentLogSink;
  const { source } = request;
  const receiver = webhookReceiverFor(source);
  const secret = receiver ? options.secretFor(source) : undefined;
  // One answer for unknown and unconfigured sources: a caller learns nothing about the config.
  if (!receiver || !secret) return { status: 404, body: { error: 'no webhook receiver at this path' } };

  if (request.rawBody.length > maxWebhookBodyBytes) return bodyTooLarge;
  if (!isAuthenticated(receiver.auth, secret, request)) {
    log.warn({ source }, 'webhook refused: missing or wrong credentials');
    return { status: 401, body: { error: 'missing or wrong credentials' } };
  }
  if (!isJsonContentType(singleHeader(request.headers, 'content-type'))) {
    return { status: 415, body: { error: 'expected a JSON body (Content-Type application/json)' } };
  }

  let payload: unknown;
  try {
    payload = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    log.warn({ source }, 'webhook refused: malformed JSON');
    return { status: 400, body: { error: 'malformed JSON' } };
  }

  let hints: WebhookHint[];
  try {
    hints = withoutDuplicates(receiver.parse(payload, request.headers));
  } catch (err) {
    if (!(err instanceof WebhookPayloadError)) throw err;
    log.warn({ source, reason: err.message }, 'webhook refused: not a payload of this source');
    return { status: 400, body: { error: `not a ${source} webhook payload`, reason: err.message } };
  }
  if (hints.length === 0) {
    return { status: 202, body: { status: 'ignored', hints: 0, reason: 'no image push in this event' } };
  }

  let disposition: HintDisposition;
  try {
    disposition = await options.onHints(hints);
  } catch (err) {
    // The failure is ours and passing: 503 says so, and Distribution redelivers until it gets a 2xx.
    log.error({ source, err }, 'webhook hints could not be forwarded');
    return { status: 503, body: { error: 'cannot forward the event now; retry later' } };
  }
  log.info({ source, hints, disposition }, 'webhook received');
  return disposition === 'accepted'
    ? { status: 202, body: { status: 'accepted', hints: hints.length } }
    : { status: 202, body: { status: 'ignored', hints: hints.length, reason: 'no watched image matches' } };
}

/** `application/json` and `application/<anything>+json`; an absent header is given the benefit. */
function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

/** A payload may name one push twice (repeated events, a tag listed twice); check each once. */
function withoutDuplicates(hints: WebhookHint[]): WebhookHint[] {
  const seen = new Set<string>();
  return hints.filter((hint) => {
    const key = JSON.stringify([hint.source, hint.registryHost, hint.repository, hint.tag, hint.digest]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
