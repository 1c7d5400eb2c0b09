// A check's credentials, resolved from the daemon's config when the check runs: headers, Basic
// auth or a bearer token, each read from an environment variable or a file. They exist only in
// this activity's memory; the workflow never sees them, so no history can hold them.
import type { CheckConfig } from '../../config/schema.ts';
import { resolveSecret } from '../../config/secrets.ts';

type ConfiguredCheck = NonNullable<CheckConfig['http']> | NonNullable<CheckConfig['prometheus']>;
export type CheckAuthConfig = Pick<ConfiguredCheck, 'headers' | 'basicAuth' | 'bearer'>;

export interface CheckCredentials {
  headers: Record<string, string>;
  /** Every secret value (and encoding of one) to scrub from details and error messages. */
  secrets: string[];
}

export const noCredentials: CheckCredentials = { headers: {}, secrets: [] };

/** Throws a SecretError naming the reference (never the value) when one does not resolve. */
export function resolveCheckCredentials(
  auth: CheckAuthConfig,
  what: string,
  env: NodeJS.ProcessEnv = process.env,
): CheckCredentials {
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [name, ref] of Object.entries(auth.headers ?? {})) {
    const value = resolveSecret({ env: ref.valueEnv, file: ref.valueFile }, `${what}: header ${name}`, env);
    headers[name.toLowerCase()] = value;
    secrets.push(value);
  }
  if (auth.basicAuth) {
    const b = auth.basicAuth;
    const username =
      b.username ??
      resolveSecret({ env: b.usernameEnv, file: b.usernameFile }, `${what}: basicAuth username`, env);
    const password = resolveSecret(
      { env: b.passwordEnv, file: b.passwordFile },
      `${what}: basicAuth password`,
      env,
    );
    const encoded = Buffer.from(`${username}:${password}`).toString('base64');
    headers.authorization = `Basic ${encoded}`;
    secrets.push(password, encoded);
  }
  if (auth.bearer) {
    const token = resolveSecret(
      { env: auth.bearer.tokenEnv, file: auth.bearer.tokenFile },
      `${what}: bearer token`,
      env,
    );
    headers.authorization = `Bearer ${token}`;
    secrets.push(token);
  }
  return { headers, secrets };
}
