import { describe, expect, it } from 'vitest';
import { statedBase } from '../../../activities/watch/check-images.ts';
import { maxReferenceLength, maxTextLength } from '../../../workflows/watch-state-bounds.ts';

const digest = `sha256:${'b'.repeat(64)}`;

describe('the base an image states, as the watch keeps it', () => {
  it('keeps a well-formed name and digest', () => {
    expect(
      statedBase({ baseName: 'r:5000/acme/base:1', baseDigest: digest, baseFrom: 'annotation' }),
    ).toEqual({
      baseName: 'r:5000/acme/base:1',
      baseDigest: digest,
      baseFrom: 'annotation',
    });
  });

  it('reports a name too long for any registry instead of carrying it in the watch state', () => {
    const base = statedBase({
      baseName: 'a'.repeat(maxReferenceLength + 1),
      baseDigest: digest,
      baseFrom: 'annotation',
    });
    expect(base).toEqual({
      baseProblem: `the base name it states is ${maxReferenceLength + 1} characters long, more than ${maxReferenceLength}`,
    });
  });

  it('reports a digest that is none, and cuts a long problem', () => {
    expect(statedBase({ baseName: 'r/b:1', baseDigest: 'x'.repeat(100_000) }).baseProblem).toMatch(
      /^the base digest it states is not a digest: "x{80}"$/,
    );
    expect(statedBase({ baseProblem: 'p'.repeat(10_000) }).baseProblem).toHaveLength(maxTextLength);
  });
});
