// Durations in the config with the bounds that keep a running Freshet sane: a floor where 0s
// would make a hot loop or no wait, and a ceiling no longer than a Temporal timer holds.
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.ts';

/**
 * The longest timer the Temporal server keeps: it silently caps a longer one at 100 years of
 * 365 days (the server's MaxAllowedTimer), so a longer wait would end early without a word.
 */
export const longestTimerMs = 36_500 * 86_400_000;

export interface DurationBound {
  ms: number;
  /** Follows "must be at least 1s: " or "must be at most 1m: ": what goes wrong past the bound. */
  why: string;
}

const longestTimer: DurationBound = {
  ms: longestTimerMs,
  why: 'Temporal caps a longer timer at that without an error, so the wait would end early',
};

const durationText = z
  .string()
  .regex(/^\s*(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+\s*$/, 'expected a duration such as 30s, 5m or 24h');

const written = (ms: number) => `${formatDuration(ms)}${ms === longestTimerMs ? ' (100 years)' : ''}`;

/** A duration such as "30s", "5m", "24h" or "1h30m", parsed to milliseconds and held to its bounds. */
export function durationWithin(bounds: { min?: DurationBound; max?: DurationBound } = {}) {
  const max = bounds.max ?? longestTimer;
  let ms = z.number().max(max.ms, `must be at most ${written(max.ms)}: ${max.why}`);
  if (bounds.min) ms = ms.min(bounds.min.ms, `must be at least ${written(bounds.min.ms)}: ${bounds.min.why}`);
  return durationText.transform((text) => parseDuration(text) ?? 0).pipe(ms);
}

/** Any duration from 0s up to the longest Temporal timer. */
export const duration = durationWithin();
