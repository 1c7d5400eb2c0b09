// Order statistics for benchmark samples. Linear interpolation between closest ranks (numpy's
// default), so p50 of an even count is the mean of the two middle samples.
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] ?? 0;
  const b = sorted[high] ?? a;
  return a + (b - a) * (rank - low);
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** Rounds for the results file: figures are read by people, not fed to anything. */
export const round = (value: number, digits = 1) => Number(value.toFixed(digits));
