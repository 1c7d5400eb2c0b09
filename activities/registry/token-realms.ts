// Which token realms may receive a registry's credentials. A Bearer challenge names its realm,
// and whoever answers for the registry (a proxy, a compromised mirror, a typo in its config)
// could name any host: sending the password there would hand it over. So the password goes to
// the registry's own host, to the token service of a public registry that keeps it elsewhere
// (Docker Hub's auth.docker.io, GitLab.com's gitlab.com), and to hosts the config names; every
// other realm is asked without credentials.
import { isDockerHubHost } from '../watch/image-reference.ts';
import { dockerHubTokenHost } from './docker-hub.ts';

/** Public registries whose token service is on another host, which their challenges name. */
const tokenServiceOf: Record<string, string> = { 'registry.gitlab.com': 'gitlab.com' };

/**
 * True when `realm` may receive the credentials configured for the registry at `registry`.
 * `allowed` entries are host names (any port) or `host:port` (that port only).
 */
export function realmReceivesCredentials(realm: URL, registry: URL, allowed: readonly string[]): boolean {
  const host = realm.hostname.toLowerCase();
  if (host === registry.hostname.toLowerCase()) return true;
  if (isDockerHubHost(registry.host) && host === dockerHubTokenHost) return true;
  if (tokenServiceOf[registry.hostname.toLowerCase()] === host) return true;
  const hostPort = `${host}:${realm.port || (realm.protocol === 'https:' ? '443' : '80')}`;
  return allowed.some((entry) => {
    const wanted = entry.toLowerCase();
    const hasPort = wanted.startsWith('[') ? /\]:\d+$/.test(wanted) : wanted.includes(':');
    return hasPort ? wanted === hostPort : wanted === host;
  });
}

/** Why a refusal may be for lack of the credentials withheld from a realm, and how to allow it. */
export function withheldHint(realm: URL, registryName: string, configKey?: string): string {
  const key = configKey ?? `tokenRealms of registry ${registryName}`;
  return (
    `credentials were withheld from the token realm ${realm.host}, which is not the registry's host; ` +
    `if it is the registry's own token service, add "${realm.hostname}" to ${key}`
  );
}

/** Why a refusal may follow a token endpoint's redirect, which never carries the credentials along. */
export function redirectedHint(from: URL, to: URL): string {
  return (
    `the token endpoint ${from.host} redirected to ${to.host}, and credentials never follow a redirect ` +
    `to another origin; configure the registry so its challenge names ${to.host} itself`
  );
}
