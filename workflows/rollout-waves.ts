// How a stage's targets are split into waves. Pure and deterministic: the rollout workflow calls
// it, so it must give the same waves on every replay and import nothing.

/** How many targets of a wave are rolled at once when the wave does not say. */
export const defaultMaxParallel = 10;

/** One step of a stage, as configured: exactly one of count or percent (the config schema checks). */
export interface WaveSpec {
  count?: number;
  percent?: number;
  maxParallel?: number;
}

export interface Wave<T> {
  /** 0-based position among the waves actually run. */
  index: number;
  targets: T[];
  /** How many of `targets` are rolled at once; between 1 and targets.length. */
  maxParallel: number;
}

/**
 * Walks through `targets` in order. `count: n` takes the next n; `percent: p` takes targets until
 * ceil(p% of all) are done. Every wave takes at least one target while any remain, waves after
 * the last target are dropped, and targets the specs leave over form a final wave, so every
 * target is in exactly one wave.
 */
export function splitIntoWaves<T>(targets: T[], waves: WaveSpec[], defaultMaxParallel?: number): Wave<T>[] {
  const total = targets.length;
  const out: Wave<T>[] = [];
  let done = 0;
  const take = (end: number, maxParallel: number | undefined) => {
    const wave = targets.slice(done, end);
    out.push({
      index: out.length,
      targets: wave,
      maxParallel: parallelism(maxParallel ?? defaultMaxParallel, wave.length),
    });
    done = end;
  };
  for (const spec of waves) {
    if (done >= total) break;
    take(Math.min(total, Math.max(done + 1, waveEnd(spec, done, total))), spec.maxParallel);
  }
  // Leftovers keep the last wave's parallelism: a configured limit is a statement about load.
  if (done < total) take(total, waves.at(-1)?.maxParallel);
  return out;
}

/** Where a wave ends (exclusive), before the at-least-one and at-most-all clamps. */
function waveEnd(spec: WaveSpec, done: number, total: number): number {
  if (spec.count !== undefined && !Number.isNaN(spec.count)) return done + Math.floor(spec.count);
  // Tolerance for float error: 1.1% of 1000 is 11.000000000000002, which must stay 11.
  if (spec.percent !== undefined && !Number.isNaN(spec.percent)) {
    return Math.ceil((spec.percent * total) / 100 - 1e-9);
  }
  // Only an unvalidated config gets here; the smallest step is the safe one.
  return done + 1;
}

function parallelism(maxParallel: number | undefined, size: number): number {
  if (maxParallel === undefined || Number.isNaN(maxParallel)) return Math.max(1, size);
  return Math.max(1, Math.min(Math.floor(maxParallel), size));
}

/** `items` in order, in groups of `size` (the last may be smaller); a size below 1 (or NaN) counts as 1. */
export function chunk<T>(items: T[], size: number): T[][] {
  const step = size >= 1 ? Math.floor(size) : 1;
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += step) out.push(items.slice(i, i + step));
  return out;
}
