// How Freshet talks HTTP to one registry: credentials and the Bearer token exchange, a
// concurrency limit, a timeout on every request, retries that honour Retry-After, a metrics
// hook, and errors a person can act on (invariants 7 and 10).
import {
  type BearerChallenge,
  basicAuthorization,
  bearerChallenge,
  type RegistryAuth,
  type StaticAuth,
  secretsOf,
  TokenCache,
  tokenUrl,
} from './auth.ts';
import { readAtMost } from './bounded-body.ts';
import { describeStatus, isRetryableStatus, RegistryError, redact } from './errors.ts';
import { decodeJson, registryErrorDetail, tokenResponseSchema } from './manifest-schemas.ts';
import { mediaTypeOf } from './media-types.ts';
import { parseRateLimit, type RateLimitBudget } from './rate-limit.ts';
import { backoffDelay, parseRetryAfter, sleep } from './retry.ts';
import { Semaphore } from './semaphore.ts';
import { realmReceivesCredentials, redirectedHint, withheldHint } from './token-realms.ts';

export type RegistryEndpoint = 'manifest' | 'tags' | 'blob' | 'token' | 'referrers';

/** One HTTP exchange, reported once per attempt; `code` is the status, `network` or `timeout`. */
export interface RegistryRequestEvent {
  registry: string;
  method: string;
  code: string;
  durationSeconds: number;
  endpoint: RegistryEndpoint;
}

export interface TransportOptions {
  name: string;
  url: URL;
  auth: RegistryAuth;
  maxConcurrency: number;
  timeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  /** A Retry-After longer than this is not slept through: the error carries it to the caller. */
  maxRetryAfterMs: number;
  onRequest?: (event: RegistryRequestEvent) => void;
  /** Every answer that announced the registry's request budget (Docker Hub's ratelimit-* headers). */
  onRateLimit?: (registry: string, budget: RateLimitBudget) => void;
  /** Where the credentials come from (`REG_USER/REG_PASS`), named in 401 errors; never the values. */
  credentialsHint?: string;
  /** Token realm hosts besides the registry's own that may receive its credentials. */
  tokenRealms?: readonly string[];
  /** The config key that lists them, named when credentials were withheld from a realm. */
  tokenRealmsKey?: string;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: URL;
  endpoint: RegistryEndpoint;
  /** How a person names what was asked for: `acme/web:1.4`. */
  target: string;
  /** The repository the request is about: Bearer scopes are per repository. */
  repository?: string;
  headers?: Record<string, string>;
  /** A form for POST (the OAuth2 token exchange). */
  body?: URLSearchParams;
  /** Statuses handed back instead of thrown (2xx always are), e.g. 304 for If-None-Match. */
  acceptStatus?: readonly number[];
  /** A longer body is refused, by its Content-Length or while it streams in, and not retried. */
  maxBytes?: number;
}

export interface RegistryResponse {
  status: number;
  headers: Headers;
  /** Empty for HEAD. */
  body: Uint8Array;
  /** Where the answer came from, after redirects. */
  url: URL;
}

type ErrorExtras = { status?: number; retryable?: boolean; retryAfterMs?: number | undefined };

export class RegistryTransport {
  readonly #opts: TransportOptions;
  readonly #semaphore: Semaphore;
  /** Every secret seen so far: a credential source may hand out new ones at any time. */
  readonly #secrets = new Set<string>();
  readonly #tokens = new TokenCache();
  readonly #pendingTokens = new Map<string, Promise<string>>();
  /** The last Bearer challenge per repository, so an expired token is renewed before, not after, a 401. */
  readonly #challenges = new Map<string, BearerChallenge>();
  #usesBearer = false;
  /** After a 429 no request to this registry is sent before this time (epoch ms). */
  #notBefore = 0;
  /** Token endpoints (by cache key) that granted a token without the credentials, and why. */
  readonly #withheldFrom = new Map<string, string>();
  #rateLimit: RateLimitBudget | undefined;

  constructor(opts: TransportOptions) {
    this.#opts = opts;
    this.#semaphore = new Semaphore(opts.maxConcurrency);
    if (opts.auth.type !== 'source') this.#remember(opts.auth);
  }

  /** The budget the registry announced in its latest answer that carried one. */
  get rateLimit(): RateLimitBudget | undefined {
    return this.#rateLimit;
  }

  /** The same error shape for problems the client finds in an answer (bad JSON, digest mismatch). */
  error(req: Pick<RegistryRequest, 'method' | 'target'>, problem: string, extra: ErrorExtras = {}) {
    return new RegistryError({
      registry: this.#opts.name,
      method: req.method,
      target: req.target,
      status: extra.status,
      retryable: extra.retryable ?? false,
      problem: redact(problem, [...this.#secrets]),
      retryAfterMs: extra.retryAfterMs,
    });
  }

  async request(req: RegistryRequest): Promise<RegistryResponse> {
    let retries = 0;
    let renewedToken = false;
    let renewedCredentials = false;
    for (;;) {
      const auth = await this.#currentAuth(req);
      const authorization = await this.#authorizationFor(req, auth);
      let res: RegistryResponse;
      try {
        res = await this.#exchange(req, authorization, retries);
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        if (retries < this.#opts.maxRetries) {
          await sleep(this.#backoff(retries++));
          continue;
        }
        throw this.error(req, `${this.#describeFailure(err)}${this.#gaveUp(retries)}`, { retryable: true });
      }

      if (res.status === 401 && !renewedToken && req.endpoint !== 'token' && auth.type !== 'token') {
        const challenge = bearerChallenge(res.headers.get('www-authenticate'));
        if (challenge) {
          // Retry once with a fresh token; a second 401 means the credentials lack access.
          renewedToken = true;
          this.#usesBearer = true;
          this.#challenges.set(req.repository ?? '', challenge);
          // Only the token this request carried is known bad; a 401 to a request sent before the
          // challenge was known must not throw away the token a concurrent request just fetched.
          if (authorization?.startsWith('Bearer ')) this.#tokens.discard(challenge, authorization.slice(7));
          continue;
        }
      }
      // Credentials from a source may have expired since it handed them out (an ECR token, a
      // helper's answer): ask it once for new ones before calling them wrong.
      if (res.status === 401 && this.#opts.auth.type === 'source' && !renewedCredentials) {
        renewedCredentials = true;
        renewedToken = false;
        this.#opts.auth.source.invalidate(auth);
        this.#tokens.clear();
        continue;
      }
      if ((res.status >= 200 && res.status < 300) || req.acceptStatus?.includes(res.status)) return res;

      const detail = registryErrorDetail(res.body);
      const described = describeStatus(res.status, {
        credentials: auth.type !== 'anonymous',
        credentialsHint: this.#opts.credentialsHint,
        detail,
        notFound: notFoundText[req.endpoint],
      });
      const withheld =
        res.status === 401 || res.status === 403 ? this.#withheldNote(req, auth, res) : undefined;
      const problem = withheld ? `${described}; ${withheld}` : described;
      if (!isRetryableStatus(res.status)) throw this.error(req, problem, { status: res.status });
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      if (retryAfterMs !== undefined && retryAfterMs > this.#opts.maxRetryAfterMs) {
        const seconds = Math.ceil(retryAfterMs / 1000);
        throw this.error(req, `${problem} (asked to retry after ${seconds} s)`, {
          status: res.status,
          retryable: true,
          retryAfterMs,
        });
      }
      if (retries >= this.#opts.maxRetries) {
        throw this.error(req, `${problem}${this.#gaveUp(retries)}`, {
          status: res.status,
          retryable: true,
          retryAfterMs,
        });
      }
      const delay = retryAfterMs ?? this.#backoff(retries);
      retries++;
      // A 429 has already paused the whole registry (see #exchange); other failures wait alone.
      if (res.status !== 429) await sleep(delay);
    }
  }

  /** One attempt under the concurrency limit, the rate-limit pause and the timeout, body included. */
  async #exchange(req: RegistryRequest, authorization: string | undefined, retries: number) {
    return this.#semaphore.run(async (): Promise<RegistryResponse> => {
      await this.#awaitRateLimit(req);
      const started = performance.now();
      let code = 'network';
      try {
        // fetch drops Authorization when a redirect leaves the origin (blob storage), as the spec asks.
        const res = await fetch(req.url, {
          method: req.method,
          headers: { ...req.headers, ...(authorization ? { authorization } : {}) },
          // A form is never re-sent to where a redirect points: the caller decides (see #fetchToken).
          ...(req.body ? { body: req.body, redirect: 'manual' as const } : {}),
          signal: AbortSignal.timeout(this.#opts.timeoutMs),
        });
        let body = new Uint8Array();
        if (req.method === 'HEAD') await res.body?.cancel();
        else if (req.maxBytes === undefined) body = new Uint8Array(await res.arrayBuffer());
        else {
          const bounded = await readAtMost(res, req.maxBytes);
          if (!bounded) {
            code = String(res.status);
            throw this.error(req, `the answer is larger than the ${req.maxBytes} bytes read`, {
              status: res.status,
            });
          }
          body = bounded;
        }
        code = String(res.status);
        if (res.status === 429) this.#pauseAfterRateLimit(res.headers, retries);
        this.#noteRateLimit(res.headers);
        return { status: res.status, headers: res.headers, body, url: new URL(res.url || req.url) };
      } catch (err) {
        if (isTimeout(err)) code = 'timeout';
        throw err;
      } finally {
        this.#opts.onRequest?.({
          registry: this.#opts.name,
          method: req.method,
          code,
          durationSeconds: (performance.now() - started) / 1000,
          endpoint: req.endpoint,
        });
      }
    });
  }

  /**
   * A 429 is about the whole registry: every request waits, including ones already queued for
   * a slot. The pause is set before the slot is released, so none slips through.
   */
  #pauseAfterRateLimit(headers: Headers, retries: number) {
    const delay = parseRetryAfter(headers.get('retry-after')) ?? this.#backoff(retries);
    this.#notBefore = Math.max(this.#notBefore, Date.now() + delay);
  }

  /** Sleeps through a short pause; a long one fails at once, without sending anything. */
  async #awaitRateLimit(req: RegistryRequest) {
    for (let wait = this.#notBefore - Date.now(); wait > 0; wait = this.#notBefore - Date.now()) {
      if (wait > this.#opts.maxRetryAfterMs) {
        throw this.error(req, `rate limited by the registry, paused for ${Math.ceil(wait / 1000)} s more`, {
          retryable: true,
          retryAfterMs: wait,
        });
      }
      await sleep(wait);
    }
  }

  #noteRateLimit(headers: Headers) {
    const budget = parseRateLimit(headers);
    if (!budget) return;
    this.#rateLimit = budget;
    this.#opts.onRateLimit?.(this.#opts.name, budget);
  }

  /** The credentials for this attempt: the configured ones, or what the source has now. */
  async #currentAuth(req: RegistryRequest): Promise<StaticAuth> {
    const configured = this.#opts.auth;
    if (configured.type !== 'source') return configured;
    let auth: StaticAuth;
    try {
      auth = await configured.source.get();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw this.error(req, `no credentials from ${configured.source.describe}: ${reason}`, {
        retryable: true,
      });
    }
    this.#remember(auth);
    return auth;
  }

  #remember(auth: StaticAuth) {
    for (const secret of secretsOf(auth)) this.#secrets.add(secret);
  }

  async #authorizationFor(req: RegistryRequest, auth: StaticAuth): Promise<string | undefined> {
    if (req.endpoint === 'token') {
      const trusted = this.#realmTrusted(req.url);
      return auth.type === 'basic' && trusted ? basicAuthorization(auth.username, auth.password) : undefined;
    }
    if (auth.type === 'token') return `Bearer ${auth.token}`;
    const challenge = this.#challenges.get(req.repository ?? '');
    if (challenge) return `Bearer ${await this.#token(challenge, auth)}`;
    // Once the registry asked for Bearer, the password goes only to its token endpoint.
    if (auth.type === 'basic' && !this.#usesBearer) return basicAuthorization(auth.username, auth.password);
    return undefined;
  }

  /** A cached token, or one fetched from the realm; concurrent callers share one fetch. */
  async #token(challenge: BearerChallenge, auth: StaticAuth): Promise<string> {
    const cached = this.#tokens.get(challenge);
    if (cached) return cached;
    const key = TokenCache.key(challenge);
    let pending = this.#pendingTokens.get(key);
    if (!pending) {
      pending = this.#fetchToken(challenge, auth).finally(() => this.#pendingTokens.delete(key));
      this.#pendingTokens.set(key, pending);
    }
    return pending;
  }

  async #fetchToken(challenge: BearerChallenge, auth: StaticAuth): Promise<string> {
    const target = `token for ${challenge.scope || 'registry'}`;
    let url: URL;
    try {
      url = tokenUrl(challenge);
    } catch {
      throw this.error({ method: 'GET', target }, `the challenge's realm is not a URL`);
    }
    const realmProblem = this.#realmProblem(url, auth);
    if (realmProblem) throw this.error({ method: 'GET', target }, realmProblem);
    const key = TokenCache.key(challenge);
    // An identity token is exchanged with a POST that carries it in the body; a realm not
    // trusted with the credentials gets a plain anonymous GET instead.
    const req: RegistryRequest =
      auth.type === 'identityToken' && this.#realmTrusted(url)
        ? {
            method: 'POST',
            url: new URL(challenge.realm),
            endpoint: 'token',
            target,
            body: refreshForm(challenge, auth.token),
            acceptStatus: redirectStatuses,
          }
        : { method: 'GET', url, endpoint: 'token', target };
    const res = await this.request(req);
    if (redirectStatuses.includes(res.status)) {
      // fetch would send the form (the identity token) on to wherever the redirect points.
      const to = res.headers.get('location') ?? '(nowhere)';
      throw this.error(
        req,
        `${res.status} redirect to ${redactUrl(to)}; an identity token is posted only to the realm the challenge names`,
        { status: res.status },
      );
    }
    // fetch drops Authorization when a redirect leaves the realm's origin: the token that comes
    // back was granted without the credentials, which a later refusal should say.
    const note = this.#withheldNote(req, auth, res);
    if (note) this.#withheldFrom.set(key, note);
    else this.#withheldFrom.delete(key);
    if (mediaTypeOf(res.headers.get('content-type')) === 'text/html') {
      throw this.error(
        req,
        `malformed answer: a web page (text/html, ${res.body.byteLength} bytes), not a token; check that the challenge's realm is the registry's token endpoint`,
        { status: res.status },
      );
    }
    const decoded = decodeJson(tokenResponseSchema, res.body);
    if (!decoded.ok) throw this.error(req, decoded.problem, { status: res.status });
    const token = decoded.value.token || decoded.value.access_token;
    if (!token) throw this.error(req, 'malformed answer: no token in it');
    this.#tokens.set(challenge, token, decoded.value.expires_in);
    return token;
  }

  /** The registry's own host, Docker Hub's token service for Docker Hub, or a configured realm host. */
  #realmTrusted(realm: URL): boolean {
    return realmReceivesCredentials(realm, this.#opts.url, this.#opts.tokenRealms ?? []);
  }

  /**
   * Why a refusal may come from credentials that were never sent: the token realm is not trusted
   * with them, or its answer came from another origin after a redirect. Undefined when they went
   * where they had to.
   */
  #withheldNote(req: RegistryRequest, auth: StaticAuth, res: RegistryResponse): string | undefined {
    if (auth.type !== 'basic' && auth.type !== 'identityToken') return undefined;
    if (req.endpoint !== 'token') {
      const challenge = this.#challenges.get(req.repository ?? '');
      return challenge ? this.#withheldFrom.get(TokenCache.key(challenge)) : undefined;
    }
    if (!this.#realmTrusted(req.url))
      return withheldHint(req.url, this.#opts.name, this.#opts.tokenRealmsKey);
    return res.url.origin !== req.url.origin ? redirectedHint(req.url, res.url) : undefined;
  }

  /** Refuses realms that would carry the password somewhere it should not go. */
  #realmProblem(realm: URL, auth: StaticAuth): string | undefined {
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:')
      return `token realm uses ${realm.protocol}`;
    const downgrade = realm.protocol === 'http:' && this.#opts.url.protocol === 'https:';
    if (downgrade && (auth.type === 'basic' || auth.type === 'identityToken')) {
      return `refusing to send credentials to a plain-http token realm (${realm.origin})`;
    }
    return undefined;
  }

  #backoff(retry: number): number {
    return backoffDelay(retry, { baseMs: this.#opts.retryBaseDelayMs, maxMs: 10_000 });
  }

  #gaveUp(retries: number): string {
    return retries > 0 ? ` (gave up after ${retries + 1} attempts)` : '';
  }

  #describeFailure(err: unknown): string {
    if (isTimeout(err)) return `timed out after ${this.#opts.timeoutMs} ms`;
    // undici reports `fetch failed` and puts the useful part (`connect ECONNREFUSED …`) in the cause.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    return `network error: ${cause instanceof Error ? cause.message : String(cause)}`;
  }
}

/** The OAuth2 refresh-token grant Docker sends for an identity token (distribution's token spec, OAuth2 part). */
function refreshForm(challenge: BearerChallenge, refreshToken: string): URLSearchParams {
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: 'freshet',
  });
  if (challenge.service) form.set('service', challenge.service);
  if (challenge.scope) form.set('scope', challenge.scope);
  return form;
}

const redirectStatuses: readonly number[] = [301, 302, 303, 307, 308];

/** A Location as an error may show it: no query (it may carry a signature), no credentials. */
function redactUrl(location: string): string {
  try {
    const url = new URL(location);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

const notFoundText: Record<RegistryEndpoint, string> = {
  manifest: 'tag or repository not found',
  tags: 'tag or repository not found',
  blob: 'blob not found (the manifest refers to content the registry lacks)',
  token: "token endpoint not found (check the challenge's realm)",
  referrers: 'the registry has no referrers API',
};

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
}
