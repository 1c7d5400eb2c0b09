// How the HTTP server reads a request target: the raw path split into segments, each decoded
// exactly once, in normal form or refused. A URL parser normalises `/webhooks/%2e%2e/metrics`
// to `/metrics`; routing on what it returns would let a path reach a route it does not name, so
// routes here match segments of the raw path and nothing is resolved or decoded twice.

export type RequestTarget = { segments: string[]; query: URLSearchParams };

export type RequestTargetRefusal = { status: 400; error: string };

/** RFC 3986 pchar, `/` and the percent sign: anything else is not a path a client may send. */
const pathCharacters = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
const wellFormedEscapes = /^(?:[^%]|%[0-9A-Fa-f]{2})*$/;
/** Encoded dots, slashes and backslashes hide `..` or an extra segment from anything that routes. */
const disguisingEscapes = /%(?:2e|2f|5c|00)/i;

const malformed: RequestTargetRefusal = { status: 400, error: 'malformed request target' };
const notNormal: RequestTargetRefusal = { status: 400, error: 'request path is not in normal form' };

/**
 * The segments of an origin-form target (`/webhooks/quay?token=…` → `['webhooks', 'quay']`).
 * `/` is `['']`; empty segments (`//metrics`, `/metrics/`) are kept, so they match no route.
 */
export function parseRequestTarget(raw: string): RequestTarget | RequestTargetRefusal {
  if (!raw.startsWith('/')) return malformed;
  const queryAt = raw.indexOf('?');
  const path = queryAt === -1 ? raw : raw.slice(0, queryAt);
  const query = queryAt === -1 ? '' : raw.slice(queryAt + 1);
  if (!pathCharacters.test(path) || !wellFormedEscapes.test(path)) return malformed;
  if (disguisingEscapes.test(path)) return notNormal;
  const segments: string[] = [];
  for (const rawSegment of path.slice(1).split('/')) {
    if (rawSegment === '.' || rawSegment === '..') return notNormal;
    let segment: string;
    try {
      segment = decodeURIComponent(rawSegment);
    } catch {
      return malformed;
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\u0000-\u001f\u007f]/.test(segment)) return malformed;
    segments.push(segment);
  }
  return { segments, query: new URLSearchParams(query) };
}

export function isRequestTargetRefusal(
  target: RequestTarget | RequestTargetRefusal,
): target is RequestTargetRefusal {
  return 'error' in target;
}
