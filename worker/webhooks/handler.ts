// One webhook request, from raw bytes to a status, independent of the HTTP server so every
// answer can be tested without sockets. A request that is refused for any reason forwards
// nothing (invariant 9); secrets, the Authorization header and the query never reach a log line
// or a response (invariant 10).
import { isAuthenticated, mayBeAuthentic, type RequestBeforeBody, signsBody } from './auth.ts';
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

/** Why a webhook request was refused; the label of `freshet_webhooks_refused_total`. */
export const webhookRefusalReasons = [
  'unknown_source',
  'unauthorized',
  'too_large',
  'unsupported_media_type',
  'malformed',
  'busy',
  'forward_failed',
] as const;
export type WebhookRefusalReason = (typeof webhookRefusalReasons)[number];

export type WebhookOptions = {
  /** The configured secret of a source; undefined when no registry uses that source. */
  secretFor(source: string): string | undefined;
  /** Hands hints on (to the watch workflows); 'ignored' when none names a watched repository. */
  onHints(hints: WebhookHint[]): Promise<HintDisposition>;
  /** Told once per refused request, for the refusal counter. */
  onRefused?(source: string, reason: WebhookRefusalReason): void;
  logger?: LogSink;
};

export type WebhookResponseBody =
  | { error: string; reason?: string }
  | { status: HintDisposition; hints: number; reason?: string };

export type WebhookResponse = { status: number; body: WebhookResponseBody; refusal?: WebhookRefusalReason };

export const bodyTooLarge: Readonly<WebhookResponse> = {
  status: 413,
  body: { error: `body larger than ${maxWebhookBodyBytes} bytes` },
  refusal: 'too_large',
};

const noReceiver: Readonly<WebhookResponse> = {
  status: 404,
  body: { error: 'no webhook receiver at this path' },
  refusal: 'unknown_source',
};

const unauthorized: Readonly<WebhookResponse> = {
  status: 401,
  body: { error: 'missing or wrong credentials' },
  refusal: 'unauthorized',
};

/**
 * What the server must do before reading a body: refuse it (unknown source, wrong token, no
 * signature), read it unauthenticated (a source that signs the body), or read it authenticated.
 */
export type BodyAdmission =
  | { admitted: false; response: WebhookResponse }
  | { admitted: true; authenticated: boolean };

export function admitWebhookBody(
  request: RequestBeforeBody & { source: string },
  options: WebhookOptions,
): BodyAdmission {
  const receiver = webhookReceiverFor(request.source);
  const secret = receiver ? options.secretFor(request.source) : undefined;
  if (!receiver || !secret) return { admitted: false, response: noReceiver };
  if (!mayBeAuthentic(receiver.auth, secret, request)) {
    (options.logger ?? silentLogSink).warn(
      { source: request.source },
      'webhook refused: missing or wrong credentials',
    );
    return { admitted: false, response: unauthorized };
  }
  return { admitted: true, authenticated: !signsBody(receiver.auth) };
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
  if (!receiver || !secret) return noReceiver;

  if (request.rawBody.length > maxWebhookBodyBytes) return bodyTooLarge;
  if (!isAuthenticated(receiver.auth, secret, request)) {
    log.warn({ source }, 'webhook refused: missing or wrong credentials');
    return unauthorized;
  }
  if (!isJsonContentType(singleHeader(request.headers, 'content-type'))) {
    return {
      status: 415,
      body: { error: 'expected a JSON body (Content-Type application/json)' },
      refusal: 'unsupported_media_type',
    };
  }

  let payload: unknown;
  try {
    payload = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    log.warn({ source }, 'webhook refused: malformed JSON');
    return { status: 400, body: { error: 'malformed JSON' }, refusal: 'malformed' };
  }

  let hints: WebhookHint[];
  try {
    hints = withoutDuplicates(receiver.parse(payload, request.headers));
  } catch (err) {
    if (!(err instanceof WebhookPayloadError)) throw err;
    log.warn({ source, reason: err.message }, 'webhook refused: not a payload of this source');
    return {
      status: 400,
      body: { error: `not a ${source} webhook payload`, reason: err.message },
      refusal: 'malformed',
    };
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
    return {
      status: 503,
      body: { error: 'cannot forward the event now; retry later' },
      refusal: 'forward_failed',
    };
  }
  // A count and a few names: one request may report tens of thousands of pushes.
  log.info(
    {
      source,
      hints: hints.length,
      repositories: [...new Set(hints.map((h) => h.repository))].slice(0, 10),
      disposition,
    },
    'webhook received',
  );
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
