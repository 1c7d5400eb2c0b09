// Every webhook request is authenticated (invariant 9): before its body is read where the
// credential travels in a header or the query, and before it is parsed where the credential is a
// signature of the body. Secrets and presented credentials are compared in constant time, and
// never logged or echoed.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { singleHeader, type WebhookHeaders } from './types.ts';

export type WebhookAuth =
  /**
   * A shared token in `Authorization: Bearer <token>`. `tokenInQuery` also accepts `?token=` for
   * registries whose webhook settings take only a URL; query strings end up in proxies' access
   * logs, so only those sources get it.
   */
  | { kind: 'bearer-token'; tokenInQuery: boolean }
  /** GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. */
  | { kind: 'github-signature' };

export type AuthenticatedRequest = {
  headers: WebhookHeaders;
  rawBody: Buffer;
  query: URLSearchParams;
};

export type RequestBeforeBody = Omit<AuthenticatedRequest, 'rawBody'>;

/** True when the credential is a signature of the body, so the body must be read to check it. */
export function signsBody(auth: WebhookAuth): boolean {
  return auth.kind === 'github-signature';
}

/**
 * What can be checked before any body byte is read: the whole credential of a token source, and
 * the presence of a well-formed signature for a source that signs its body.
 */
export function mayBeAuthentic(auth: WebhookAuth, secret: string, request: RequestBeforeBody): boolean {
  if (!secret) return false;
  switch (auth.kind) {
    case 'bearer-token': {
      const token = presentedToken(request, auth.tokenInQuery);
      return token !== undefined && equalInConstantTime(token, secret);
    }
    case 'github-signature':
      return presentedGithubSignature(request) !== undefined;
  }
}

export function isAuthenticated(auth: WebhookAuth, secret: string, request: AuthenticatedRequest): boolean {
  if (!mayBeAuthentic(auth, secret, request)) return false;
  return auth.kind === 'github-signature' ? hasValidGithubSignature(secret, request) : true;
}

function presentedToken(request: RequestBeforeBody, tokenInQuery: boolean): string | undefined {
  const authorization = singleHeader(request.headers, 'authorization');
  // A malformed header is not excused by a token in the query.
  if (authorization !== undefined) return /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
  if (!tokenInQuery) return undefined;
  const tokens = request.query.getAll('token');
  return tokens.length === 1 ? tokens[0] : undefined;
}

/** Hashing first gives equal-length inputs, so neither the content nor the length leaks. */
function equalInConstantTime(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function presentedGithubSignature(request: RequestBeforeBody): string | undefined {
  const header = singleHeader(request.headers, 'x-hub-signature-256');
  return header === undefined ? undefined : /^sha256=([0-9a-f]{64})$/i.exec(header.trim())?.[1];
}

function hasValidGithubSignature(secret: string, request: AuthenticatedRequest): boolean {
  const hex = presentedGithubSignature(request);
  if (hex === undefined) return false;
  const expected = createHmac('sha256', secret).update(request.rawBody).digest();
  return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
}
