// Layer-prefix lineage: an image is built on a base build when that build's layers are its
// first layers, in order (a Dockerfile's FROM copies the base's layer list and appends). Pure,
// so the watch workflow and the provenance reader share the one rule.

/**
 * Layers kept per build for the comparison. A base with more layers is not compared: judging
 * it by a truncated list could match an older build that shares the first ones.
 */
export const maxComparedLayers = 128;

/** Whether `layers` begins with every layer of `base`; an empty base proves nothing. */
export function layersStartWith(layers: readonly string[], base: readonly string[]): boolean {
  if (base.length === 0 || base.length > layers.length) return false;
  return base.every((digest, i) => layers[i] === digest);
}

export interface LayeredBuild {
  digest: string;
  layers: readonly string[];
}

/**
 * The build an image is built on, among known builds of its base. The longest match wins, so a
 * build that only adds layers on top of an earlier one (or a base of the base) is not mistaken
 * for it; on a tie (a rebuild with the same layers) the first listed, i.e. the newest.
 */
export function buildUnder<T extends LayeredBuild>(
  layers: readonly string[],
  builds: readonly T[],
): T | undefined {
  let best: T | undefined;
  for (const build of builds) {
    if (!layersStartWith(layers, build.layers)) continue;
    if (!best || build.layers.length > best.layers.length) best = build;
  }
  return best;
}
