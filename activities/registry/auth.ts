// Registry authentication: the configured credentials, the WWW-Authenticate challenge parser
// and the cache of Bearer tokens. The token exchange itself runs through the transport so it
// gets the same timeouts, retries and error messages as every other request.

/** Credentials as they are at one moment. */
export type StaticAuth =
  | { type: 'anonymous' }
  | { type: 'basic'; username: string; password: string }
  /** A ready Bearer token, sent as is; the registry's verdict on it is final. */
  | { type: 'token'; token: string }
  /**
   * An OAuth2 refresh token (Docker's `identitytoken`), exchanged at the token realm for access
   * tokens with `grant_type=refresh_token`, as `docker login` with a browser flow leaves one.
   */
  | { type: 'identityToken'; token: string };

/**
 * Credentials that change while Freshet runs: a credential helper's answer, ECR's 12-hour
 * token. The source caches them itself; the transport asks before every request and tells it
 * when the registry refused what it got, so the next request fetches anew.
 */
export interface CredentialSource {
  /** Where the credentials come from, named in errors (`docker-credential-ecr-login`); never a secret. */
  readonly describe: string;
  /** The credentials to use now. Throws an Error whose message holds no secret. */
  get(): Promise<StaticAuth>;
  /** The registry answered 401 to `auth`: forget it, unless it has been replaced already. */
  invalidate(auth: StaticAuth): void;
}

export type RegistryAuth = StaticAuth | { type: 'source'; source: CredentialSource };

export interface Challenge {
  /** Lower-cased auth scheme: `bearer`, `basic`, … */
  scheme: string;
  /** Parameters with lower-cased names; quoted values unquoted. */
  params: Record<string, string>;
  /** The token68 form some schemes use instead of parameters. */
  token68?: string;
}

const tokenChar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const token68Pattern = /^[A-Za-z0-9\-._~+/]+=*(?=\s*(?:,|$))/;

/**
 * Parses a WWW-Authenticate header (RFC 7235) into its challenges. Values may be quoted and
 * hold commas and escaped quotes (`scope="repository:a/b:pull,push"`), and one header may hold
 * several challenges (`Bearer realm="…", Basic realm="…"`). Garbage yields fewer challenges,
 * never an exception: the header comes from the network.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i] as string)) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < header.length && tokenChar.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  const readQuoted = (): string => {
    let value = '';
    i++; // opening quote
    while (i < header.length && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < header.length) i++;
      value += header[i];
      i++;
    }
    i++; // closing quote (or end of a truncated header)
    return value;
  };

  while (i < header.length) {
    skip(/[\s,]/);
    const scheme = readToken();
    if (!scheme) {
      i++; // a stray character: skip it rather than loop forever
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    skip(/[ \t]/);
    const token68 = token68Pattern.exec(header.slice(i));
    if (token68) {
      challenge.token68 = token68[0];
      i += token68[0].length;
      continue;
    }
    for (;;) {
      const before = i;
      skip(/[\s,]/);
      const name = readToken();
      skip(/[ \t]/);
      if (!name || header[i] !== '=') {
        i = before; // not a parameter: the next challenge's scheme starts here
        break;
      }
      i++;
      skip(/[ \t]/);
      challenge.params[name.toLowerCase()] = header[i] === '"' ? readQuoted() : readToken();
      skip(/[ \t]/);
      if (header[i] !== ',') break;
    }
  }
  return challenges;
}

export interface BearerChallenge {
  realm: string;
  service: string | undefined;
  /** Space-separated scopes, as the challenge gives them; may be empty. */
  scope: string | undefined;
}

/** The Bearer challenge in a WWW-Authenticate header, when there is one with a realm. */
export function bearerChallenge(header: string | null): BearerChallenge | undefined {
  if (!header) return undefined;
  const bearer = parseChallenges(header).find((c) => c.scheme === 'bearer' && c.params.realm);
  if (!bearer?.params.realm) return undefined;
  return { realm: bearer.params.realm, service: bearer.params.service, scope: bearer.params.scope };
}

/** The token endpoint URL for a challenge: one `scope=` per scope, as the token spec asks. */
export function tokenUrl(challenge: BearerChallenge): URL {
  const url = new URL(challenge.realm);
  if (challenge.service) url.searchParams.set('service', challenge.service);
  for (const scope of challenge.scope?.split(' ') ?? []) if (scope) url.searchParams.append('scope', scope);
  return url;
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Every string a message must never contain for these credentials. */
export function secretsOf(auth: StaticAuth): string[] {
  switch (auth.type) {
    case 'anonymous':
      return [];
    case 'basic':
      return [auth.password, basicAuthorization(auth.username, auth.password).slice('Basic '.length)];
    case 'token':
    case 'identityToken':
      return [auth.token];
  }
}

/** Token specs default `expires_in` to 60 s; GHCR omits it. */
export const defaultTokenLifetimeSeconds = 60;

/**
 * Bearer tokens per (realm, service, scope), kept until shortly before they expire so a
 * request never goes out with a token that dies on the way.
 */
export class TokenCache {
  readonly #tokens = new Map<string, { token: string; expiresAt: number }>();

  static key(challenge: BearerChallenge): string {
    return `${challenge.realm}\n${challenge.service ?? ''}\n${challenge.scope ?? ''}`;
  }

  get(challenge: BearerChallenge, now = Date.now()): string | undefined {
    const key = TokenCache.key(challenge);
    const entry = this.#tokens.get(key);
    if (entry && entry.expiresAt > now) return entry.token;
    this.#tokens.delete(key);
    return undefined;
  }

  set(challenge: BearerChallenge, token: string, expiresInSeconds: number | undefined, now = Date.now()) {
    const lifetime =
      expiresInSeconds && expiresInSeconds > 0 ? expiresInSeconds : defaultTokenLifetimeSeconds;
    // A margin of up to 10 s, but never more than half the lifetime, so short tokens still get used.
    const margin = Math.min(10, lifetime / 2);
    this.#tokens.set(TokenCache.key(challenge), { token, expiresAt: now + (lifetime - margin) * 1000 });
  }

  /** Forgets every token: they were fetched with credentials the registry no longer takes. */
  clear() {
    this.#tokens.clear();
  }

  /** Forgets a token the registry refused, unless it has been replaced already. */
  discard(challenge: BearerChallenge, token: string) {
    const key = TokenCache.key(challenge);
    if (this.#tokens.get(key)?.token === token) this.#tokens.delete(key);
  }
}
