// Registry clients for the worker, built from the config with secrets resolved here and only here.
import type { RegistryAuth } from '../activities/registry/auth.ts';
import { RegistryClient } from '../activities/registry/client.ts';
import { DockerConfigSource } from '../activities/registry/credentials/docker-config.ts';
import { ecrCredentialSource } from '../activities/registry/credentials/ecr.ts';
import { HelperCredentialSource } from '../activities/registry/credentials/helper.ts';
import { registryNameOf } from '../activities/registry/credentials/hosts.ts';
import { ecrRegistryId } from '../config/ecr-auth.ts';
import type { Config, RegistryConfig } from '../config/schema.ts';
import { resolveSecret } from '../config/secrets.ts';
import type { Metrics } from './metrics.ts';

function authOf(r: RegistryConfig, i: number): RegistryAuth {
  const at = `registries[${i}] (${r.name}).auth`;
  const a = r.auth;
  if (a.type === 'basic') {
    const username =
      a.username ?? resolveSecret({ env: a.usernameEnv, file: a.usernameFile }, `${at}.username`);
    const password = resolveSecret({ env: a.passwordEnv, file: a.passwordFile }, `${at}.password`);
    return { type: 'basic', username, password };
  }
  if (a.type === 'token')
    return { type: 'token', token: resolveSecret({ env: a.tokenEnv, file: a.tokenFile }, `${at}.token`) };
  if (a.type === 'dockerConfig') {
    const source = new DockerConfigSource({
      file: a.file,
      registryUrl: new URL(r.url),
      helperTimeoutMs: a.helperTimeout,
    });
    return { type: 'source', source };
  }
  if (a.type === 'helper') {
    const source = new HelperCredentialSource({
      ...(a.command ? { command: a.command } : { helper: a.helper }),
      serverAddress: registryNameOf(new URL(r.url)).serverAddress,
      timeoutMs: a.timeout,
      notFound: 'error',
    });
    return { type: 'source', source };
  }
  if (a.type === 'ecr') {
    const source = ecrCredentialSource({
      region: a.region,
      registryId: ecrRegistryId(a, r.url),
      endpoint: a.endpoint,
      timeoutMs: r.timeout,
    });
    return { type: 'source', source };
  }
  return { type: 'anonymous' };
}

/** Names the variables or files credentials come from, for error messages. */
function credentialsHint(r: RegistryConfig): string | undefined {
  if (r.auth.type === 'ecr') return "the AWS identity's pull access to this ECR registry";
  const { host, serverAddress } = registryNameOf(new URL(r.url));
  if (r.auth.type === 'dockerConfig') return `the entry for ${host} in ${r.auth.file}`;
  if (r.auth.type === 'helper') {
    return `what ${r.auth.command ?? `docker-credential-${r.auth.helper}`} answers for ${serverAddress}`;
  }
  const a = r.auth as Record<string, unknown>;
  const refs = ['usernameEnv', 'usernameFile', 'passwordEnv', 'passwordFile', 'tokenEnv', 'tokenFile']
    .map((k) => a[k])
    .filter((v): v is string => typeof v === 'string');
  return refs.length > 0 ? `${r.name}'s credentials: ${refs.join(', ')}` : undefined;
}

export function buildRegistryClients(config: Config, metrics?: Metrics): Map<string, RegistryClient> {
  const clients = new Map<string, RegistryClient>();
  config.registries.forEach((r, i) => {
    clients.set(
      r.name,
      new RegistryClient({
        name: r.name,
        url: r.url,
        auth: authOf(r, i),
        maxConcurrency: r.maxConcurrency,
        timeoutMs: r.timeout,
        ...(credentialsHint(r) ? { credentialsHint: credentialsHint(r) } : {}),
        ...(metrics
          ? {
              onRequest: (e) => {
                metrics.registryRequests.inc({ registry: e.registry, method: e.method, code: e.code });
                metrics.registryDuration.observe(
                  { registry: e.registry, method: e.method },
                  e.durationSeconds,
                );
              },
            }
          : {}),
      }),
    );
  });
  return clients;
}

/** Maps the host of an image reference (as in a base-image annotation) to a configured registry. */
export function registryHostIndex(config: Config): (host: string) => string | undefined {
  const byHost = new Map<string, string>();
  for (const r of config.registries) {
    const host = new URL(r.url).host;
    byHost.set(host, r.name);
    if (host === 'registry-1.docker.io' || host === 'index.docker.io') byHost.set('docker.io', r.name);
  }
  return (host) => byHost.get(host);
}
