// An identity token (Docker's `identitytoken`, an OAuth2 refresh token) is exchanged at the
// registry's token realm with POST grant_type=refresh_token, as Docker does, against a real
// Distribution registry in token-auth mode that checks every access token it is shown.
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../activities/registry/client.ts';
import type { RegistryRequestEvent } from '../../activities/registry/transport.ts';
import { pushImage } from '../support/image-pusher.ts';
import { startTokenAuthRegistry, type TokenAuthRegistry } from '../support/token-auth-registry.ts';

const refreshToken = `refresh-${randomBytes(16).toString('hex')}`;
let registry: TokenAuthRegistry;

beforeAll(async () => {
  registry = await startTokenAuthRegistry({ passwords: {}, refreshTokens: { [refreshToken]: 'robot' } });
});
afterAll(() => registry?.remove());

const summary = (events: RegistryRequestEvent[]) => events.map((e) => `${e.method} ${e.endpoint} ${e.code}`);

describe('identity tokens', () => {
  it('are exchanged with the OAuth2 refresh-token grant for an access token scoped to the repository', async () => {
    const repository = `idtoken-${randomBytes(3).toString('hex')}/web`;
    const pushed = await pushImage({
      registryUrl: registry.url,
      repository,
      tag: '1.0',
      token: await registry.pushToken(repository),
    });
    const events: RegistryRequestEvent[] = [];
    const client = new RegistryClient({
      name: 'oauth',
      url: registry.url,
      auth: { type: 'identityToken', token: refreshToken },
      onRequest: (e) => events.push(e),
    });

    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest: pushed.digest });
    expect(summary(events)).toEqual(['HEAD manifest 401', 'POST token 200', 'HEAD manifest 200']);
    expect(registry.requests.at(-1)).toEqual({
      method: 'POST',
      grantType: 'refresh_token',
      scope: [`repository:${repository}:pull`],
      user: 'robot',
    });
  });

  it('a refused identity token is a 401 that never shows the token', async () => {
    const wrong = `refresh-${randomBytes(16).toString('hex')}`;
    const client = new RegistryClient({
      name: 'oauth',
      url: registry.url,
      auth: { type: 'identityToken', token: wrong },
    });
    const err = await client.resolveDigest('idtoken/none', '1').catch((e: unknown) => e);
    expect(String(err)).toMatch(
      /registry oauth: POST token for repository:idtoken\/none:pull → 401 unauthorized/,
    );
    expect(inspect(err)).not.toContain(wrong);
  });
});
