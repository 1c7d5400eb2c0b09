import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import {
  carriedBytesBound,
  imageStateBytesBound,
  partBudgetBytes,
  partitionWatchGroup,
  type WatchPart,
} from '../../../worker/watch-parts.ts';
import { watchParts } from '../../../worker/watches.ts';
import { handoverMessage, imageStateMessage } from '../../../workflows/message-schemas.ts';
import type { WatchedImage } from '../../../workflows/watch-messages.ts';
import {
  boundedText,
  largestImageState,
  maxTextLength,
  platformsKept,
  previousKept,
} from '../../../workflows/watch-state-bounds.ts';

const image = (i: number, extra: Partial<WatchedImage> = {}): WatchedImage => ({
  name: `app-${i}`,
  registry: 'local',
  repository: `acme/app-${i}`,
  track: { tag: '1' },
  intervalMs: 60_000,
  platform: 'linux/amd64',
  ...extra,
});
const images = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => image(from + i));
const where = (parts: WatchPart[]) =>
  new Map(parts.flatMap((p) => p.images.map((img) => [img.name, p.name] as const)));
const carried = (part: WatchPart) => part.images.reduce((sum, img) => sum + carriedBytesBound(img), 0);

describe('the largest state an image can carry', () => {
  it('is what the handover schema admits at most, and one more of anything is refused', () => {
    for (const base of [false, true]) {
      const largest = largestImageState(base);
      expect(imageStateMessage.safeParse(largest).success).toBe(true);
      const tooMany = structuredClone(largest);
      tooMany.previous.push(tooMany.previous[0] ?? { tag: 't', digest: '', firstSeenAt: '' });
      expect(imageStateMessage.safeParse(tooMany).success).toBe(false);
      const tooManyPlatforms = structuredClone(largest);
      tooManyPlatforms.latest?.platforms?.push({
        digest: `sha256:${'a'.repeat(64)}`,
        platform: 'linux/arm64',
      });
      expect(imageStateMessage.safeParse(tooManyPlatforms).success).toBe(false);
    }
    expect(largestImageState(false).previous).toHaveLength(previousKept);
    expect(largestImageState(false).latest?.platforms).toHaveLength(platformsKept);
    // Measured, not guessed: the bound is the largest state's JSON in bytes.
    expect(imageStateBytesBound.plain).toBe(Buffer.byteLength(JSON.stringify(largestImageState(false))));
    expect(imageStateBytesBound.withDeclaredBase).toBeGreaterThan(imageStateBytesBound.plain);
  });

  it('keeps texts within three bytes a unit: no control characters, no lone surrogates, cut at the cap', () => {
    const hostile = `\u0000\u001b[31m${'\ud800'.repeat(10)}${'é'.repeat(2 * maxTextLength)}`;
    const kept = boundedText(hostile);
    expect(kept.length).toBeLessThanOrEqual(maxTextLength);
    expect(Buffer.byteLength(JSON.stringify(kept))).toBeLessThanOrEqual(3 * maxTextLength + 2);
    expect([...kept].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
    expect(kept.isWellFormed()).toBe(true);
    expect(boundedText('registry local: HEAD acme/web:1 → 401')).toBe(
      'registry local: HEAD acme/web:1 → 401',
    );
    const state = { ...largestImageState(false), lastError: hostile };
    expect(handoverMessage.safeParse({ web: state }).success).toBe(true);
    expect(imageStateMessage.safeParse(state).success).toBe(false);
    const parsed = imageStateMessage.parse({ ...state, lastError: hostile.slice(0, maxTextLength) });
    expect([...(parsed.lastError ?? '')].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
  });
});

describe('watch parts', () => {
  it('keeps a group that fits as one watch under its own name', () => {
    const parts = partitionWatchGroup('local', images(0, 20));
    expect(parts).toHaveLength(1);
    expect(parts[0]?.name).toBe('local');
    expect(parts[0]?.images.map((i) => i.name)).toEqual(images(0, 20).map((i) => i.name));
  });

  it('splits 5,000 images into parts that each fit the budget, every image in exactly one', () => {
    const all = images(0, 5_000);
    const parts = partitionWatchGroup('local', all);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((p) => p.name).slice(0, 3)).toEqual(['local', 'local/1', 'local/2']);
    for (const part of parts) expect(carried(part)).toBeLessThanOrEqual(partBudgetBytes);
    const names = parts.flatMap((p) => p.images.map((i) => i.name));
    expect(names).toHaveLength(5_000);
    expect(new Set(names).size).toBe(5_000);
    // The fewest parts at the average fill, not one per image.
    const perPart = Math.floor(partBudgetBytes / carriedBytesBound(image(0)));
    expect(parts.length).toBeLessThanOrEqual(Math.ceil(5_000 / (perPart * 0.8)) + 1);
  });

  it('moves no other image when images are added or removed, and only to a new part when one is added', () => {
    const budget = 20 * carriedBytesBound(image(0));
    const before = where(partitionWatchGroup('g', images(0, 40), budget));
    const grown = where(partitionWatchGroup('g', images(0, 41), budget));
    const shrunk = where(partitionWatchGroup('g', images(1, 40), budget));
    expect(new Set(before.values()).size).toBe(new Set(grown.values()).size);
    for (const [name, part] of shrunk) expect(part).toBe(before.get(name));
    for (const [name, part] of before) expect(grown.get(name)).toBe(part);

    const more = where(partitionWatchGroup('g', images(0, 70), budget));
    expect(new Set(more.values()).size).toBeGreaterThan(new Set(before.values()).size);
    const oldParts = new Set(before.values());
    const moved = [...before].filter(([name, part]) => more.get(name) !== part);
    // An image that moves goes to one of the new parts, never from one old part to another.
    for (const [name] of moved) expect(oldParts.has(more.get(name) ?? '')).toBe(false);
    expect(moved.length).toBeLessThan(before.size / 2);
  });

  it('gives the same parts whatever the order of the config', () => {
    const budget = 10 * carriedBytesBound(image(0));
    const forward = partitionWatchGroup('g', images(0, 50), budget);
    const backward = partitionWatchGroup('g', images(0, 50).reverse(), budget);
    expect(where(backward)).toEqual(where(forward));
  });

  it('sizes images with a declared base by their larger state', () => {
    const withBase = image(1, {
      base: {
        image: 'base',
        registry: 'local',
        host: 'r:5000',
        repository: 'acme/base',
        track: { tag: '1' },
      },
    });
    expect(carriedBytesBound(withBase) - carriedBytesBound(image(1))).toBeGreaterThan(
      imageStateBytesBound.withDeclaredBase - imageStateBytesBound.plain,
    );
    expect(() => partitionWatchGroup('g', [withBase], 1_000)).toThrow(/more than a watch's budget of 1000/);
  });

  it('splits every group of a config on its own, and only those that need it', () => {
    const config = parseConfig(
      `
registries: [ { name: a, url: "http://a:5000" }, { name: b, url: "http://b:5000" } ]
images:
${images(0, 120)
  .map((i) => `  - { name: ${i.name}, registry: a, repository: ${i.repository}, track: { tag: "1" } }`)
  .join('\n')}
  - { name: db, registry: b, repository: acme/db, track: { tag: "16" } }
`,
      't',
      { env: {} },
    );
    const parts = watchParts(config);
    expect(parts.filter((p) => p.group === 'b').map((p) => p.name)).toEqual(['b']);
    const ofA = parts.filter((p) => p.group === 'a');
    expect(ofA.map((p) => p.name)).toEqual(ofA.map((_, n) => (n === 0 ? 'a' : `a/${n}`)));
    expect(ofA.length).toBeGreaterThan(1);
    expect(ofA.flatMap((p) => p.images).length).toBe(120);
  });
});
