// workload.stale once per workload and staleness episode: not before the threshold, not again on
// the next collections, again when the workload falls behind a newer build after catching up.
import { describe, expect, it } from 'vitest';
import type { TargetFreshness } from '../../../worker/freshness.ts';
import { createStaleTracker } from '../../../worker/stale-notifications.ts';

const day = 86_400_000;
const t0 = Date.parse('2026-01-01T00:00:00Z');
const target = (over: Partial<TargetFreshness> = {}): TargetFreshness => ({
  pipeline: 'web',
  stage: 'production',
  namespace: 'shop',
  deployment: 'api',
  container: 'app',
  image: 'web',
  upToDate: false,
  behindSince: t0 / 1000,
  runningDigest: 'sha256:old',
  latestDigest: 'sha256:new',
  ...over,
});

describe('stale workload notifications', () => {
  it('tells once per episode, after the threshold', () => {
    const tracker = createStaleTracker(7 * day);
    expect(tracker.observe([target()], t0 + 6 * day)).toEqual([]);
    const told = tracker.observe([target()], t0 + 7 * day);
    expect(told).toMatchObject([
      {
        type: 'workload.stale',
        workload: 'api',
        runningDigest: 'sha256:old',
        latestDigest: 'sha256:new',
        behindSince: '2026-01-01T00:00:00.000Z',
        staleSeconds: 7 * 86_400,
      },
    ]);
    expect(tracker.observe([target()], t0 + 8 * day)).toEqual([]);
    expect(tracker.observe([target(), target({ container: 'sidecar' })], t0 + 9 * day)).toHaveLength(1);
  });

  it('starts a new episode when the workload caught up or fell behind a newer build', () => {
    const tracker = createStaleTracker(day);
    expect(tracker.observe([target()], t0 + 2 * day)).toHaveLength(1);
    expect(tracker.observe([target({ upToDate: true, behindSince: undefined })], t0 + 3 * day)).toEqual([]);
    expect(tracker.observe([target()], t0 + 4 * day)).toHaveLength(1);
    const newer = target({ behindSince: (t0 + 4 * day) / 1000 });
    expect(tracker.observe([newer], t0 + 5 * day)).toMatchObject([
      { behindSince: '2026-01-05T00:00:00.000Z' },
    ]);
  });
});
