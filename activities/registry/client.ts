// The OCI distribution client Freshet watches registries with. An idle check is one HEAD and no
// GET (invariant 7); everything fetched by digest is verified against that digest.
import { createHash } from 'node:crypto';
import type { RegistryAuth } from './auth.ts';
import { registryApiBase } from './docker-hub.ts';
import {
  describeImage,
  describePlatforms,
  type ImageDocuments,
  type ImageMetadata,
  parseManifest,
  selectPlatformManifest,
} from './image-metadata.ts';
import {
  type Descriptor,
  decodeJson,
  imageConfigSchema,
  imageIndexSchema,
  type Platform,
  tagListSchema,
} from './manifest-schemas.ts';
import { manifestAccept, mediaTypeOf, ociIndex } from './media-types.ts';
import { type ProvenanceSource, readProvenanceBase } from './provenance.ts';
import type { RateLimitBudget } from './rate-limit.ts';
import { describeReference, isValidDigest, referenceProblem } from './references.ts';
import { isArtifactTag, nextPageUrl, normaliseTags } from './tag-list.ts';
import { type RegistryRequestEvent, RegistryTransport } from './transport.ts';

export interface RegistryClientOptions {
  /** The registry's name in the config; every error and metric carries it. */
  name: string;
  /** `https://registry.example.com`; credentials go in `auth`, never in the URL. */
  url: string;
  auth?: RegistryAuth;
  /** Requests in flight to this registry at once; default 4. */
  maxConcurrency?: number;
  /** Per attempt, body included; default 10,000 ms. */
  timeoutMs?: number;
  /** Retries after a 429, 5xx, timeout or network error; default 3. */
  maxRetries?: number;
  /** First backoff step; default 250 ms, doubling up to 10 s. */
  retryBaseDelayMs?: number;
  /** Longest Retry-After slept through; longer ones fail with `retryAfterMs` set. Default 30 s. */
  maxRetryAfterMs?: number;
  onRequest?: (event: RegistryRequestEvent) => void;
  /** Every answer that announced the registry's request budget (Docker Hub's ratelimit-* headers). */
  onRateLimit?: (registry: string, budget: RateLimitBudget) => void;
  /** Where the credentials come from, e.g. `REG_USER/REG_PASS`; named in 401 errors. */
  credentialsHint?: string;
  /**
   * Token realm hosts (`auth.example.com`, or `host:port` for one port) that may receive the
   * credentials besides the registry's own host (and auth.docker.io for Docker Hub).
   */
  tokenRealms?: readonly string[];
  /** The config key of `tokenRealms`, named when a realm was not sent the credentials. */
  tokenRealmsKey?: string;
}

export interface ResolvedDigest {
  digest: string;
  /** Manifest media type from Content-Type; a 304 answer may leave it out. */
  mediaType: string | undefined;
  /** The tag still points at the digest passed as `ifNoneMatch`. */
  notModified: boolean;
}

export interface TagList {
  /** Unique, sorted, without cosign signature/attestation/SBOM tags. */
  tags: string[];
  /** More tags exist than `limit`; the list holds the first `limit` after sorting. */
  truncated: boolean;
}

export const defaultPlatform: Platform = { os: 'linux', architecture: 'amd64' };
const tagPageSize = 1000;
const maxTagPages = 100;

export class RegistryClient {
  readonly name: string;
  readonly #base: URL;
  readonly #transport: RegistryTransport;

  constructor(opts: RegistryClientOptions) {
    this.name = opts.name;
    let base: URL;
    try {
      base = new URL(opts.url);
    } catch {
      throw new TypeError(`registry ${opts.name}: url ${JSON.stringify(opts.url)} is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`registry ${opts.name}: url must start with https:// or http://`);
    }
    if (base.username || base.password) {
      throw new TypeError(`registry ${opts.name}: url must not hold credentials; configure auth instead`);
    }
    // `https://docker.io` is how people name Docker Hub; its API answers elsewhere.
    this.#base = registryApiBase(base);
    this.#transport = new RegistryTransport({
      name: opts.name,
      url: this.#base,
      auth: opts.auth ?? { type: 'anonymous' },
      maxConcurrency: opts.maxConcurrency ?? 4,
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxRetries: opts.maxRetries ?? 3,
      retryBaseDelayMs: opts.retryBaseDelayMs ?? 250,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 30_000,
      ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
      ...(opts.onRateLimit ? { onRateLimit: opts.onRateLimit } : {}),
      ...(opts.credentialsHint ? { credentialsHint: opts.credentialsHint } : {}),
      ...(opts.tokenRealms ? { tokenRealms: opts.tokenRealms } : {}),
      ...(opts.tokenRealmsKey ? { tokenRealmsKey: opts.tokenRealmsKey } : {}),
    });
  }

  /** The request budget the registry announced last (Docker Hub's ratelimit-* headers), if any. */
  get rateLimit(): RateLimitBudget | undefined {
    return this.#transport.rateLimit;
  }

  /**
   * The digest a tag points at, by one HEAD. With `ifNoneMatch` (the digest known so far) an
   * unchanged tag costs a 304 and no body; registries that ignore If-None-Match still report
   * `notModified` when the digest is the same. Only a registry that omits Docker-Content-Digest
   * costs a GET, whose body is hashed.
   */
  async resolveDigest(
    repository: string,
    reference: string,
    opts: { ifNoneMatch?: string } = {},
  ): Promise<ResolvedDigest> {
    const target = describeReference(repository, reference);
    this.#validate('HEAD', target, repository, reference);
    const known = opts.ifNoneMatch;
    if (known !== undefined && !isValidDigest(known)) {
      throw this.#transport.error(
        { method: 'HEAD', target },
        `ifNoneMatch ${JSON.stringify(known)} is not a digest`,
      );
    }
    const res = await this.#transport.request({
      method: 'HEAD',
      url: this.#url(`${repository}/manifests/${reference}`),
      endpoint: 'manifest',
      target,
      repository,
      headers: { accept: manifestAccept, ...(known ? { 'if-none-match': `"${known}"` } : {}) },
      acceptStatus: known ? [304] : [],
    });
    const mediaType = mediaTypeOf(res.headers.get('content-type'));
    if (res.status === 304 && known) return { digest: known, mediaType, notModified: true };
    const echoed = res.headers.get('docker-content-digest');
    if (echoed && isValidDigest(echoed)) return { digest: echoed, mediaType, notModified: echoed === known };
    const fetched = await this.#getManifest(repository, reference);
    return { digest: fetched.digest, mediaType: fetched.mediaType, notModified: fetched.digest === known };
  }

  /** Every image tag of a repository, following `Link: <…>; rel="next"` pages up to `limit` tags. */
  async listTags(repository: string, opts: { limit?: number } = {}): Promise<TagList> {
    const limit = opts.limit ?? 10_000;
    const target = `${repository} tags`;
    this.#validate('GET', target, repository);
    const kept = new Set<string>();
    const visited = new Set<string>();
    let url: URL | undefined = this.#url(`${repository}/tags/list`);
    url.searchParams.set('n', String(tagPageSize));
    let truncated = false;
    for (let page = 0; url; page++) {
      if (page === maxTagPages || kept.size > limit) {
        truncated = true;
        break;
      }
      visited.add(url.href);
      const req = { method: 'GET', url, endpoint: 'tags', target, repository } as const;
      const res = await this.#transport.request(req);
      const decoded = decodeJson(tagListSchema, res.body);
      if (!decoded.ok) throw this.#transport.error(req, decoded.problem, { status: res.status });
      for (const tag of decoded.value.tags) if (!isArtifactTag(tag)) kept.add(tag);
      const next = nextPageUrl(res.headers.get('link'), url);
      if (next && next.origin !== this.#base.origin) {
        throw this.#transport.error(req, `pagination link leaves the registry (${next.origin})`);
      }
      // A registry that links a page to one already read would otherwise loop forever.
      url = next && !visited.has(next.href) ? next : undefined;
    }
    const tags = normaliseTags(kept);
    if (tags.length > limit) truncated = true;
    return { tags: tags.slice(0, limit), truncated };
  }

  /**
   * Build time, base image and labels of the image behind a digest, for one platform of a
   * multi-platform index. Costs two or three GETs, so it runs only for a digest not seen before;
   * two more when the image names its base only in BuildKit's provenance.
   */
  async imageMetadata(
    repository: string,
    digest: string,
    platform: Platform = defaultPlatform,
  ): Promise<ImageMetadata> {
    const { image, index } = await this.#platformManifest(repository, digest, platform);
    const manifest = image.manifest;
    const configTarget = `${repository}@${manifest.config.digest} (config of ${image.digest})`;
    const config = await this.#getVerified(repository, 'blobs', manifest.config.digest, configTarget);
    const decoded = decodeJson(imageConfigSchema, config.body);
    if (!decoded.ok) throw this.#transport.error({ method: 'GET', target: configTarget }, decoded.problem);
    const metadata = describeImage({
      digest,
      platformDigest: image.digest,
      manifest,
      config: decoded.value,
      ...(index ? { index } : {}),
    });
    if (index && metadata.baseFrom === undefined) {
      const provenance = await readProvenanceBase(this.#provenanceSource(repository), {
        index: index.index,
        platformDigest: image.digest,
        layers: metadata.layers,
        platform,
      });
      if (provenance.found) {
        metadata.baseName = provenance.base.name;
        if (provenance.base.digest) metadata.baseDigest = provenance.base.digest;
        metadata.baseFrom = 'provenance';
      } else if (provenance.problem) {
        metadata.baseProblem = provenance.problem;
      }
    }
    return metadata;
  }

  /** The layers of one platform's image behind a digest, bottom first: one or two GETs, no config. */
  async platformLayers(
    repository: string,
    digest: string,
    platform: Platform = defaultPlatform,
  ): Promise<{ platformDigest: string; layers: string[] }> {
    const { image } = await this.#platformManifest(repository, digest, platform);
    return { platformDigest: image.digest, layers: (image.manifest.layers ?? []).map((l) => l.digest) };
  }

  /** The image manifest for a platform: the digest's own, or the index entry for the platform. */
  async #platformManifest(repository: string, digest: string, platform: Platform) {
    const target = describeReference(repository, digest);
    this.#validate('GET', target, repository, digest);
    if (!isValidDigest(digest)) throw this.#transport.error({ method: 'GET', target }, 'not a digest');

    const top = await this.#getManifest(repository, digest);
    let image = top;
    let index: ImageDocuments['index'];
    if (top.parsed.kind === 'index') {
      const entry = selectPlatformManifest(top.parsed.index, platform);
      if (!entry) {
        const wanted = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
        const offered = describePlatforms(top.parsed.index);
        throw this.#transport.error(
          { method: 'GET', target },
          `no ${wanted} manifest in the index (offers ${offered})`,
        );
      }
      index = { index: top.parsed.index, entry };
      image = await this.#getManifest(repository, entry.digest);
    }
    if (image.parsed.kind !== 'manifest') {
      throw this.#transport.error({ method: 'GET', target }, 'the platform entry is itself an index');
    }
    return { image: { digest: image.digest, manifest: image.parsed.manifest }, index };
  }

  /** Attestation manifests and blobs of one repository, verified, the blobs bounded. */
  #provenanceSource(repository: string): ProvenanceSource {
    return {
      manifest: async (digest) => {
        const fetched = await this.#getManifest(repository, digest);
        if (fetched.parsed.kind !== 'manifest') {
          throw this.#transport.error(
            { method: 'GET', target: describeReference(repository, digest) },
            'the attestation is an index, not a manifest',
          );
        }
        return fetched.parsed.manifest;
      },
      blob: async (digest, maxBytes) => {
        const target = `${repository}@${digest} (provenance)`;
        return (await this.#getVerified(repository, 'blobs', digest, target, maxBytes)).body;
      },
    };
  }

  /**
   * The artifacts (signatures, SBOMs, attestations) whose `subject` is `digest`, by the OCI 1.1
   * referrers API. A registry without that API answers 404; then the index that pushing clients
   * keep under the tag `sha256-<hex>` (the spec's fallback) is read, and no such tag means none.
   * `artifactType` is filtered here as well, since a registry may ignore the query parameter.
   */
  async listReferrers(
    repository: string,
    digest: string,
    opts: { artifactType?: string } = {},
  ): Promise<Descriptor[]> {
    const target = `${describeReference(repository, digest)} referrers`;
    this.#validate('GET', target, repository, digest);
    if (!isValidDigest(digest)) throw this.#transport.error({ method: 'GET', target }, 'not a digest');
    const url = this.#url(`${repository}/referrers/${digest}`);
    if (opts.artifactType) url.searchParams.set('artifactType', opts.artifactType);
    const common = {
      method: 'GET',
      target,
      repository,
      headers: { accept: ociIndex },
      acceptStatus: [404],
    } as const;
    let res = await this.#transport.request({ ...common, url, endpoint: 'referrers' });
    if (res.status === 404) {
      const fallbackTag = digest.replace(':', '-');
      res = await this.#transport.request({
        ...common,
        url: this.#url(`${repository}/manifests/${fallbackTag}`),
        endpoint: 'manifest',
      });
      if (res.status === 404) return [];
    }
    const decoded = decodeJson(imageIndexSchema, res.body);
    if (!decoded.ok) throw this.#transport.error(common, decoded.problem, { status: res.status });
    const wanted = opts.artifactType;
    return decoded.value.manifests.filter((entry) => wanted === undefined || entry.artifactType === wanted);
  }

  /** A manifest by tag (digest computed from the body) or by digest (body checked against it). */
  async #getManifest(repository: string, reference: string) {
    const target = describeReference(repository, reference);
    const fetched = isValidDigest(reference)
      ? await this.#getVerified(repository, 'manifests', reference, target)
      : await this.#get(repository, `manifests/${reference}`, target);
    const digest = isValidDigest(reference) ? reference : digestOf(fetched.body, 'sha256');
    const mediaType = mediaTypeOf(fetched.headers.get('content-type'));
    const parsed = parseManifest(fetched.body, mediaType);
    if (!parsed.ok) throw this.#transport.error({ method: 'GET', target }, parsed.problem);
    const declared =
      parsed.value.kind === 'index' ? parsed.value.index.mediaType : parsed.value.manifest.mediaType;
    return { digest, mediaType: declared ?? mediaType, parsed: parsed.value };
  }

  /** GET by digest; a body that does not hash to the digest is refused, whatever the registry says. */
  async #getVerified(
    repository: string,
    kind: 'manifests' | 'blobs',
    digest: string,
    target: string,
    maxBytes?: number,
  ) {
    if (!isValidDigest(digest)) {
      throw this.#transport.error(
        { method: 'GET', target },
        `malformed answer: ${JSON.stringify(digest)} is not a digest`,
      );
    }
    const res = await this.#get(repository, `${kind}/${digest}`, target, maxBytes);
    const actual = digestOf(res.body, digest.startsWith('sha512:') ? 'sha512' : 'sha256');
    if (actual !== digest) {
      throw this.#transport.error(
        { method: 'GET', target },
        `content does not match the digest (got ${actual})`,
      );
    }
    return res;
  }

  #get(repository: string, path: string, target: string, maxBytes?: number) {
    return this.#transport.request({
      method: 'GET',
      url: this.#url(`${repository}/${path}`),
      endpoint: path.startsWith('blobs/') ? 'blob' : 'manifest',
      target,
      repository,
      headers: { accept: manifestAccept },
      ...(maxBytes !== undefined ? { maxBytes } : {}),
    });
  }

  #url(path: string): URL {
    return new URL(`/v2/${path}`, this.#base);
  }

  #validate(method: 'GET' | 'HEAD', target: string, repository: string, reference?: string) {
    const problem = referenceProblem(repository, reference);
    if (problem) throw this.#transport.error({ method, target }, problem);
  }
}

function digestOf(body: Uint8Array, algorithm: 'sha256' | 'sha512'): string {
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
}
