// The request budget a registry announces in its answers. Docker Hub sends
// `ratelimit-limit: 100;w=21600` and `ratelimit-remaining: 76;w=21600` (pulls, and the window in
// seconds) on manifest requests, HEADs included, although only GETs of manifests use it up.
// The IETF draft's `ratelimit-reset` (seconds until the window resets) is read when present.

export interface RateLimitBudget {
  /** Requests left in the window. */
  remaining: number;
  /** Requests the window allows, when the registry says. */
  limit?: number;
  /** Length of the window in seconds, when the registry says. */
  windowSeconds?: number;
  /** Seconds until the window starts anew, when the registry says. */
  resetSeconds?: number;
  /** When this answer arrived (epoch ms). */
  observedAt: number;
}

/** An integer and its `;w=` window: `76;w=21600`. Only the first policy of a list counts. */
function readQuota(value: string | null): { count: number; window?: number } | undefined {
  const first = value?.split(',')[0]?.trim();
  if (!first) return undefined;
  const [count, ...params] = first.split(';').map((p) => p.trim());
  if (!count || !/^\d{1,12}$/.test(count)) return undefined;
  const window = params.map((p) => /^w=(\d{1,12})$/.exec(p)?.[1]).find((w) => w !== undefined);
  return {
    count: Number(count),
    ...(window !== undefined && Number(window) > 0 ? { window: Number(window) } : {}),
  };
}

/** The budget in an answer's headers; undefined when it carries none or only garbage. */
export function parseRateLimit(headers: Headers, now = Date.now()): RateLimitBudget | undefined {
  const remaining = readQuota(headers.get('ratelimit-remaining'));
  if (!remaining) return undefined;
  const limit = readQuota(headers.get('ratelimit-limit'));
  const reset = readQuota(headers.get('ratelimit-reset'));
  const windowSeconds = remaining.window ?? limit?.window;
  return {
    remaining: remaining.count,
    ...(limit ? { limit: limit.count } : {}),
    ...(windowSeconds !== undefined ? { windowSeconds } : {}),
    ...(reset ? { resetSeconds: reset.count } : {}),
    observedAt: now,
  };
}
