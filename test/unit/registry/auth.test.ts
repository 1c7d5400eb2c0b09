import { describe, expect, it } from 'vitest';
import {
  basicAuthorization,
  bearerChallenge,
  parseChallenges,
  secretsOf,
  TokenCache,
  tokenUrl,
} from '../../../activities/registry/auth.ts';

describe('parseChallenges', () => {
  it('reads the Docker Hub challenge, with a comma inside the quoted scope', () => {
    const header =
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"';
    expect(parseChallenges(header)).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:samalba/my-app:pull,push',
        },
      },
    ]);
  });

  it('accepts spaces around commas and equals, unquoted values and upper-case names', () => {
    const [challenge] = parseChallenges('BEARER Realm = "https://ghcr.io/token" ,  Service=ghcr.io');
    expect(challenge).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://ghcr.io/token', service: 'ghcr.io' },
    });
  });

  it('unescapes backslash-escaped quotes inside quoted values', () => {
    const [challenge] = parseChallenges('Bearer realm="a\\"b",error="insufficient_scope"');
    expect(challenge?.params).toEqual({ realm: 'a"b', error: 'insufficient_scope' });
  });

  it('splits several challenges in one header', () => {
    const challenges = parseChallenges(
      'Basic realm="basic-realm", Bearer realm="https://x/token",scope="a b"',
    );
    expect(challenges.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(challenges[1]?.params).toEqual({ realm: 'https://x/token', scope: 'a b' });
  });

  it('reads token68 challenges and schemes without parameters', () => {
    expect(parseChallenges('Negotiate abc123==, Basic')).toEqual([
      { scheme: 'negotiate', params: {}, token68: 'abc123==' },
      { scheme: 'basic', params: {} },
    ]);
  });

  it('survives garbage and truncated headers without throwing', () => {
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges(',,, ;;')).toEqual([]);
    expect(parseChallenges('Bearer realm="https://x/token')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://x/token' } },
    ]);
    expect(() => parseChallenges('"=,=\\')).not.toThrow();
  });
});

describe('bearerChallenge', () => {
  it('picks the Bearer challenge with a realm and ignores Basic', () => {
    expect(bearerChallenge('Basic realm="r", Bearer realm="https://t/token",service="s"')).toEqual({
      realm: 'https://t/token',
      service: 's',
      scope: undefined,
    });
  });

  it('is undefined for Basic-only, realm-less or missing headers', () => {
    expect(bearerChallenge('Basic realm="basic-realm"')).toBeUndefined();
    expect(bearerChallenge('Bearer service="s"')).toBeUndefined();
    expect(bearerChallenge(null)).toBeUndefined();
  });
});

describe('tokenUrl', () => {
  it('sends service and one scope parameter per scope', () => {
    const url = tokenUrl({
      realm: 'https://auth.example/token?client=x',
      service: 'reg',
      scope: 'repository:a/b:pull repository:c:pull',
    });
    expect(url.searchParams.get('client')).toBe('x');
    expect(url.searchParams.get('service')).toBe('reg');
    expect(url.searchParams.getAll('scope')).toEqual(['repository:a/b:pull', 'repository:c:pull']);
  });
});

describe('TokenCache', () => {
  const challenge = { realm: 'https://t/token', service: 's', scope: 'repository:a:pull' };

  it('keeps a token until its lifetime minus a margin', () => {
    const cache = new TokenCache();
    cache.set(challenge, 'tok', 300, 0);
    expect(cache.get(challenge, 289_000)).toBe('tok');
    expect(cache.get(challenge, 290_000)).toBeUndefined();
  });

  it('assumes 60 s when expires_in is missing, and keeps short tokens for half their life at least', () => {
    const cache = new TokenCache();
    cache.set(challenge, 'tok', undefined, 0);
    expect(cache.get(challenge, 49_000)).toBe('tok');
    expect(cache.get(challenge, 50_000)).toBeUndefined();
    cache.set(challenge, 'short', 4, 0);
    expect(cache.get(challenge, 1_999)).toBe('short');
    expect(cache.get(challenge, 2_000)).toBeUndefined();
  });

  it('asks anew at least daily, whatever lifetime the endpoint claims', () => {
    const cache = new TokenCache();
    cache.set(challenge, 'forever', 10 ** 12, 0);
    expect(cache.get(challenge, 86_389_000)).toBe('forever');
    expect(cache.get(challenge, 86_390_000)).toBeUndefined();
  });

  it('keys tokens by realm, service and scope, and discards only the token refused', () => {
    const cache = new TokenCache();
    cache.set(challenge, 'tok', 60, 0);
    expect(cache.get({ ...challenge, scope: 'repository:b:pull' }, 0)).toBeUndefined();
    expect(cache.get({ ...challenge, service: 'other' }, 0)).toBeUndefined();
    cache.discard(challenge, 'older');
    expect(cache.get(challenge, 0)).toBe('tok');
    cache.discard(challenge, 'tok');
    expect(cache.get(challenge, 0)).toBeUndefined();
  });
});

describe('credentials', () => {
  it('encodes basic credentials and lists every form of the secret for redaction', () => {
    expect(basicAuthorization('freshet', 's3cret')).toBe(`Basic ${btoa('freshet:s3cret')}`);
    expect(secretsOf({ type: 'basic', username: 'freshet', password: 's3cret' })).toEqual([
      's3cret',
      btoa('freshet:s3cret'),
    ]);
    expect(secretsOf({ type: 'token', token: 'tkn' })).toEqual(['tkn']);
    expect(secretsOf({ type: 'anonymous' })).toEqual([]);
  });
});
