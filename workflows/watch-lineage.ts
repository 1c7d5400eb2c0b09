// How the watch keeps an image's lineage: which base build it was built on, found by the image's
// own statements (annotations, provenance) or, for a declared base, by layer prefix; and whether
// the base has moved on since. Pure and deterministic: it only edits the state it is given.
import { buildUnder, maxComparedLayers } from '../activities/registry/lineage.ts';
import type {
  BaseBuild,
  DeclaredBaseUpdate,
  ImageChange,
  ImageState,
  WatchedImage,
} from './watch-messages.ts';
import { baseBuildsKept, boundedText } from './watch-state-bounds.ts';

/** A new digest of the image: take what it says about its base, then try the declared base. */
export function lineageOfChange(s: ImageState, img: WatchedImage, change: ImageChange, at: string): void {
  setBase(s, change.baseName, change.baseDigest);
  if (change.baseFrom) s.baseFrom = change.baseFrom;
  else delete s.baseFrom;
  if (change.baseProblem) s.baseProblem = boundedText(change.baseProblem);
  else delete s.baseProblem;
  delete s.unprovenLayers;
  if (img.base && change.layers) {
    s.unprovenLayers = change.layers.slice(0, maxComparedLayers);
    proveDeclaredBase(s, img);
  }
  judge(s, at);
}

/** A declared base's newest build, or why it could not be read, for one image built on it. */
export function lineageOfDeclaredBase(
  s: ImageState,
  img: WatchedImage,
  update: DeclaredBaseUpdate,
  at: string,
) {
  if (!update.build) {
    // The proof already made stands; an image not yet proven says why it cannot be.
    if (s.baseFrom !== 'layers') s.baseProblem = boundedText(update.problem);
    return;
  }
  const build = update.build;
  const builds = s.baseBuilds ?? [];
  if (builds[0]?.digest !== build.digest) {
    s.baseBuilds = [build, ...builds.filter((b) => b.digest !== build.digest)].slice(0, baseBuildsKept);
  }
  if (s.baseFrom === 'layers') {
    s.baseName = build.name;
    s.baseLatestDigest = build.digest;
  } else {
    proveDeclaredBase(s, img);
  }
  judge(s, at);
}

/** Whether the base moved on: the build the image is on is not the base's newest. */
export function judge(s: ImageState, at: string): void {
  if (s.baseLatestDigest && s.baseDigest && s.baseLatestDigest !== s.baseDigest) s.baseBehindSince ??= at;
  else delete s.baseBehindSince;
}

/**
 * The declared base wins over what the image says when a known build's layers start the
 * image's: the config is what the operator asked Freshet to compare with. Until one does, the
 * image's own statement (if any) stands and the reason is kept.
 */
function proveDeclaredBase(s: ImageState, img: WatchedImage): void {
  const layers = s.unprovenLayers;
  const builds: BaseBuild[] = s.baseBuilds ?? [];
  if (!img.base || !layers) return;
  const under = buildUnder(layers, builds);
  if (!under) {
    if (builds.length > 0) {
      const known = `${builds.length} known build${builds.length === 1 ? '' : 's'}`;
      s.baseProblem = `declared base ${img.base.image}: the image's layers start with none of its ${known}`;
    }
    return;
  }
  setBase(s, under.name, under.digest);
  s.baseFrom = 'layers';
  s.baseLatestDigest = builds[0]?.digest ?? under.digest;
  delete s.baseProblem;
  delete s.unprovenLayers;
}

/** Another base than before: what its old tag resolved to says nothing about the new one. */
function setBase(s: ImageState, name: string | undefined, digest: string | undefined): void {
  if (name !== s.baseName) delete s.baseLatestDigest;
  if (name) s.baseName = name;
  else delete s.baseName;
  if (digest) s.baseDigest = digest;
  else delete s.baseDigest;
}
