// How Docker names a registry in its config files and to credential helpers, and which keys of
// a config file mean the same registry. Docker writes keys in several spellings over the years
// (`https://index.docker.io/v1/`, `index.docker.io`, `http://host:5000/v2/`), and a Kubernetes
// pull Secret holds whatever the tool that made it wrote.

/** Docker Hub's credentials live under this key, and helpers are asked for it. */
export const dockerHubServerAddress = 'https://index.docker.io/v1/';

const dockerHubHosts = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

/** A registry as Docker names it. */
export interface RegistryName {
  /** host[:port], lower-cased; every name of Docker Hub is `docker.io`. */
  host: string;
  /** What Docker looks up first and passes to a helper on stdin: Docker Hub's key, or host[:port]. */
  serverAddress: string;
}

/** The host[:port] a config key names: scheme and path dropped, Docker Hub's names made one. */
export function hostOfKey(key: string): string {
  const withoutScheme = key.trim().replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  const host = (withoutScheme.split('/')[0] ?? '').toLowerCase();
  return dockerHubHosts.has(host) ? 'docker.io' : host;
}

export function registryNameOf(url: URL): RegistryName {
  const host = hostOfKey(url.host);
  return { host, serverAddress: host === 'docker.io' ? dockerHubServerAddress : url.host };
}

/**
 * The entry of a config section (`auths`, `credHelpers`) for a registry: the key Docker itself
 * looks up, else the first key, in file order, that names the same host.
 */
export function entryFor<T>(
  section: Readonly<Record<string, T>> | undefined,
  name: RegistryName,
): { key: string; value: T } | undefined {
  if (!section) return undefined;
  if (Object.hasOwn(section, name.serverAddress)) {
    return { key: name.serverAddress, value: section[name.serverAddress] as T };
  }
  for (const [key, value] of Object.entries(section)) if (hostOfKey(key) === name.host) return { key, value };
  return undefined;
}
