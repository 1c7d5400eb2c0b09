// The watch's one activity per cycle: resolve every due image with a HEAD (a tag list first for
// version policies), read metadata only for digests not seen before, and report only changes.
import { heartbeat } from '@temporalio/activity';
import type {
  CheckResult,
  ImageChange,
  ImageCheckRequest,
  WatchedImage,
} from '../../workflows/watch-messages.ts';
import type { RegistryClient } from '../registry/client.ts';
import { parsePlatform } from '../registry/platform.ts';
import { chooseTag } from '../registry/policies.ts';
import { parseImageReference } from './image-reference.ts';

export interface WatchActivityDeps {
  /** Clients by registry name, built by the worker with resolved credentials. */
  registries: ReadonlyMap<string, RegistryClient>;
  /** Registry name for a host as it appears in image references (base images). */
  registryForHost: (host: string) => string | undefined;
  onCheckFailure?: (registry: string, image: string, error: string) => void;
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
      // Alive while requests are in flight: a slow registry must end in its own per-request
      // timeout (a per-image error), not in a heartbeat timeout that fails every image.
      const beat = setInterval(() => heartbeat(), 5_000);
      try {
        await checkAll();
      } finally {
        clearInterval(beat);
      }
      return result;

      async function checkAll() {
        await Promise.all(
          requests.map(async (req) => {
            try {
              const change = await checkImage(deps, req);
              if (change) result.changes.push(change);
              const baseName = change ? change.baseName : req.baseName;
              if (baseName && !baseChecks.has(baseName)) baseChecks.set(baseName, req.knownBaseDigest);
            } catch (err) {
              const error = err instanceof Error ? err.message : String(err);
              result.failures.push({ name: req.image.name, error });
              deps.onCheckFailure?.(req.image.registry, req.image.name, error);
            }
            heartbeat();
          }),
        );
        await Promise.all(
          [...baseChecks].map(async ([name, known]) => {
            const latest = await resolveBase(deps, name, known).catch(() => undefined);
            if (latest && latest !== known) result.bases.push({ name, latestDigest: latest });
          }),
        );
      }
    },
  };
}

function clientFor(deps: WatchActivityDeps, image: WatchedImage): RegistryClient {
  const client = deps.registries.get(image.registry);
  if (!client)
    throw new Error(`image ${image.name}: no registry named "${image.registry}" in the worker's config`);
  return client;
}

async function checkImage(deps: WatchActivityDeps, req: ImageCheckRequest): Promise<ImageChange | undefined> {
  const { image } = req;
  const client = clientFor(deps, image);
  let tag: string;
  if ('tag' in image.track) {
    tag = image.track.tag;
  } else {
    const { tags } = await client.listTags(image.repository);
    const choice = chooseTag(image.track, tags);
    if (choice.tag === undefined) throw new Error(`image ${image.name}: ${choice.reason}`);
    tag = choice.tag;
  }
  const known = req.knownTag === tag ? req.knownDigest : undefined;
  const resolved = await client.resolveDigest(image.repository, tag, known ? { ifNoneMatch: known } : {});
  if (resolved.digest === req.knownDigest && tag === req.knownTag) return undefined;
  const meta = await client.imageMetadata(image.repository, resolved.digest, parsePlatform(image.platform));
  return {
    name: image.name,
    tag,
    digest: resolved.digest,
    ...(meta.created ? { created: meta.created } : {}),
    ...(meta.baseName ? { baseName: meta.baseName } : {}),
    ...(meta.baseDigest ? { baseDigest: meta.baseDigest } : {}),
    ...(meta.platforms?.length ? { platforms: meta.platforms } : {}),
  };
}

/** The digest a base image's tag resolves to now, when its registry is one Freshet knows. */
async function resolveBase(deps: WatchActivityDeps, baseName: string, known: string | undefined) {
  const ref = parseImageReference(baseName);
  if (!ref?.tag) return undefined;
  const registry = deps.registryForHost(ref.host);
  const client = registry ? deps.registries.get(registry) : undefined;
  if (!client) return undefined;
  const resolved = await client.resolveDigest(ref.repository, ref.tag, known ? { ifNoneMatch: known } : {});
  return resolved.digest;
}
