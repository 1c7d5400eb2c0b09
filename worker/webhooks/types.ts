// What every webhook parser produces. A hint says "this repository (and tag) may have moved";
// it is never the truth (invariant 6): Freshet re-resolves the tag with a HEAD request before
// acting, so a parser may be generous but never needs to be trusted.

/** One push a registry told us about. */
export type WebhookHint = {
  /** The webhook source that reported it, e.g. `distribution`. */
  source: string;
  /** Host (and port) of the registry, when the payload names it. */
  registryHost?: string;
  repository: string;
  tag?: string;
  /** The digest the registry claims; informative only, the HEAD request decides. */
  digest?: string;
};

/** Request headers as node:http gives them: lower-case names, repeated headers as arrays. */
export type WebhookHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * Turns one parsed JSON payload into a hint per reported push, and into none for events that
 * are not pushes (pulls, deletes, blob uploads, pings). Throws `WebhookPayloadError` when the
 * payload does not have the source's shape.
 */
export type WebhookPayloadParser = (payload: unknown, headers: WebhookHeaders) => WebhookHint[];

/** A payload that is valid JSON but not what the source sends; answered with 400. */
export class WebhookPayloadError extends Error {
  override readonly name = 'WebhookPayloadError';
}

/** The part of a pino logger the HTTP layer uses; pino's `Logger` fits. */
export type LogSink = {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
};

export const silentLogSink: LogSink = { info() {}, warn() {}, error() {} };

/** The first value of a header, looked up case-insensitively; undefined when absent or repeated. */
export function singleHeader(headers: WebhookHeaders, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let value = headers[wanted];
  if (value === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === wanted);
    value = key === undefined ? undefined : headers[key];
  }
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}
