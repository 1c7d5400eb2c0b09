// When to try a registry request again: exponential backoff with jitter, unless the registry
// said how long to wait (invariant 7: 429 and Retry-After are honoured).
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/**
 * Milliseconds a `Retry-After` header asks for: delay-seconds or an HTTP date. Undefined when
 * absent or unreadable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined; // "-5", "1.5": not a date either
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Delay before retry number `attempt` (0-based): doubling from `baseMs` up to `maxMs`, half of
 * it fixed and half random, so clients that failed together do not come back together.
 */
export function backoffDelay(
  attempt: number,
  opts: { baseMs: number; maxMs: number; random?: () => number },
): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (opts.random ?? Math.random)() * (ceiling / 2));
}
