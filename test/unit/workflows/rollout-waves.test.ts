import { describe, expect, it } from 'vitest';
import { chunk, splitIntoWaves, type WaveSpec } from '../../../workflows/rollout-waves.ts';

const targets = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
const sizes = (n: number, waves: WaveSpec[]) =>
  splitIntoWaves(targets(n), waves).map((w) => w.targets.length);

describe('splitIntoWaves', () => {
  it('gives no waves for no targets', () => {
    expect(splitIntoWaves([], [{ count: 1 }, { percent: 100 }])).toEqual([]);
  });

  it('runs a single target as the canary and drops the waves left empty', () => {
    expect(splitIntoWaves(['a'], [{ count: 1 }, { percent: 100 }])).toEqual([
      { index: 0, targets: ['a'], maxParallel: 1 },
    ]);
  });

  it('runs a canary, then the rest', () => {
    expect(splitIntoWaves(['a', 'b', 'c'], [{ count: 1 }, { percent: 100 }])).toEqual([
      { index: 0, targets: ['a'], maxParallel: 1 },
      { index: 1, targets: ['b', 'c'], maxParallel: 2 },
    ]);
  });

  it('treats percent as cumulative and rounds up', () => {
    expect(sizes(10, [{ percent: 25 }, { percent: 50 }, { percent: 100 }])).toEqual([3, 2, 5]);
    expect(sizes(3, [{ percent: 50 }, { percent: 100 }])).toEqual([2, 1]);
  });

  it('does not round a whole percentage up because of float error', () => {
    expect(sizes(1000, [{ percent: 1.1 }, { percent: 100 }])).toEqual([11, 989]);
  });

  it('takes at least one target even when the percentage is already reached', () => {
    expect(sizes(10, [{ percent: 50 }, { percent: 30 }, { percent: 100 }])).toEqual([5, 1, 4]);
    expect(sizes(4, [{ percent: 1 }, { percent: 1 }])).toEqual([1, 1, 2]);
  });

  it('takes only what remains when a count is larger', () => {
    expect(sizes(3, [{ count: 2 }, { count: 5 }])).toEqual([2, 1]);
    expect(sizes(2, [{ count: 10 }, { percent: 100 }])).toEqual([2]);
  });

  it('puts targets the specs leave over into a final wave', () => {
    const waves = splitIntoWaves(targets(5), [{ count: 1 }, { percent: 40 }]);
    expect(waves.map((w) => w.targets)).toEqual([['t0'], ['t1'], ['t2', 't3', 't4']]);
    expect(waves.map((w) => w.index)).toEqual([0, 1, 2]);
    expect(waves.flatMap((w) => w.targets)).toEqual(targets(5));
  });

  it('defaults maxParallel to the wave size and keeps it within 1..size', () => {
    const waves = splitIntoWaves(targets(10), [
      { count: 2, maxParallel: 5 },
      { count: 4, maxParallel: 2 },
      { percent: 100 },
    ]);
    expect(waves.map((w) => [w.targets.length, w.maxParallel])).toEqual([
      [2, 2],
      [4, 2],
      [4, 4],
    ]);
  });

  it('gives leftovers the last configured maxParallel', () => {
    const waves = splitIntoWaves(targets(6), [{ count: 1 }, { count: 2, maxParallel: 2 }]);
    expect(waves.map((w) => [w.targets.length, w.maxParallel])).toEqual([
      [1, 1],
      [2, 2],
      [3, 2],
    ]);
  });

  it('with no specs, runs everything in one wave', () => {
    expect(sizes(4, [])).toEqual([4]);
  });

  it('steps one target at a time through a spec without count or percent', () => {
    expect(sizes(3, [{}, { percent: 100 }])).toEqual([1, 2]);
  });

  it('does not change its input', () => {
    const input = targets(4);
    splitIntoWaves(input, [{ count: 1 }, { percent: 100 }]);
    expect(input).toEqual(targets(4));
  });
});

describe('chunk', () => {
  it('groups in order, the last group smaller', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('gives one group when the size covers everything, none for no items', () => {
    expect(chunk([1, 2, 3], 3)).toEqual([[1, 2, 3]]);
    expect(chunk([1, 2], 10)).toEqual([[1, 2]]);
    expect(chunk([], 3)).toEqual([]);
  });

  it('treats a size below 1 as 1 instead of looping forever', () => {
    expect(chunk([1, 2], 0)).toEqual([[1], [2]]);
    expect(chunk([1, 2], Number.NaN)).toEqual([[1], [2]]);
  });
});
