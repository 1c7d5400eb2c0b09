// Tag lists as registries really send them: paginated by Link headers or not at all, unsorted,
// with duplicates, and full of cosign signature and attestation tags (notes/registry.md §1.3).

/** `sha256-<64 hex>` with an optional `.sig`/`.att`/`.sbom`: cosign's tags for artifacts of a digest. */
const artifactTag = /^sha256-[a-f0-9]{64}(?:\.(?:sig|att|sbom))?$/;

export function isArtifactTag(tag: string): boolean {
  return artifactTag.test(tag);
}

/** Unique image tags, artifact tags removed, sorted by code point so results are stable. */
export function normaliseTags(tags: Iterable<string>): string[] {
  const unique = new Set<string>();
  for (const tag of tags) if (!isArtifactTag(tag)) unique.add(tag);
  return [...unique].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The `rel="next"` target of a Link header (RFC 8288), resolved against the page that sent it.
 * Undefined when there is no next page or the link is unusable.
 */
export function nextPageUrl(link: string | null, pageUrl: URL): URL | undefined {
  if (!link) return undefined;
  for (const match of link.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const [, target, params = ''] = match;
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (target === undefined || !relations.includes('next')) continue;
    try {
      return new URL(target, pageUrl);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
