import { describe, expect, it } from 'vitest';
import { behindSince, labelsMatch } from '../../../worker/freshness.ts';
import type { ImageState } from '../../../workflows/watch-messages.ts';

const rec = (n: number, at: string) => ({
  tag: '1.4',
  digest: `sha256:${String(n).repeat(64)}`,
  firstSeenAt: at,
});

describe('behind-since', () => {
  const state: ImageState = {
    latest: rec(3, '2026-11-03T00:00:00Z'),
    previous: [rec(2, '2026-11-02T00:00:00Z'), rec(1, '2026-11-01T00:00:00Z')],
    nextDueAt: 0,
  };

  it('is undefined for a target on the newest digest', () => {
    expect(behindSince(state, rec(3, '').digest)).toBeUndefined();
  });

  it('starts with the first build the target missed', () => {
    expect(behindSince(state, rec(2, '').digest)).toBe(Date.parse('2026-11-03T00:00:00Z') / 1000);
    expect(behindSince(state, rec(1, '').digest)).toBe(Date.parse('2026-11-02T00:00:00Z') / 1000);
  });

  it('dates an unknown or older digest from the oldest record kept', () => {
    expect(behindSince(state, `sha256:${'9'.repeat(64)}`)).toBe(Date.parse('2026-11-01T00:00:00Z') / 1000);
    expect(behindSince(state, undefined)).toBe(Date.parse('2026-11-01T00:00:00Z') / 1000);
  });

  it('says nothing before the watch has seen any digest', () => {
    expect(behindSince({ previous: [], nextDueAt: 0 }, 'x')).toBeUndefined();
  });
});

describe('label selectors', () => {
  it('needs every selector label with the same value', () => {
    expect(labelsMatch({ a: '1', b: '2' }, { a: '1' })).toBe(true);
    expect(labelsMatch({ a: '1' }, { a: '1', b: '2' })).toBe(false);
    expect(labelsMatch(undefined, {})).toBe(true);
    expect(labelsMatch({ a: '2' }, { a: '1' })).toBe(false);
  });
});
