// A watch carries all its images' state across continue-as-new in one payload, and Temporal
// refuses a payload past 2 MiB. A watch group whose images could outgrow that runs as parts:
// each part is a watch workflow of its own, sized by the largest state each of its images can
// reach (workflows/watch-state-bounds.ts), not by what they hold today. Pure: every daemon of a
// deployment derives the same parts from the same config, so reconciliation stays idempotent.

import { type WatchedImage, watchPartName } from '../workflows/watch-messages.ts';
import { largestImageState } from '../workflows/watch-state-bounds.ts';

/**
 * Carried bytes per part: three quarters of Temporal's 2 MiB blob limit, leaving room for the
 * rest of the watch's input and for a cycle's activity result, which is smaller than the state.
 */
export const partBudgetBytes = 1.5 * 1024 * 1024;

/** Parts are filled to this share of the budget on average, so hashing rarely meets a full one. */
const averageFill = 0.8;

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** Bytes of the largest state an image can carry, measured on largestImageState. */
export const imageStateBytesBound = {
  plain: bytesOf(largestImageState(false)),
  withDeclaredBase: bytesOf(largestImageState(true)),
} as const;

/**
 * What one image can add to its watch's carried input at most: its entry in `images`, its entry
 * in `state` (keyed by its name) and the separators.
 */
export function carriedBytesBound(image: WatchedImage): number {
  const state = image.base ? imageStateBytesBound.withDeclaredBase : imageStateBytesBound.plain;
  return bytesOf(image) + bytesOf(image.name) + state + 2;
}

export interface WatchPart {
  /** The group's name for its first part, `<group>/<n>` for the others. */
  name: string;
  group: string;
  images: WatchedImage[];
}

/**
 * The parts of one group: one when its images fit the budget (the group's own watch, as before
 * parts existed), else the fewest parts that fit on average at `averageFill`. Each image goes to
 * the part that ranks highest for it (rendezvous hashing on its name), or the next with room:
 * adding or removing an image moves no other, and a change of the part count moves only the
 * images whose ranking changes, about one part's worth.
 */
export function partitionWatchGroup(
  group: string,
  images: readonly WatchedImage[],
  budgetBytes: number = partBudgetBytes,
): WatchPart[] {
  const weights = images.map(carriedBytesBound);
  const total = weights.reduce((a, b) => a + b, 0);
  const heaviest = Math.max(0, ...weights);
  if (heaviest > budgetBytes) {
    throw new Error(
      `watch group ${group}: one image can carry ${heaviest} bytes of state, more than a watch's budget of ${budgetBytes}`,
    );
  }
  if (total <= budgetBytes) return [{ name: group, group, images: [...images] }];
  for (let count = Math.ceil(total / (budgetBytes * averageFill)); ; count++) {
    const parts = assign(images, weights, count, budgetBytes);
    if (parts) return parts.map((members, n) => ({ name: watchPartName(group, n), group, images: members }));
  }
}

function assign(
  images: readonly WatchedImage[],
  weights: readonly number[],
  count: number,
  budgetBytes: number,
): WatchedImage[][] | undefined {
  const parts: WatchedImage[][] = Array.from({ length: count }, () => []);
  const used = new Array<number>(count).fill(0);
  // By name, so a part that fills up turns away the same images whatever the config's order.
  const order = images.map((_, i) => i).sort((a, b) => compare(images[a]?.name, images[b]?.name));
  for (const i of order) {
    const image = images[i] as WatchedImage;
    const weight = weights[i] as number;
    const seed = fnv1a(image.name);
    const ranked = parts.map((_, n) => n).sort((a, b) => rank(seed, b) - rank(seed, a) || a - b);
    const chosen = ranked.find((n) => (used[n] as number) + weight <= budgetBytes);
    if (chosen === undefined) return undefined;
    parts[chosen]?.push(image);
    used[chosen] = (used[chosen] as number) + weight;
  }
  // Each part lists its images in the config's order, as an unsplit watch does.
  const position = new Map(images.map((img, i) => [img, i]));
  for (const members of parts) members.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
  return parts;
}

const compare = (a = '', b = '') => (a < b ? -1 : a > b ? 1 : 0);

/** 32-bit FNV-1a of a name: stable across processes and versions, unlike any runtime hash. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** An image's score for a part: a mix of the name's hash and the part number (murmur3's finaliser). */
function rank(seed: number, part: number): number {
  let h = (seed ^ Math.imul(part + 1, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
