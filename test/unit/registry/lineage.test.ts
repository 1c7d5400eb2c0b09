import { describe, expect, it } from 'vitest';
import { buildUnder, layersStartWith } from '../../../activities/registry/lineage.ts';

const l = (n: number) => `sha256:${String(n).repeat(64)}`;

describe('layer prefix', () => {
  it('holds when every base layer leads the image, in order', () => {
    expect(layersStartWith([l(1), l(2), l(3)], [l(1), l(2)])).toBe(true);
    expect(layersStartWith([l(1), l(2)], [l(1), l(2)])).toBe(true);
  });

  it('fails on another order, a missing layer, a longer base or an empty base', () => {
    expect(layersStartWith([l(2), l(1), l(3)], [l(1), l(2)])).toBe(false);
    expect(layersStartWith([l(1), l(3)], [l(1), l(2)])).toBe(false);
    expect(layersStartWith([l(1)], [l(1), l(2)])).toBe(false);
    expect(layersStartWith([l(1)], [])).toBe(false);
  });

  it('finds the build an image is on among known builds, the longest match first, newest on a tie', () => {
    const builds = [
      { digest: 'new', layers: [l(5), l(6)] },
      { digest: 'old', layers: [l(1), l(2)] },
      { digest: 'older', layers: [l(1)] },
      { digest: 'same-as-old', layers: [l(1), l(2)] },
    ];
    expect(buildUnder([l(1), l(2), l(9)], builds)?.digest).toBe('old');
    expect(buildUnder([l(5), l(6), l(9)], builds)?.digest).toBe('new');
    expect(buildUnder([l(1), l(9)], builds)?.digest).toBe('older');
    expect(buildUnder([l(7)], builds)).toBeUndefined();
  });
});
