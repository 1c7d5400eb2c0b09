// Types and messages of the watch workflow, shared by the workflow, its activities and the daemon.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { IndexPlatform } from '../activities/registry/image-metadata.ts';

export type TrackPolicy =
  | { tag: string }
  | { semver: string; includePrerelease?: boolean }
  | { pattern: string; order: 'numerical' | 'alphabetical' };

/** One image as the watch sees it: no secrets, only names the worker resolves. */
export interface WatchedImage {
  name: string;
  registry: string;
  repository: string;
  track: TrackPolicy;
  pipeline?: string;
  intervalMs: number;
  platform: string;
  /** The watched image this one declares as its base (`images[].base`), proven by layer prefix. */
  base?: DeclaredBase;
}

/** Enough of the declared base's config to resolve it from any watch group. */
export interface DeclaredBase {
  image: string;
  registry: string;
  /** Host of its registry, for the reference shown as base name: `host/repository:tag`. */
  host: string;
  repository: string;
  track: TrackPolicy;
}

/** Which method found an image's base (README: base-image lineage). */
export type BaseFrom = 'annotation' | 'provenance' | 'layers';

/** One build of a declared base, with the layers an image built on it starts with. */
export interface BaseBuild {
  digest: string;
  /** `host/repository:tag` the build was resolved through. */
  name: string;
  layers: string[];
}

export interface DigestRecord {
  tag: string;
  digest: string;
  /** When this watch first saw the digest (ISO 8601). */
  firstSeenAt: string;
  /** Build time from the image, when it says. */
  created?: string;
  /** For a multi-platform index: each platform's manifest (at most 16), which pods may report instead. */
  platforms?: IndexPlatform[];
}

/** Why an image's lookup failed, bounded so it can label a metric. */
export const lookupFailureReasons = [
  'absent',
  'unauthorized',
  'rate_limited',
  'unreachable',
  'server_error',
  'error',
] as const;
export type LookupFailureReason = (typeof lookupFailureReasons)[number];

export interface ImageState {
  latest?: DigestRecord;
  /** Digests seen before the latest, newest first (a few), to date what targets still run. */
  previous: DigestRecord[];
  baseName?: string;
  /** The base digest the latest image was built on. */
  baseDigest?: string;
  /** What the base image's tag resolves to now. */
  baseLatestDigest?: string;
  baseBehindSince?: string;
  baseFrom?: BaseFrom;
  /** Why a lineage method found no base for the latest build, when one was expected to. */
  baseProblem?: string;
  /** Builds of the declared base seen by this watch, newest first (a few). */
  baseBuilds?: BaseBuild[];
  /** The latest build's first layers, kept until a build of the declared base proves its base. */
  unprovenLayers?: string[];
  lastCheckAt?: string;
  lastSuccessAt?: string;
  lastError?: string;
  /** The kind of the last check's failure: `absent` when the tag answered 404 (gone upstream). */
  lastErrorReason?: LookupFailureReason;
  /** The latest digest's hand-off to its pipeline failed; it is tried again with the next check. */
  handoffPending?: Trigger;
  /** The next check comes later than the interval, so the registry's request budget lasts its window. */
  slowedDown?: { intervalMs: number; remaining: number; windowSeconds: number };
  nextDueAt: number;
}

export interface WatchInput {
  group: string;
  images: WatchedImage[];
  /** Carried across continue-as-new. */
  state?: Record<string, ImageState>;
  /** Cycles so far, carried across continue-as-new so the count only grows. */
  cycles?: number;
  /** Images due within this window of each other are checked in one cycle. */
  batchWindowMs?: number;
  /** Continue as new after this many history events (the server may suggest it sooner). */
  maxHistoryEvents?: number;
}

export interface WatchStatus {
  group: string;
  images: { image: WatchedImage; state: ImageState }[];
  cycles: number;
  /** Messages that did not parse and were ignored (the newest few), with why. */
  ignored?: { message: string; reason: string; at: string }[];
}

/** What triggered a rollout request. */
export type Trigger = 'poll' | 'webhook' | 'manual';

export interface CheckNowHint {
  repository?: string;
  /** Several repositories at once (one signal per watch group for a webhook that names many). */
  repositories?: string[];
  tag?: string;
  /** The request came from a webhook, not a person. */
  source?: string;
}

export const checkNowSignal = defineSignal<[CheckNowHint?]>('checkNow');
/** The images a watch follows from now on, and the state of those that move in from another part. */
export const configureSignal = defineSignal<[WatchedImage[], Record<string, ImageState>?]>('configure');
export const stopSignal = defineSignal('stop');
export const watchStatusQuery = defineQuery<WatchStatus>('watchStatus');
/** The names of the images a watch follows: what the daemon asks to find where an image is watched. */
export const watchImagesQuery = defineQuery<string[]>('watchImages');

// Workflow ids end in `@<instance>` (temporal.instance), so two Freshet deployments in one
// namespace never share a watch, a pipeline or a rollout. Instance names hold no `@`.
export const watchWorkflowId = (instance: string, group: string) => `freshet-watch-${group}@${instance}`;
/**
 * A watch group runs as parts when its images would not fit one workflow's carried state: the
 * first part keeps the group's own name (and id), the others are `<group>/1`, `<group>/2`, …
 * Config names hold no `/`, so no part is mistaken for a group.
 */
export const watchPartName = (group: string, part: number) => (part === 0 ? group : `${group}/${part}`);
/** The id a watch had before ids carried the instance; the daemon retires such watches. */
export const legacyWatchWorkflowId = (group: string) => `freshet-watch-${group}`;

/**
 * One rollout per pipeline, image and digest: a duplicate request maps to the same id. Requests
 * recorded before ids carried the instance have none, and keep the id they had.
 */
export function rolloutWorkflowId(
  pipeline: string,
  image: string,
  digest: string,
  instance?: string,
): string {
  const id = `freshet-rollout-${pipeline}-${image}-${digest.replace(/^sha256:/, '')}`;
  return instance === undefined ? id : `${id}@${instance}`;
}

export interface ImageCheckRequest {
  image: WatchedImage;
  knownTag?: string;
  knownDigest?: string;
  knownBaseDigest?: string;
  baseName?: string;
  /** The newest build of the declared base whose layers the watch holds. */
  knownDeclaredBaseDigest?: string;
}

export interface ImageChange {
  name: string;
  tag: string;
  digest: string;
  created?: string;
  baseName?: string;
  baseDigest?: string;
  /** Where baseName came from: what the image says about itself. */
  baseFrom?: Exclude<BaseFrom, 'layers'>;
  baseProblem?: string;
  /** The platform manifest's first layers, only for an image with a declared base. */
  layers?: string[];
  platforms?: IndexPlatform[];
}

/** The newest build of a declared base, or why it could not be read this cycle. */
export type DeclaredBaseUpdate = { image: string; platform: string } & (
  | { build: BaseBuild; problem?: undefined }
  | { build?: undefined; problem: string }
);

/** A registry's request budget as its answers during one check cycle announced it. */
export interface RegistryBudget {
  registry: string;
  /** Requests left in the window. */
  remaining: number;
  limit?: number;
  windowSeconds?: number;
  /** Seconds until the window starts anew, when the registry says. */
  resetSeconds?: number;
  /** Images the daemon's config watches on this registry, all drawing on the budget. */
  images: number;
}

export interface CheckResult {
  /** Only images whose digest changed (invariant 8: unchanged images cost no history). */
  changes: ImageChange[];
  /** Base images whose tag now resolves to another digest than last time. */
  bases: { name: string; latestDigest: string }[];
  /** Declared bases (images[].base) whose newest build some due image did not know yet. */
  declaredBases?: DeclaredBaseUpdate[];
  failures: { name: string; error: string; reason?: LookupFailureReason }[];
  /** Registries that announced a request budget (Docker Hub's ratelimit-* headers) in this cycle. */
  budgets?: RegistryBudget[];
}
