import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../config/duration.ts';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    [' 10s ', 10_000],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '5', '5 minutes', '1y', '-5s', 's', '1h 30m', '5M'])('rejects "%s"', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );

  it('formats back to the shortest readable form', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(1_250)).toBe('1s250ms');
  });
});
