// The watch's one activity per cycle: resolve every due image with a HEAD (a tag list first for
// version policies), read metadata only for digests not seen before, and report only changes.
// Declared bases are resolved here too, so their layers are read once per new build.
import { heartbeat } from '@temporalio/activity';
import type {
  CheckResult,
  DeclaredBase,
  DeclaredBaseUpdate,
  ImageChange,
  ImageCheckRequest,
  LookupFailureReason,
  RegistryBudget,
  TrackPolicy,
} from '../../workflows/watch-messages.ts';
import { boundedText, maxReferenceLength } from '../../workflows/watch-state-bounds.ts';
import type { RegistryClient } from '../registry/client.ts';
import { RegistryError } from '../registry/errors.ts';
import { maxComparedLayers } from '../registry/lineage.ts';
import { parsePlatform } from '../registry/platform.ts';
import { chooseTag } from '../registry/policies.ts';
import { isValidDigest, isValidTag } from '../registry/references.ts';
import { parseImageReference } from './image-reference.ts';

export interface WatchActivityDeps {
  /** Clients by registry name, built by the worker with resolved credentials. */
  registries: ReadonlyMap<string, RegistryClient>;
  /** Registry name for a host as it appears in image references (base images). */
  registryForHost: (host: string) => string | undefined;
  /** Images the config watches on a registry (all watch groups), sharing its request budget. */
  imagesOnRegistry?: (registry: string) => number;
  onCheckFailure?: (registry: string, image: string, error: string, reason: LookupFailureReason) => void;
}

export interface CheckImagesInput {
  group: string;
  requests: ImageCheckRequest[];
}

export interface WatchActivities {
  checkImages(input: CheckImagesInput): Promise<CheckResult>;
}

export function createWatchActivities(deps: WatchActivityDeps): WatchActivities {
  return {
    async checkImages({ requests }) {
      const result: CheckResult = { changes: [], bases: [], failures: [] };
      const baseChecks = new Map<string, string | undefined>();
      const started = Date.now();
      const cycle = new CycleMemo();
      // Alive while requests are in flight: a slow registry must end in its own per-request
      // timeout (a per-image error), not in a heartbeat timeout that fails every image.
      const beat = setInterval(() => heartbeat(), 5_000);
      try {
        await checkAll();
      } finally {
        clearInterval(beat);
      }
      const budgets = budgetsSeen(deps, requests, started);
      if (budgets.length > 0) result.budgets = budgets;
      return result;

      async function checkAll() {
        await Promise.all(
          requests.map(async (req) => {
            try {
              const change = await checkImage(deps, req, cycle);
              if (change) result.changes.push(change);
              const baseName = change ? change.baseName : req.baseName;
              // A new base, or images that know different digests of one, must all be told.
              const known = baseName === req.baseName ? req.knownBaseDigest : undefined;
              if (baseName && baseChecks.has(baseName) && baseChecks.get(baseName) !== known)
                baseChecks.set(baseName, undefined);
              else if (baseName) baseChecks.set(baseName, known);
            } catch (err) {
              const error = boundedText(err instanceof Error ? err.message : String(err));
              const reason = lookupFailureReason(err);
              result.failures.push({ name: req.image.name, error, reason });
              deps.onCheckFailure?.(req.image.registry, req.image.name, error, reason);
            }
            heartbeat();
          }),
        );
        const declared = await checkDeclaredBases(deps, requests, cycle);
        if (declared.length > 0) result.declaredBases = declared;
        await Promise.all(
          [...baseChecks].map(async ([name, known]) => {
            const latest = await resolveBase(deps, name, known, cycle).catch(() => undefined);
            if (latest && latest !== known) result.bases.push({ name, latestDigest: latest });
          }),
        );
      }
    },
  };
}

/**
 * Why a lookup failed, in a few words a metric label can carry: `absent` is a 404 (the tag or
 * the repository is gone upstream), the rest say whom to ask.
 */
export function lookupFailureReason(err: unknown): LookupFailureReason {
  if (!(err instanceof RegistryError)) return 'error';
  if (err.status === undefined) return 'unreachable';
  if (err.status === 404) return 'absent';
  if (err.status === 401 || err.status === 403) return 'unauthorized';
  if (err.status === 429) return 'rate_limited';
  return err.status >= 500 ? 'server_error' : 'error';
}

/** The request budget each registry of this cycle announced in this cycle, for the watch to pace itself. */
function budgetsSeen(
  deps: WatchActivityDeps,
  requests: ImageCheckRequest[],
  since: number,
): RegistryBudget[] {
  const registries = [...new Set(requests.map((r) => r.image.registry))].sort();
  return registries.flatMap((registry) => {
    const seen = deps.registries.get(registry)?.rateLimit;
    if (!seen || seen.observedAt < since) return [];
    const { observedAt: _, ...budget } = seen;
    const images =
      deps.imagesOnRegistry?.(registry) ?? requests.filter((r) => r.image.registry === registry).length;
    return [{ registry, ...budget, images }];
  });
}

/**
 * One answer per question within a cycle: a base that is also watched, or shared by several
 * images, costs one HEAD (and one tag list) per cycle, not one per asker.
 */
class CycleMemo {
  readonly #answers = new Map<string, Promise<unknown>>();

  once<T>(key: string, ask: () => Promise<T>): Promise<T> {
    let answer = this.#answers.get(key) as Promise<T> | undefined;
    if (!answer) {
      answer = ask();
      this.#answers.set(key, answer);
    }
    return answer;
  }

  static digestKey = (registry: string, repository: string, tag: string) =>
    `digest\n${registry}\n${repository}\n${tag}`;
}

function clientFor(deps: WatchActivityDeps, registry: string, image: string): RegistryClient {
  const client = deps.registries.get(registry);
  if (!client) throw new Error(`image ${image}: no registry named "${registry}" in the worker's config`);
  return client;
}

/** The tag an image follows now: its fixed tag, or the one its version policy picks from the list. */
async function trackedTag(
  client: RegistryClient,
  image: { name: string; repository: string; track: TrackPolicy },
): Promise<string> {
  if ('tag' in image.track) return image.track.tag;
  const { tags } = await client.listTags(image.repository);
  // The list is the registry's word; a tag no registry could serve must not reach the watch state.
  const choice = chooseTag(image.track, tags.filter(isValidTag));
  if (choice.tag === undefined) throw new Error(`image ${image.name}: ${choice.reason}`);
  return choice.tag;
}

async function checkImage(
  deps: WatchActivityDeps,
  req: ImageCheckRequest,
  cycle: CycleMemo,
): Promise<ImageChange | undefined> {
  const { image } = req;
  const client = clientFor(deps, image.registry, image.name);
  const tag = await cycle.once(
    `tag\n${image.registry}\n${image.repository}\n${JSON.stringify(image.track)}`,
    () => trackedTag(client, image),
  );
  const known = req.knownTag === tag ? req.knownDigest : undefined;
  const resolved = await cycle.once(CycleMemo.digestKey(image.registry, image.repository, tag), () =>
    client.resolveDigest(image.repository, tag, known ? { ifNoneMatch: known } : {}).then((r) => r.digest),
  );
  if (resolved === req.knownDigest && tag === req.knownTag) return undefined;
  const meta = await client.imageMetadata(image.repository, resolved, parsePlatform(image.platform));
  const base = statedBase(meta);
  const layers = meta.layers.slice(0, maxComparedLayers);
  return {
    name: image.name,
    tag,
    digest: resolved,
    ...(meta.created ? { created: meta.created } : {}),
    ...base,
    // Layers go into the watch's history, so only where a declared base will be compared with them.
    ...(image.base && layers.every(isValidDigest) ? { layers } : {}),
    ...(meta.platforms?.length ? { platforms: meta.platforms } : {}),
  };
}

/**
 * The base an image names itself, as the watch keeps it: annotations are the image's word, so
 * a name no registry could serve, or a digest that is none, is reported instead of stored.
 */
export function statedBase(meta: {
  baseName?: string;
  baseDigest?: string;
  baseFrom?: 'annotation' | 'provenance';
  baseProblem?: string;
}): Pick<ImageChange, 'baseName' | 'baseDigest' | 'baseFrom' | 'baseProblem'> {
  const { baseName, baseDigest, baseFrom, baseProblem } = meta;
  const unusable =
    baseName !== undefined && baseName.length > maxReferenceLength
      ? `the base name it states is ${baseName.length} characters long, more than ${maxReferenceLength}`
      : baseDigest !== undefined && !isValidDigest(baseDigest)
        ? `the base digest it states is not a digest: ${JSON.stringify(baseDigest.slice(0, 80))}`
        : undefined;
  if (unusable) return { baseProblem: boundedText(unusable) };
  return {
    ...(baseName ? { baseName } : {}),
    ...(baseDigest ? { baseDigest } : {}),
    ...(baseFrom ? { baseFrom } : {}),
    ...(baseProblem ? { baseProblem: boundedText(baseProblem) } : {}),
  };
}

/**
 * The newest build of every declared base of the due images, with its layers for their
 * platform: one HEAD per base per cycle, and one or two manifest GETs only for a build some
 * image has not seen. A base that cannot be read is reported, never fails the images.
 */
async function checkDeclaredBases(
  deps: WatchActivityDeps,
  requests: readonly ImageCheckRequest[],
  cycle: CycleMemo,
): Promise<DeclaredBaseUpdate[]> {
  const wanted = new Map<string, { base: DeclaredBase; platform: string; known: (string | undefined)[] }>();
  for (const req of requests) {
    const base = req.image.base;
    if (!base) continue;
    const key = `${base.image}\n${req.image.platform}`;
    const entry = wanted.get(key) ?? { base, platform: req.image.platform, known: [] };
    entry.known.push(req.knownDeclaredBaseDigest);
    wanted.set(key, entry);
  }
  const updates = await Promise.all(
    [...wanted.values()].map(async ({ base, platform, known }): Promise<DeclaredBaseUpdate | undefined> => {
      try {
        const client = clientFor(deps, base.registry, base.image);
        const image = { name: base.image, repository: base.repository, track: base.track };
        const tag = await cycle.once(
          `tag\n${base.registry}\n${base.repository}\n${JSON.stringify(base.track)}`,
          () => trackedTag(client, image),
        );
        const ifNoneMatch = known.find((k) => k !== undefined);
        const digest = await cycle.once(CycleMemo.digestKey(base.registry, base.repository, tag), () =>
          client
            .resolveDigest(base.repository, tag, ifNoneMatch ? { ifNoneMatch } : {})
            .then((r) => r.digest),
        );
        if (known.every((k) => k === digest)) return undefined;
        const { layers } = await client.platformLayers(base.repository, digest, parsePlatform(platform));
        if (layers.length > maxComparedLayers) {
          throw new Error(`${layers.length} layers, more than the ${maxComparedLayers} compared`);
        }
        if (!layers.every(isValidDigest)) throw new Error('its manifest lists a layer digest that is none');
        return {
          image: base.image,
          platform,
          build: { digest, name: `${base.host}/${base.repository}:${tag}`, layers },
        };
      } catch (err) {
        const problem = boundedText(
          `declared base ${base.image}: ${err instanceof Error ? err.message : String(err)}`,
        );
        return { image: base.image, platform, problem };
      }
    }),
  );
  return updates.filter((u): u is DeclaredBaseUpdate => u !== undefined);
}

/** The digest a base image's tag resolves to now, when its registry is one Freshet knows. */
async function resolveBase(
  deps: WatchActivityDeps,
  baseName: string,
  known: string | undefined,
  cycle: CycleMemo,
) {
  const ref = parseImageReference(baseName);
  if (!ref?.tag) return undefined;
  const registry = deps.registryForHost(ref.host);
  const client = registry ? deps.registries.get(registry) : undefined;
  if (!registry || !client) return undefined;
  const tag = ref.tag;
  return cycle.once(CycleMemo.digestKey(registry, ref.repository, tag), () =>
    client.resolveDigest(ref.repository, tag, known ? { ifNoneMatch: known } : {}).then((r) => r.digest),
  );
}
