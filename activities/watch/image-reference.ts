// Image references as they appear in base-image annotations and Deployment specs:
// [host[:port]/]repository[:tag][@digest]. Docker Hub names get their implicit parts, here and
// only here, so `nginx:1.27` in a Deployment, `repository: nginx` on a Docker Hub registry and
// `docker.io/library/nginx` all name one image wherever Freshet compares them.

import { isValidRepository } from '../registry/references.ts';

export interface ImageReference {
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** The name Docker gives Docker Hub in image references. */
export const dockerHubHost = 'docker.io';
/** Where Docker Hub's registry API answers (docker.io itself serves the website). */
export const dockerHubApiHost = 'registry-1.docker.io';
const dockerHubAliases = new Set([
  dockerHubHost,
  'index.docker.io',
  dockerHubApiHost,
  'registry.hub.docker.com',
]);

/** `docker.io`, `index.docker.io`, `registry-1.docker.io` and `registry.hub.docker.com` (any case, default port) are Docker Hub. */
export function isDockerHubHost(host: string): boolean {
  return dockerHubAliases.has(host.toLowerCase().replace(/:443$/, ''));
}

/** The host as image references spell it: Docker Hub's aliases become `docker.io`. */
export function canonicalHost(host: string): string {
  return isDockerHubHost(host) ? dockerHubHost : host.toLowerCase();
}

/** Docker Hub's official images live under `library/`: `nginx` there is `library/nginx`. */
export function canonicalRepository(host: string, repository: string): string {
  return isDockerHubHost(host) && !repository.includes('/') ? `library/${repository}` : repository;
}

/** `host/repository` with every implicit part filled in: equal images give equal names. */
export function canonicalImageName(host: string, repository: string): string {
  return `${canonicalHost(host)}/${canonicalRepository(host, repository)}`;
}

/** The canonical `host/repository` of a reference, or undefined when it does not parse. */
export function imageNameOf(reference: string): string | undefined {
  const ref = parseImageReference(reference);
  return ref ? `${ref.host}/${ref.repository}` : undefined;
}

/** True when `reference` (as a Deployment writes it) names `repository` on the registry at `host`. */
export function referencesImage(reference: string, host: string, repository: string): boolean {
  return imageNameOf(reference) === canonicalImageName(host, repository);
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
  host ??= dockerHubHost;
  const tag = match.groups.tag ?? (match.groups.digest ? undefined : 'latest');
  return {
    host: canonicalHost(host),
    repository: canonicalRepository(host, repository),
    ...(tag ? { tag } : {}),
    ...(match.groups.digest ? { digest: match.groups.digest } : {}),
  };
}

/** The digest a container image reference pins, if it pins one. */
export function pinnedDigest(image: string): string | undefined {
  return /@(sha256:[a-f0-9]{64})$/.exec(image)?.[1];
}
