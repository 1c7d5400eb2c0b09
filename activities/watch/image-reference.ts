// Image references as they appear in base-image annotations and Deployment specs:
// [host[:port]/]repository[:tag][@digest]. Docker Hub names get their implicit parts.

import { isValidRepository } from '../registry/references.ts';

export interface ImageReference {
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseImageReference(text: string): ImageReference | undefined {
  const match =
    /^(?:(?<host>[^/]+)\/)?(?<path>[a-z0-9._/-]+?)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/.exec(
      text.trim(),
    );
  if (!match?.groups) return undefined;
  let host = match.groups.host;
  let repository = match.groups.path ?? '';
  // The first component is a host only if it looks like one; otherwise it is part of the path.
  if (host && !/[.:]/.test(host) && host !== 'localhost') {
    repository = `${host}/${repository}`;
    host = undefined;
  }
  if (!isValidRepository(repository)) return undefined;
  host ??= 'docker.io';
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = 'docker.io';
  if (host === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  const tag = match.groups.tag ?? (match.groups.digest ? undefined : 'latest');
  return {
    host,
    repository,
    ...(tag ? { tag } : {}),
    ...(match.groups.digest ? { digest: match.groups.digest } : {}),
  };
}

/** The digest a container image reference pins, if it pins one. */
export function pinnedDigest(image: string): string | undefined {
  return /@(sha256:[a-f0-9]{64})$/.exec(image)?.[1];
}
