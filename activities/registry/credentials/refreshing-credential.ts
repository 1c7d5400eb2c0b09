// One credential that expires (an ECR token lasts 12 hours), kept for every request of a
// registry: fetched once however many requests wait for it, renewed ahead of its expiry and
// after the registry refused it, and kept while it is still valid when renewing fails.

export interface Expiring<T> {
  value: T;
  /** Epoch ms; one not after the time it was fetched means unknown, and the assumed lifetime applies. */
  expiresAt: number;
}

export interface RefreshingCredentialOptions {
  /** Epoch ms; injected so tests can move time past the refresh point. */
  now?: () => number;
  /** How long a credential lasts when its expiry is unknown or already past by our clock (skew). */
  assumedLifetimeMs: number;
  /** After a failed renewal, a still valid credential is used this long before trying again. */
  retryAfterFailureMs?: number;
}

const refreshLead = 10 * 60_000;

/**
 * When to renew a credential valid from `issuedAt` to `expiresAt`: at 90 % of its life or 10
 * minutes before it ends, whichever comes first, but not before half its life, so a short-lived
 * credential is still used more than once.
 */
export function refreshTime(issuedAt: number, expiresAt: number): number {
  const life = expiresAt - issuedAt;
  const preferred = Math.min(issuedAt + 0.9 * life, expiresAt - refreshLead);
  return Math.max(preferred, issuedAt + life / 2);
}

interface Held<T> {
  value: T;
  expiresAt: number;
  refreshAt: number;
}

export class RefreshingCredential<T> {
  readonly #fetch: () => Promise<Expiring<T>>;
  readonly #now: () => number;
  readonly #assumedLifetimeMs: number;
  readonly #retryAfterFailureMs: number;
  #held: Held<T> | undefined;
  #pending: Promise<Held<T>> | undefined;
  /** No renewal is tried before this while the held credential is still valid (epoch ms). */
  #notBefore = 0;

  constructor(fetch: () => Promise<Expiring<T>>, opts: RefreshingCredentialOptions) {
    this.#fetch = fetch;
    this.#now = opts.now ?? Date.now;
    this.#assumedLifetimeMs = opts.assumedLifetimeMs;
    this.#retryAfterFailureMs = opts.retryAfterFailureMs ?? 30_000;
  }

  /** The credential to use now; throws the fetch's error only when none is valid. */
  async get(): Promise<T> {
    const held = this.#held;
    const now = this.#now();
    if (held && now < held.refreshAt) return held.value;
    if (held && now < held.expiresAt && now < this.#notBefore) return held.value;
    try {
      return (await this.#renew()).value;
    } catch (err) {
      if (held && this.#now() < held.expiresAt) return held.value;
      throw err;
    }
  }

  /** The registry refused `value`: drop it, unless a newer one has replaced it already. */
  invalidate(value: T): void {
    if (this.#held?.value !== value) return;
    this.#held = undefined;
    this.#notBefore = 0;
  }

  /** Concurrent callers share one fetch. */
  #renew(): Promise<Held<T>> {
    this.#pending ??= this.#fetchHeld().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetchHeld(): Promise<Held<T>> {
    const issuedAt = this.#now();
    let fetched: Expiring<T>;
    try {
      fetched = await this.#fetch();
    } catch (err) {
      this.#notBefore = this.#now() + this.#retryAfterFailureMs;
      throw err;
    }
    const expiresAt = fetched.expiresAt > issuedAt ? fetched.expiresAt : issuedAt + this.#assumedLifetimeMs;
    const held = { value: fetched.value, expiresAt, refreshAt: refreshTime(issuedAt, expiresAt) };
    this.#held = held;
    this.#notBefore = 0;
    return held;
  }
}
