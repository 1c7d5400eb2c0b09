// What one image may add to the state a watch carries across continue-as-new. Temporal refuses a
// payload past 2 MiB, so every field of ImageState has a cap here, and the daemon sizes watch
// groups by the largest state these caps allow (worker/watch-parts.ts). Pure and deterministic:
// the workflow, its activities and the daemon share it.
import { maxComparedLayers } from '../activities/registry/lineage.ts';
import type { DigestRecord, ImageState } from './watch-messages.ts';

/** Digests seen before the latest, kept to date what targets still run. */
export const previousKept = 5;
/** As many platform manifests per digest as the activity reports (maxIndexPlatforms). */
export const platformsKept = 16;
/** Builds of a declared base kept to judge images built before its latest rebuild. */
export const baseBuildsKept = 5;
/** Errors and problems as stored; longer ones are cut (UTF-16 units). */
export const maxTextLength = 500;
/** `host/repository:tag` of a base: a longer name is no reference a registry accepts. */
export const maxReferenceLength = 1_024;
/** OCI tags are at most 128 characters. */
export const maxTagLength = 128;
/** `sha512:` and 128 hex digits, the longest digest Freshet accepts. */
const longestDigest = `sha512:${'f'.repeat(128)}`;
/** `os/architecture/variant` of at most 32 characters each (image-metadata.ts). */
const longestPlatform = `${'a'.repeat(32)}/${'a'.repeat(32)}/${'a'.repeat(32)}`;
/** ISO 8601 with a six-digit year, the longest Date#toISOString gives. */
const longestTime = '+275760-09-13T00:00:00.000Z';

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it replaces
const controlCharacters = /[\u0000-\u001f\u007f]/g;

/**
 * Text as the state keeps it: at most maxTextLength units, no control characters (JSON would
 * escape each to six bytes) and no lone surrogates, so a unit costs at most three bytes.
 */
export function boundedText(text: string): string {
  const plain = text.toWellFormed().replace(controlCharacters, ' ');
  return plain.length <= maxTextLength ? plain : `${plain.slice(0, maxTextLength - 1).toWellFormed()}…`;
}

/** The longest text boundedText returns, in bytes: three per unit. */
const longestText = '€'.repeat(maxTextLength);

function longestRecord(): DigestRecord {
  return {
    tag: 'a'.repeat(maxTagLength),
    digest: longestDigest,
    firstSeenAt: longestTime,
    created: longestTime,
    platforms: Array.from({ length: platformsKept }, () => ({
      digest: longestDigest,
      platform: longestPlatform,
    })),
  };
}

/** The largest state the caps allow, for an image with or without a declared base. */
export function largestImageState(declaredBase: boolean): ImageState {
  const layers = Array.from({ length: maxComparedLayers }, () => longestDigest);
  return {
    latest: longestRecord(),
    previous: Array.from({ length: previousKept }, longestRecord),
    baseName: 'a'.repeat(maxReferenceLength),
    baseDigest: longestDigest,
    baseLatestDigest: longestDigest,
    baseBehindSince: longestTime,
    baseFrom: 'annotation',
    baseProblem: longestText,
    ...(declaredBase
      ? {
          baseBuilds: Array.from({ length: baseBuildsKept }, () => ({
            digest: longestDigest,
            name: 'a'.repeat(maxReferenceLength),
            layers,
          })),
          unprovenLayers: layers,
        }
      : {}),
    lastCheckAt: longestTime,
    lastSuccessAt: longestTime,
    lastError: longestText,
    lastErrorReason: 'server_error',
    handoffPending: 'webhook',
    slowedDown: {
      intervalMs: Number.MAX_SAFE_INTEGER,
      remaining: Number.MAX_SAFE_INTEGER,
      windowSeconds: Number.MAX_SAFE_INTEGER,
    },
    nextDueAt: -Number.MAX_SAFE_INTEGER,
  };
}
