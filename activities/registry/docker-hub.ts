// Docker Hub as users name it: `https://docker.io` and `https://index.docker.io` are the names
// people configure, while the registry API answers at registry-1.docker.io and hands out tokens
// from auth.docker.io.
import { dockerHubApiHost, isDockerHubHost } from '../watch/image-reference.ts';

/** Docker Hub's registry challenges name this token service. */
export const dockerHubTokenHost = 'auth.docker.io';

/** The URL the registry API answers at: Docker Hub's names all lead to registry-1.docker.io. */
export function registryApiBase(url: URL): URL {
  return isDockerHubHost(url.host) ? new URL(`https://${dockerHubApiHost}/`) : url;
}
