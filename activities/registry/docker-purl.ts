// BuildKit's provenance names every image a build used as a package URL of type docker
// (purl-spec): `pkg:docker/[namespace/]name[@version][?qualifiers]`, each part percent-encoded.
// BuildKit writes Docker's familiar names (`alpine`, not `docker.io/library/alpine`), so the
// reference rebuilt here follows Docker's own normalisation.
import { isValidDigest, isValidRepository, isValidTag } from './references.ts';

export interface DockerPurl {
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** The `platform` qualifier, decoded: `linux/amd64`. */
  platform?: string;
  /** `docker.io/library/alpine:3.20`, `127.0.0.1:5000/acme/base@sha256:…`. */
  reference: string;
}

const dockerHubAliases = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Docker's rule: the first component of a name is a registry host only if it looks like one. */
const looksLikeHost = (component: string) =>
  component.includes('.') || component.includes(':') || component === 'localhost';

/**
 * Where a familiar or full image name lives: `alpine` → docker.io/library/alpine,
 * `127.0.0.1:5000/acme/base` → that host. Undefined for a name that is no repository.
 */
export function dockerRepository(name: string): { host: string; repository: string } | undefined {
  const parts = name.split('/');
  let host = 'docker.io';
  if (parts.length > 1 && looksLikeHost(parts[0] ?? '')) host = parts.shift() ?? host;
  return normalise(host, parts.join('/'));
}

function normalise(host: string, path: string): { host: string; repository: string } | undefined {
  const hub = dockerHubAliases.has(host.toLowerCase());
  const repository = hub && !path.includes('/') ? `library/${path}` : path;
  if (!isValidRepository(repository)) return undefined;
  return { host: hub ? 'docker.io' : host.toLowerCase(), repository };
}

/** The image reference a `pkg:docker/…` URL names, or undefined for anything else. */
export function parseDockerPurl(uri: string): DockerPurl | undefined {
  const match = /^pkg:docker\/([^?#]+)(?:\?([^#]*))?(?:#.*)?$/i.exec(uri.trim());
  if (!match?.[1]) return undefined;
  const segments = match[1].split('/').filter((s) => s !== '');
  const last = segments.pop();
  if (last === undefined) return undefined;
  const at = last.lastIndexOf('@');
  const rawName = at === -1 ? last : last.slice(0, at);
  const rawVersion = at === -1 ? undefined : last.slice(at + 1);

  const decoded = [...segments, rawName].map(decode);
  const version = rawVersion === undefined ? undefined : decode(rawVersion);
  if (decoded.some((s) => s === undefined || s === '' || s.includes('/')) || version === '') return undefined;
  const qualifiers = new URLSearchParams(match[2] ?? '');
  const names = decoded as string[];

  // repository_url (purl-spec) names the registry outright; otherwise Docker's rule decides.
  const repositoryUrl = qualifiers.get('repository_url');
  const location = repositoryUrl
    ? normalise(repositoryUrl.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, ''), names.join('/'))
    : dockerRepository(names.join('/'));
  if (!location) return undefined;

  let tag: string | undefined;
  let digest = qualifiers.get('digest') ?? undefined;
  if (version !== undefined) {
    if (isValidDigest(version)) digest = version;
    else if (isValidTag(version)) tag = version;
    else return undefined;
  }
  if (digest !== undefined && !isValidDigest(digest)) return undefined;
  const platform = qualifiers.get('platform') ?? undefined;
  const reference = `${location.host}/${location.repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return {
    ...location,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
    ...(platform ? { platform } : {}),
    reference,
  };
}

function decode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
