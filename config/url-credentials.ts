// A URL in the config is copied into workflow inputs (check URLs travel with every rollout), so
// it must not carry credentials. This says what in a URL looks like one, without quoting it.

/** Query parameters that hold secrets in the wild: tokens, API keys, passwords, signatures. */
const secretNames = new Set([
  'key',
  'sig',
  'signature',
  'auth',
  'authorization',
  'password',
  'passwd',
  'pwd',
  'pass',
  'secret',
  'credential',
  'credentials',
]);
const secretParts = /token|secret|passw|apikey|signature|credential/;
const secretKey = /(?:api|access|private|secret|subscription|shared|signing|auth|client|master|session)key$/;

/** Whether a query parameter name looks like it carries a secret (`token`, `api_key`, `X-Amz-Signature`…). */
export function isSecretParameter(name: string): boolean {
  const normalized = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return secretNames.has(normalized) || secretParts.test(normalized) || secretKey.test(normalized);
}

export type UrlCredentials = { kind: 'userinfo' } | { kind: 'query'; parameter: string } | undefined;

/** The first credential a URL carries, or undefined; a URL that does not parse carries none. */
export function credentialsIn(url: string): UrlCredentials {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.username !== '' || parsed.password !== '') return { kind: 'userinfo' };
  for (const name of parsed.searchParams.keys()) {
    if (isSecretParameter(name)) return { kind: 'query', parameter: name };
  }
  return undefined;
}
