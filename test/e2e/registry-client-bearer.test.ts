// The Bearer token flow against real registries in token-auth mode, Distribution and zot (the
// stack's binaries, test/support/token-registry.ts), with token endpoints that sign JWTs as
// auth.docker.io or ghcr.io/token would. The registries issue the challenges and check every
// token; the token endpoints record what credentials reached them. Which realms receive the
// credentials is the client's decision, shown on Distribution.
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from '../../activities/registry/client.ts';
import { ociManifest } from '../../activities/registry/media-types.ts';
import type { RegistryRequestEvent } from '../../activities/registry/transport.ts';
import { pushImage } from '../support/image-pusher.ts';
import { resolveLocally } from '../support/local-dns.ts';
import {
  createTokenIssuer,
  startTokenRegistry,
  startTokenServer,
  startTokenZot,
  type TokenIssuer,
  type TokenRegistry,
  type TokenServer,
} from '../support/token-registry.ts';

/** A host name of the test's own for the token service: another host than the registry's 127.0.0.1. */
const foreignHost = 'tokens.freshet.test';

let issuer: TokenIssuer;
let tokens: TokenServer;
/** A second token endpoint on another port: where a redirect leads. */
let elsewhere: TokenServer;
/** Realm on the registry's own host. */
let own: TokenRegistry;
/** Realm on another host. */
let foreign: TokenRegistry;
/** Realm on the registry's own host that redirects (tokens.redirectTo). */
let moved: TokenRegistry;
/** Realm that is a web page. */
let login: TokenRegistry;
/** zot, realm on its own host. */
let zot: TokenRegistry;
let restoreDns: () => void;

beforeAll(async () => {
  restoreDns = resolveLocally([foreignHost]);
  issuer = createTokenIssuer();
  tokens = await startTokenServer(issuer);
  elsewhere = await startTokenServer(issuer);
  own = await startTokenRegistry(issuer, { realm: `${tokens.url}/token` });
  foreign = await startTokenRegistry(issuer, { realm: `http://${foreignHost}:${tokens.port}/token` });
  moved = await startTokenRegistry(issuer, { realm: `${tokens.url}/moved` });
  login = await startTokenRegistry(issuer, { realm: `${tokens.url}/login` });
  zot = await startTokenZot(issuer, { realm: `${tokens.url}/token` });
});

afterAll(async () => {
  for (const r of [own, foreign, moved, login, zot]) await r?.stop();
  await tokens?.close();
  await elsewhere?.close();
  issuer?.remove();
  restoreDns?.();
});

function bearerClientOn(opts: Partial<RegistryClientOptions> & { password?: string } = {}) {
  const { password = issuer.user.password, ...rest } = opts;
  const events: RegistryRequestEvent[] = [];
  const client = new RegistryClient({
    name: 'hub',
    url: own.url,
    auth: { type: 'basic', username: issuer.user.username, password },
    onRequest: (e) => events.push(e),
    ...rest,
  });
  return { client, events };
}

const bearerClient = bearerClientOn;
const summary = (events: RegistryRequestEvent[]) => events.map((e) => `${e.method} ${e.endpoint} ${e.code}`);
const push = (repository: string, tag: string) =>
  pushImage({ registryUrl: own.url, repository, tag, auth: issuer.user });
const repo = (prefix: string, name: string) => `${prefix}-${randomBytes(3).toString('hex')}/${name}`;
/** Everything an error shows of itself, to look for secrets in. */
const everything = (err: unknown) =>
  [String(err), inspect(err, { depth: 5 }), JSON.stringify(err), (err as Error).stack ?? ''].join('\n');

describe.each(['Distribution', 'zot'] as const)('Bearer token flow on %s', (name) => {
  const at = () => (name === 'zot' ? zot : own).url;
  const bearerClient = (opts: Parameters<typeof bearerClientOn>[0] = {}) =>
    bearerClientOn({ url: at(), ...opts });
  const push = (repository: string, tag: string) =>
    pushImage({ registryUrl: at(), repository, tag, auth: issuer.user });
  // zot ignores If-None-Match: an idle check is a 200 with the same digest rather than a 304.
  const idleHead = name === 'zot' ? 'HEAD manifest 200' : 'HEAD manifest 304';

  it('answers the challenge with a token, then checks with one HEAD while the token lives', async () => {
    const repository = repo('bearer', 'web');
    const { digest } = await push(repository, '1.4');
    const { client, events } = bearerClient();

    await expect(client.resolveDigest(repository, '1.4')).resolves.toEqual({
      digest,
      mediaType: ociManifest,
      notModified: false,
    });
    expect(summary(events)).toEqual(['HEAD manifest 401', 'GET token 200', 'HEAD manifest 200']);
    expect(tokens.requests.at(-1)).toEqual({
      path: '/token',
      scope: [`repository:${repository}:pull`],
      credentials: 'valid',
    });

    events.length = 0;
    await expect(client.resolveDigest(repository, '1.4', { ifNoneMatch: digest })).resolves.toMatchObject({
      notModified: true,
    });
    await expect(client.listTags(repository)).resolves.toEqual({ tags: ['1.4'], truncated: false });
    await expect(client.imageMetadata(repository, digest)).resolves.toMatchObject({
      digest,
      platformDigest: digest,
    });
    expect(summary(events)).toEqual([idleHead, 'GET tags 200', 'GET manifest 200', 'GET blob 200']);
  });

  it('renews an expiring token before the request, not after a 401', async () => {
    const repository = repo('bearer', 'short');
    const { digest } = await push(repository, '1');
    tokens.expiresIn = 2; // cached for 1 s: half the lifetime is the margin for short tokens
    try {
      const { client, events } = bearerClient();
      await client.resolveDigest(repository, '1');
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      events.length = 0;
      await expect(client.resolveDigest(repository, '1', { ifNoneMatch: digest })).resolves.toMatchObject({
        notModified: true,
      });
      expect(summary(events)).toEqual(['GET token 200', idleHead]);
    } finally {
      tokens.expiresIn = 300;
    }
  });

  it('fetches one token for checks that meet the challenge at once, and reuses it', async () => {
    const repository = repo('bearer', 'many');
    const tags = ['a', 'b', 'c', 'd'];
    for (const tag of tags) await push(repository, tag);
    const { client, events } = bearerClient();
    const before = tokens.requests.length;

    await Promise.all(tags.map((tag) => client.resolveDigest(repository, tag)));
    expect(tokens.requests.length).toBe(before + 1);
    expect(summary(events).sort()).toEqual(
      ['GET token 200', ...Array(4).fill('HEAD manifest 200'), ...Array(4).fill('HEAD manifest 401')].sort(),
    );

    events.length = 0;
    await Promise.all(tags.map((tag) => client.resolveDigest(repository, tag)));
    expect(tokens.requests.length).toBe(before + 1);
    expect(summary(events)).toEqual(Array(4).fill('HEAD manifest 200'));
  });

  it('asks for a separate token for another repository', async () => {
    const first = repo('bearer', 'one');
    const second = repo('bearer', 'two');
    await push(first, '1');
    await push(second, '1');
    const { client } = bearerClient();
    const before = tokens.requests.length;
    await client.resolveDigest(first, '1');
    await client.resolveDigest(second, '1');
    expect(tokens.requests.slice(before).map((r) => r.scope)).toEqual([
      [`repository:${first}:pull`],
      [`repository:${second}:pull`],
    ]);
  });

  it('reports wrong credentials at the token endpoint clearly, without the password', async () => {
    const password = `wrong-${randomBytes(8).toString('hex')}`;
    const { client, events } = bearerClient({ password });
    const err = await client.resolveDigest('acme/web', '1.4').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RegistryError', status: 401, retryable: false });
    expect((err as Error).message).toBe(
      "registry hub: GET token for repository:acme/web:pull → 401 unauthorized (check the registry's credentials); registry says UNAUTHORIZED: bad credentials",
    );
    expect(summary(events)).toEqual(['HEAD manifest 401', 'GET token 401']);
    expect(everything(err)).not.toContain(password);
    expect(everything(err)).not.toContain(
      Buffer.from(`${issuer.user.username}:${password}`).toString('base64'),
    );
  });
});

describe('Bearer tokens are cached per realm, service and scope until expires_in', () => {
  it('asks the token endpoint once per token lifetime, however many checks run in it', async () => {
    const repository = repo('bearer', 'expiry');
    const { digest } = await push(repository, '1');
    tokens.expiresIn = 3; // cached for 1.5 s
    try {
      const { client, events } = bearerClient();
      const before = tokens.requests.length;
      const started = Date.now();
      const checks: number[] = [];
      // Checks every 100 ms for 4 s: the token expires (and is renewed) twice on the way.
      while (Date.now() - started < 4_000) {
        await client.resolveDigest(repository, '1', { ifNoneMatch: digest });
        checks.push(Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const fetched = tokens.requests.slice(before);
      expect(checks.length).toBeGreaterThan(20);
      // One token per 1.5 s of a 4 s run: the first, then one after each expiry.
      expect(fetched.length).toBe(3);
      expect(fetched.every((r) => r.credentials === 'valid')).toBe(true);
      // Renewed before it expired: a single 401 (the first challenge), never one for a stale token.
      expect(summary(events).filter((e) => e.endsWith('401'))).toEqual(['HEAD manifest 401']);
      expect(summary(events).filter((e) => e.startsWith('GET token'))).toEqual(
        Array(3).fill('GET token 200'),
      );
    } finally {
      tokens.expiresIn = 300;
    }
  });
});

describe('Bearer tokens: a 401 renews once', () => {
  it('renews a token the registry refuses before its announced expiry, once', async () => {
    const repository = repo('bearer', 'revoked');
    const { digest } = await push(repository, '1');
    // The endpoint says 300 s, but its tokens die after 2 s (Distribution allows 60 s past a
    // token's exp for clock skew): the registry's word is final.
    tokens.tokenLifetime = -58;
    try {
      const { client, events } = bearerClient();
      await client.resolveDigest(repository, '1');
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      events.length = 0;
      await expect(client.resolveDigest(repository, '1', { ifNoneMatch: digest })).resolves.toMatchObject({
        notModified: true,
      });
      expect(summary(events)).toEqual(['HEAD manifest 401', 'GET token 200', 'HEAD manifest 304']);
    } finally {
      delete tokens.tokenLifetime;
    }
  });

  it('gives up when the renewed token is refused too, instead of asking again and again', async () => {
    const repository = repo('bearer', 'dead');
    await push(repository, '1');
    tokens.tokenLifetime = -120; // every token is expired, skew allowance included, when handed out
    try {
      const { client, events } = bearerClient();
      const err = await client.resolveDigest(repository, '1').catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'RegistryError', status: 401, retryable: false });
      expect(summary(events)).toEqual(['HEAD manifest 401', 'GET token 200', 'HEAD manifest 401']);
    } finally {
      delete tokens.tokenLifetime;
    }
  });

  it('says so when the token endpoint answers a web page', async () => {
    const { client } = bearerClient({ url: login.url });
    await expect(client.resolveDigest('acme/web', '1')).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(
        /^registry hub: GET token for repository:acme\/web:pull → malformed answer: a web page \(text\/html, \d+ bytes\), not a token; check that the challenge's realm is the registry's token endpoint$/,
      ),
    });
  });
});

describe('Bearer tokens: credentials go only to trusted token realms', () => {
  it('withholds credentials from a realm on another host; a public image still resolves anonymously', async () => {
    const repository = repo('public', 'web');
    const { digest } = await push(repository, '1');
    const { client } = bearerClient({ url: foreign.url });
    const before = tokens.requests.length;

    await expect(client.resolveDigest(repository, '1')).resolves.toMatchObject({ digest });
    expect(tokens.requests.slice(before)).toEqual([
      { path: '/token', scope: [`repository:${repository}:pull`], credentials: 'none' },
    ]);
  });

  it('says the credentials were withheld, and how to allow the host, when the registry refuses without them', async () => {
    const repository = repo('private', 'web');
    await push(repository, '1');
    const { client, events } = bearerClient({
      url: foreign.url,
      tokenRealmsKey: 'registries[0].tokenRealms',
    });
    const before = tokens.requests.length;

    const err = await client.resolveDigest(repository, '1').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RegistryError', status: 401, retryable: false });
    expect((err as Error).message).toBe(
      `registry hub: HEAD ${repository}:1 → 401 unauthorized (check the registry's credentials); ` +
        `credentials were withheld from the token realm ${foreignHost}:${tokens.port}, which is not the registry's host; ` +
        `if it is the registry's own token service, add "${foreignHost}" to registries[0].tokenRealms`,
    );
    // The anonymous token grants nothing for a private repository, so the registry refuses it.
    expect(tokens.requests.slice(before).map((r) => r.credentials)).toEqual(['none']);
    expect(summary(events)).toEqual(['HEAD manifest 401', 'GET token 200', 'HEAD manifest 401']);
    expect(everything(err)).not.toContain(issuer.user.password);
  });

  it('sends them to a realm host the config names', async () => {
    const repository = repo('private', 'named');
    const { digest } = await push(repository, '1');
    const { client } = bearerClient({ url: foreign.url, tokenRealms: [foreignHost] });
    const before = tokens.requests.length;

    await expect(client.resolveDigest(repository, '1')).resolves.toMatchObject({ digest });
    expect(tokens.requests.slice(before).map((r) => r.credentials)).toEqual(['valid']);
  });

  it('a token endpoint that redirects to another port does not receive the credentials there', async () => {
    const publicRepository = repo('public', 'moved');
    const privateRepository = repo('private', 'moved');
    const { digest } = await push(publicRepository, '1');
    await push(privateRepository, '1');
    tokens.redirectTo = elsewhere.url;
    try {
      const { client } = bearerClient({ url: moved.url });
      const [beforeHere, beforeThere] = [tokens.requests.length, elsewhere.requests.length];
      await expect(client.resolveDigest(publicRepository, '1')).resolves.toMatchObject({ digest });
      // fetch (undici) sent Basic to the realm, followed the 307, and dropped Authorization.
      expect(tokens.requests.slice(beforeHere).map((r) => `${r.path} ${r.credentials}`)).toEqual([
        '/moved valid',
      ]);
      expect(elsewhere.requests.slice(beforeThere).map((r) => `${r.path} ${r.credentials}`)).toEqual([
        '/token none',
      ]);

      const err = await client.resolveDigest(privateRepository, '1').catch((e: unknown) => e);
      expect((err as Error).message).toContain(
        `the token endpoint 127.0.0.1:${tokens.port} redirected to 127.0.0.1:${elsewhere.port}, and credentials never follow a redirect to another origin`,
      );
      expect(elsewhere.requests.slice(beforeThere).every((r) => r.credentials === 'none')).toBe(true);
    } finally {
      delete tokens.redirectTo;
    }
  });

  it('an identity token goes to a trusted realm in the OAuth2 POST, and to another host not at all', async () => {
    const repository = repo('private', 'identity');
    const { digest } = await push(repository, '1');
    const identity = { type: 'identityToken', token: issuer.refreshToken } as const;
    let before = tokens.requests.length;
    const trusted = bearerClient({ auth: identity });
    await expect(trusted.client.resolveDigest(repository, '1')).resolves.toMatchObject({ digest });
    expect(tokens.requests.slice(before)).toEqual([
      {
        path: '/token',
        scope: [`repository:${repository}:pull`],
        credentials: 'valid',
        grant: 'refresh_token',
      },
    ]);

    before = tokens.requests.length;
    const withheld = bearerClient({ url: foreign.url, auth: identity });
    const err = await withheld.client.resolveDigest(repository, '1').catch((e: unknown) => e);
    expect((err as Error).message).toContain(`credentials were withheld from the token realm ${foreignHost}`);
    expect(tokens.requests.slice(before)).toEqual([
      { path: '/token', scope: [`repository:${repository}:pull`], credentials: 'none' },
    ]);
    expect(everything(err)).not.toContain(issuer.refreshToken);
  });

  it('an identity token is never posted on to where the realm redirects', async () => {
    const repository = repo('private', 'identity-moved');
    await push(repository, '1');
    tokens.redirectTo = elsewhere.url;
    try {
      const { client } = bearerClient({
        url: moved.url,
        auth: { type: 'identityToken', token: issuer.refreshToken },
      });
      const beforeThere = elsewhere.requests.length;
      const err = await client.resolveDigest(repository, '1').catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'RegistryError', status: 307, retryable: false });
      expect((err as Error).message).toBe(
        `registry hub: POST token for repository:${repository}:pull → 307 redirect to ${elsewhere.url}/token; an identity token is posted only to the realm the challenge names`,
      );
      expect(elsewhere.requests.length).toBe(beforeThere);
      expect(everything(err)).not.toContain(issuer.refreshToken);
    } finally {
      delete tokens.redirectTo;
    }
  });

  it('a redirect to another host name on the same port drops them too; one within the origin keeps them', async () => {
    const repository = repo('public', 'renamed');
    const { digest } = await push(repository, '1');
    const { client } = bearerClient({ url: moved.url });
    try {
      tokens.redirectTo = `http://${foreignHost}:${tokens.port}`;
      let before = tokens.requests.length;
      await expect(client.resolveDigest(repository, '1')).resolves.toMatchObject({ digest });
      expect(tokens.requests.slice(before).map((r) => `${r.path} ${r.credentials}`)).toEqual([
        '/moved valid',
        '/token none',
      ]);

      tokens.redirectTo = tokens.url;
      before = tokens.requests.length;
      const sameOrigin = bearerClient({ url: moved.url });
      await expect(sameOrigin.client.resolveDigest(repository, '1')).resolves.toMatchObject({ digest });
      expect(tokens.requests.slice(before).map((r) => `${r.path} ${r.credentials}`)).toEqual([
        '/moved valid',
        '/token valid',
      ]);
    } finally {
      delete tokens.redirectTo;
    }
  });
});
