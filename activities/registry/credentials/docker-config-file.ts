// The `~/.docker/config.json` format, which is also what a mounted `kubernetes.io/dockerconfigjson`
// Secret holds, and which credentials it gives a registry. Pure: the caller reads the file.
import { z } from 'zod';
import { helperName } from '../../../config/docker-credentials-schema.ts';
import type { StaticAuth } from '../auth.ts';
import { entryFor, type RegistryName } from './hosts.ts';

/** A file Freshet cannot use. The message names the key, never a value; the caller names the file. */
export class DockerConfigError extends Error {
  override name = 'DockerConfigError';
}

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

const authEntry = z
  .looseObject({
    auth: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    identitytoken: z.string().optional(),
    registrytoken: z.string().optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.auth && (!base64.test(entry.auth) || !decodeAuth(entry.auth))) {
      ctx.addIssue({ code: 'custom', path: ['auth'], message: 'expected base64 of user:password' });
    }
    if (!entry.auth && entry.username && entry.password === undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'a username needs a password' });
    }
  });

const dockerConfigSchema = z.looseObject({
  auths: z.record(z.string(), authEntry).optional(),
  credHelpers: z.record(z.string(), helperName).optional(),
  // `docker logout` may leave an empty string behind: no store.
  credsStore: z.union([z.literal(''), helperName]).optional(),
});

export type DockerConfig = z.infer<typeof dockerConfigSchema>;

/** Docker's decoding: user:password, the user not empty; trailing NULs some tools write are dropped. */
function decodeAuth(auth: string): { username: string; password: string } | undefined {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/\0+$/, '') };
}

/** `auths["registry.example:5000"].auth` from zod's path: the second key is a host, quoted. */
function formatKey(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) =>
      i === 0 ? String(key) : i === 1 ? `[${JSON.stringify(String(key))}]` : `.${String(key)}`,
    )
    .join('');
}

/** Parses the file's text. Throws DockerConfigError naming every wrong key. */
export function parseDockerConfig(text: string): DockerConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse quotes the text around the mistake, and that text may be a password.
    throw new DockerConfigError('not valid JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new DockerConfigError('expected a JSON object such as {"auths": {…}}');
  }
  if (looksLikeLegacyDockercfg(json as Record<string, unknown>)) {
    throw new DockerConfigError(
      'this is the old .dockercfg format (hosts at the top level); wrap the entries in "auths", as .dockerconfigjson does',
    );
  }
  const parsed = dockerConfigSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${formatKey(i.path)}: ${i.message}`);
    throw new DockerConfigError(problems.join('; '));
  }
  return parsed.data;
}

function looksLikeLegacyDockercfg(json: Record<string, unknown>): boolean {
  if ('auths' in json || 'credHelpers' in json || 'credsStore' in json) return false;
  return Object.values(json).some((v) => v !== null && typeof v === 'object' && 'auth' in v);
}

/** What the file says to use for one registry. */
export type DockerConfigCredentials =
  | { kind: 'static'; auth: StaticAuth; key: string }
  | { kind: 'helper'; helper: string; where: string }
  | { kind: 'none' };

/**
 * Docker's lookup (cli/config/configfile GetCredentialsStore): a helper named for the host in
 * `credHelpers`, else the default helper `credsStore`, and only without either the `auths`
 * entry. A helper's answer replaces what `auths` holds for the host, as in Docker. Within an
 * entry, a registry token wins over an identity token, which wins over user and password.
 */
export function credentialsFor(config: DockerConfig, name: RegistryName): DockerConfigCredentials {
  const helper = entryFor(config.credHelpers, name);
  if (helper)
    return { kind: 'helper', helper: helper.value, where: `credHelpers[${JSON.stringify(helper.key)}]` };
  if (config.credsStore) return { kind: 'helper', helper: config.credsStore, where: 'credsStore' };
  const entry = entryFor(config.auths, name);
  if (!entry) return { kind: 'none' };
  const auth = entryAuth(entry.value);
  return auth ? { kind: 'static', auth, key: entry.key } : { kind: 'none' };
}

function entryAuth(entry: z.infer<typeof authEntry>): StaticAuth | undefined {
  if (entry.registrytoken) return { type: 'token', token: entry.registrytoken };
  if (entry.identitytoken) return { type: 'identityToken', token: entry.identitytoken };
  const decoded = entry.auth ? decodeAuth(entry.auth) : undefined;
  if (decoded) return { type: 'basic', ...decoded };
  if (entry.username && entry.password !== undefined) {
    return { type: 'basic', username: entry.username, password: entry.password };
  }
  // `{}`, as `docker login` with a credential store leaves it: no credentials here.
  return undefined;
}
