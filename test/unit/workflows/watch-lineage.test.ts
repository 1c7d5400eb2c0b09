import { describe, expect, it } from 'vitest';
import { lineageOfChange, lineageOfDeclaredBase } from '../../../workflows/watch-lineage.ts';
import type { BaseBuild, ImageChange, ImageState, WatchedImage } from '../../../workflows/watch-messages.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const img: WatchedImage = {
  name: 'app',
  registry: 'local',
  repository: 'acme/app',
  track: { tag: '1' },
  intervalMs: 60_000,
  platform: 'linux/amd64',
  base: {
    image: 'base',
    registry: 'local',
    host: '127.0.0.1:5000',
    repository: 'acme/base',
    track: { tag: '3' },
  },
};
const build = (c: string, layers: string[]): BaseBuild => ({
  digest: d(c),
  name: '127.0.0.1:5000/acme/base:3',
  layers,
});
const b1 = build('1', [d('a')]);
const b2 = build('2', [d('b')]);
const change = (digest: string, layers: string[], extra: Partial<ImageChange> = {}): ImageChange => ({
  name: 'app',
  tag: '1',
  digest,
  layers,
  ...extra,
});
const update = (b: BaseBuild) => ({ image: 'base', platform: 'linux/amd64', build: b });
const fresh = (): ImageState => ({ previous: [], nextDueAt: 0 });

describe('lineage by layer prefix in the watch', () => {
  it('goes not behind → behind → not behind as the base and then the image are rebuilt', () => {
    const s = fresh();
    lineageOfDeclaredBase(s, img, update(b1), 't1');
    lineageOfChange(s, img, change(d('c'), [d('a'), d('x')]), 't1');
    expect(s).toMatchObject({ baseFrom: 'layers', baseDigest: d('1'), baseLatestDigest: d('1') });
    expect(s.baseBehindSince).toBeUndefined();
    expect(s.unprovenLayers).toBeUndefined();

    lineageOfDeclaredBase(s, img, update(b2), 't2');
    expect(s).toMatchObject({ baseDigest: d('1'), baseLatestDigest: d('2'), baseBehindSince: 't2' });
    expect(s.baseBuilds?.map((b) => b.digest)).toEqual([d('2'), d('1')]);

    lineageOfChange(s, img, change(d('e'), [d('b'), d('y')]), 't3');
    expect(s).toMatchObject({ baseFrom: 'layers', baseDigest: d('2'), baseLatestDigest: d('2') });
    expect(s.baseBehindSince).toBeUndefined();
  });

  it('wins over what the image says when proven, and leaves it standing when not', () => {
    const s = fresh();
    lineageOfDeclaredBase(s, img, update(b1), 't1');
    const says = {
      baseName: 'docker.io/library/alpine:3',
      baseDigest: d('9'),
      baseFrom: 'annotation' as const,
    };
    lineageOfChange(s, img, change(d('c'), [d('a'), d('x')], says), 't1');
    expect(s).toMatchObject({ baseFrom: 'layers', baseName: '127.0.0.1:5000/acme/base:3' });

    lineageOfChange(s, img, change(d('e'), [d('q'), d('x')], says), 't2');
    expect(s).toMatchObject({
      baseFrom: 'annotation',
      baseName: 'docker.io/library/alpine:3',
      baseDigest: d('9'),
    });
    expect(s.baseLatestDigest).toBeUndefined();
    expect(s.baseProblem).toBe("declared base base: the image's layers start with none of its 1 known build");
  });

  it('proves an image seen before its base could be read, once a build of the base is', () => {
    const s = fresh();
    lineageOfChange(s, img, change(d('c'), [d('a'), d('x')]), 't1');
    expect(s.baseFrom).toBeUndefined();
    lineageOfDeclaredBase(
      s,
      img,
      { image: 'base', platform: 'linux/amd64', problem: 'declared base base: 503' },
      't1',
    );
    expect(s.baseProblem).toBe('declared base base: 503');
    lineageOfDeclaredBase(s, img, update(b1), 't2');
    expect(s).toMatchObject({ baseFrom: 'layers', baseDigest: d('1') });
    expect(s.baseProblem).toBeUndefined();
  });

  it('keeps a few builds of the base, newest first, each once', () => {
    const s = fresh();
    for (const c of ['1', '2', '3', '4', '5', '6', '3'])
      lineageOfDeclaredBase(s, img, update(build(c, [d(c)])), 't');
    expect(s.baseBuilds?.map((b) => b.digest)).toEqual([d('3'), d('6'), d('5'), d('4'), d('2')]);
  });

  it('an image without a declared base keeps the lineage its builds state', () => {
    const plain = { ...img, base: undefined };
    const s = fresh();
    lineageOfChange(
      s,
      plain,
      change(d('c'), [], { baseName: 'r/base:1', baseDigest: d('1'), baseFrom: 'provenance' }),
      't',
    );
    s.baseLatestDigest = d('2');
    lineageOfChange(
      s,
      plain,
      change(d('e'), [], { baseName: 'r/base:1', baseDigest: d('1'), baseFrom: 'provenance' }),
      't2',
    );
    expect(s).toMatchObject({ baseFrom: 'provenance', baseLatestDigest: d('2'), baseBehindSince: 't2' });
    expect(s.unprovenLayers).toBeUndefined();
  });
});
