import { describe, expect, it } from 'vitest';
import type { RegistryBudget } from '../../../workflows/watch-messages.ts';
import { pacedIntervalMs, reserveOf } from '../../../workflows/watch-pacing.ts';

const hub = (remaining: number, extra: Partial<RegistryBudget> = {}): RegistryBudget => ({
  registry: 'hub',
  remaining,
  limit: 100,
  windowSeconds: 21_600,
  images: 1,
  ...extra,
});

describe('pacing checks to a registry budget', () => {
  it('keeps the interval while the budget lasts the window at that pace', () => {
    // 1,000 pulls left for 6 h: one image checked every minute needs at most 360.
    expect(pacedIntervalMs(60_000, hub(1_000, { limit: 1_000 }), 1)).toBe(60_000);
    expect(pacedIntervalMs(3_600_000, hub(76), 10)).toBe(3_600_000);
  });

  it('spreads the checks of every image sharing the budget over the window, less a tenth kept back', () => {
    // 76 left, 10 kept: 66 pulls for 6 h; one image → every 328 s, ten images → every 3,273 s.
    expect(reserveOf({ limit: 100 })).toBe(10);
    expect(pacedIntervalMs(60_000, hub(76), 1)).toBe(Math.ceil((21_600_000 * 1) / 66));
    expect(pacedIntervalMs(60_000, hub(76), 10)).toBe(Math.ceil((21_600_000 * 10) / 66));
  });

  it('lengthens the interval as the budget falls', () => {
    const paced = [60, 40, 20, 12, 11].map((left) => pacedIntervalMs(60_000, hub(left), 1));
    for (let i = 1; i < paced.length; i++) expect(paced[i]).toBeGreaterThan(paced[i - 1] ?? 0);
  });

  it('waits a whole window once only the reserve is left', () => {
    expect(pacedIntervalMs(60_000, hub(10), 3)).toBe(21_600_000);
    expect(pacedIntervalMs(60_000, hub(0), 3)).toBe(21_600_000);
  });

  it('spreads over the time to the reset when the registry says it, and keeps one pull without a limit', () => {
    expect(pacedIntervalMs(1_000, hub(11, { resetSeconds: 60 }), 1)).toBe(60_000);
    expect(reserveOf({})).toBe(1);
    expect(pacedIntervalMs(1_000, { registry: 'r', remaining: 5, windowSeconds: 40, images: 2 }, 2)).toBe(
      20_000,
    );
  });

  it('changes nothing without a window to spread over', () => {
    expect(pacedIntervalMs(60_000, { registry: 'r', remaining: 0, images: 1 }, 1)).toBe(60_000);
    expect(pacedIntervalMs(60_000, hub(5, { windowSeconds: 0 }), 1)).toBe(60_000);
  });
});
