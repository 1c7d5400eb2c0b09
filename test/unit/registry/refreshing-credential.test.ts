// A credential that expires (an ECR token: 12 hours) is fetched once, shared, renewed ahead of
// its expiry and after the registry refused it, and kept while it is valid if renewal fails.
import { describe, expect, it } from 'vitest';
import {
  type Expiring,
  RefreshingCredential,
  refreshTime,
} from '../../../activities/registry/credentials/refreshing-credential.ts';

const minute = 60_000;
const hour = 60 * minute;
const t0 = Date.UTC(2026, 0, 1);

/** A fetch that hands out `token-1`, `token-2`, … each valid for `lifetimeMs`; `fail` makes the next calls throw. */
function issuer(clock: { now: number }, lifetimeMs = 12 * hour) {
  const state = { calls: 0, fail: false, release: undefined as (() => void) | undefined, gated: false };
  const fetch = async (): Promise<Expiring<string>> => {
    state.calls++;
    if (state.gated) await new Promise<void>((resolve) => (state.release = resolve));
    if (state.fail) throw new Error('endpoint down');
    return { value: `token-${state.calls}`, expiresAt: clock.now + lifetimeMs };
  };
  return { state, fetch };
}

describe('refreshTime: when an expiring credential is renewed', () => {
  it('renews a 12-hour token at 90 % of its life, since that comes before 10 minutes ahead', () => {
    expect(refreshTime(t0, t0 + 12 * hour)).toBe(t0 + 10.8 * hour);
  });

  it('renews a 1-hour token 10 minutes ahead, since that comes before 90 %', () => {
    expect(refreshTime(t0, t0 + hour)).toBe(t0 + 50 * minute);
  });

  it('keeps a short token for at least half its life, so it is used at all', () => {
    expect(refreshTime(t0, t0 + 10 * minute)).toBe(t0 + 5 * minute);
  });
});

describe('RefreshingCredential', () => {
  it('fetches once for concurrent callers and serves the cached value until the refresh time', async () => {
    const clock = { now: t0 };
    const { state, fetch } = issuer(clock);
    const credential = new RefreshingCredential(fetch, {
      now: () => clock.now,
      assumedLifetimeMs: 12 * hour,
    });
    state.gated = true;
    const answers = Promise.all([credential.get(), credential.get(), credential.get()]);
    await Promise.resolve();
    state.gated = false;
    state.release?.();
    expect(await answers).toEqual(['token-1', 'token-1', 'token-1']);
    clock.now = t0 + 10 * hour;
    expect(await credential.get()).toBe('token-1');
    expect(state.calls).toBe(1);
  });

  it('uses the renewed value once past the refresh time', async () => {
    const clock = { now: t0 };
    const { state, fetch } = issuer(clock);
    const credential = new RefreshingCredential(fetch, {
      now: () => clock.now,
      assumedLifetimeMs: 12 * hour,
    });
    expect(await credential.get()).toBe('token-1');
    clock.now = t0 + 11 * hour;
    expect(await credential.get()).toBe('token-2');
    expect(await credential.get()).toBe('token-2');
    expect(state.calls).toBe(2);
  });

  it('after invalidate of the current value, fetches anew; invalidating an older value changes nothing', async () => {
    const clock = { now: t0 };
    const { state, fetch } = issuer(clock);
    const credential = new RefreshingCredential(fetch, {
      now: () => clock.now,
      assumedLifetimeMs: 12 * hour,
    });
    const first = await credential.get();
    credential.invalidate(first);
    expect(await credential.get()).toBe('token-2');
    credential.invalidate(first);
    expect(await credential.get()).toBe('token-2');
    expect(state.calls).toBe(2);
  });

  it('keeps a still valid value when renewal fails, and tries again only after a pause', async () => {
    const clock = { now: t0 };
    const { state, fetch } = issuer(clock);
    const credential = new RefreshingCredential(fetch, {
      now: () => clock.now,
      assumedLifetimeMs: 12 * hour,
      retryAfterFailureMs: minute,
    });
    await credential.get();
    state.fail = true;
    clock.now = t0 + 11 * hour;
    expect(await credential.get()).toBe('token-1');
    expect(await credential.get()).toBe('token-1');
    expect(state.calls).toBe(2);
    clock.now += minute;
    state.fail = false;
    expect(await credential.get()).toBe('token-3');
  });

  it('refuses an expired value when renewal fails, with the fetch error', async () => {
    const clock = { now: t0 };
    const { state, fetch } = issuer(clock);
    const credential = new RefreshingCredential(fetch, {
      now: () => clock.now,
      assumedLifetimeMs: 12 * hour,
    });
    await credential.get();
    state.fail = true;
    clock.now = t0 + 12 * hour;
    await expect(credential.get()).rejects.toThrow('endpoint down');
    // Nothing valid is left, so every caller asks again rather than waiting out a pause.
    await expect(credential.get()).rejects.toThrow('endpoint down');
    expect(state.calls).toBe(3);
  });

  it('takes a value whose expiry is not in the future (a skewed clock) to last the assumed lifetime', async () => {
    const clock = { now: t0 };
    let calls = 0;
    const credential = new RefreshingCredential(
      async () => ({ value: `skewed-${++calls}`, expiresAt: Date.UTC(2015, 0, 1) }),
      { now: () => clock.now, assumedLifetimeMs: 12 * hour },
    );
    expect(await credential.get()).toBe('skewed-1');
    clock.now = t0 + 10 * hour;
    expect(await credential.get()).toBe('skewed-1');
    clock.now = t0 + 11 * hour;
    expect(await credential.get()).toBe('skewed-2');
  });
});
