// Bearer token with expiry: a rebuild detected and rolled out through a real token-auth
// registry whose tokens live 4 s, so the watch's checks outlive several tokens. Each token is
// renewed before it expires (one 401 in all: the first challenge) and bought with the
// credentials, which the token endpoint on the registry's own host receives.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rolloutWorkflowId } from '../../workflows/rollout-messages.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import {
  createTokenIssuer,
  startTokenRegistry,
  startTokenServer,
  type TokenIssuer,
  type TokenRegistry,
  type TokenServer,
} from '../support/token-registry.ts';

const stack = inject('stack');
let issuer: TokenIssuer;
let tokens: TokenServer;
let registry: TokenRegistry;
let fx: RolloutFixture;

beforeAll(async () => {
  issuer = createTokenIssuer();
  tokens = await startTokenServer(issuer);
  tokens.expiresIn = 4; // cached for 2 s: half the lifetime is the margin for short tokens
  registry = await startTokenRegistry(issuer, { realm: `${tokens.url}/token` });
  const passwordFile = join(issuer.dir, 'password');
  writeFileSync(passwordFile, issuer.user.password);
  fx = await createRolloutFixture(stack, {
    deployments: 1,
    interval: '1s',
    registry: {
      url: registry.url,
      auth: `{ type: basic, username: ${issuer.user.username}, passwordFile: "${passwordFile}" }`,
      push: issuer.user,
    },
  });
});

afterAll(async () => {
  await fx?.close();
  await registry?.stop();
  await tokens?.close();
  issuer?.remove();
});

describe('bearer token with expiry', () => {
  it('detects a rebuild and rolls it out through a token-auth registry while its tokens expire and renew', async () => {
    const watching = tokens.requests.length;
    // Several token lifetimes of checks every second before the rebuild.
    await sleep(6_000);
    const rebuilt = await fx.push();
    const id = rolloutWorkflowId(fx.pipeline, fx.image, rebuilt.digest, fx.config.temporal.instance);
    const result = await fx.result(id);

    expect(result.outcome).toBe('succeeded');
    expect(await fx.images(fx.staging)).toEqual({ [fx.deployments[0] ?? '']: rebuilt.reference });
    expect(await fx.images(fx.production)).toEqual({ [fx.deployments[0] ?? '']: rebuilt.reference });

    // The daemon's token requests (the test's pushes ask for pull,push): one per lifetime.
    const daemonTokens = tokens.requests
      .slice(watching)
      .filter((r) => r.scope.every((s) => s === `repository:${fx.repository}:pull`));
    expect(daemonTokens.length).toBeGreaterThanOrEqual(3);
    expect(daemonTokens.every((r) => r.credentials === 'valid')).toBe(true);
    const metrics = await scrape(fx.daemon.url);
    const registryName = fx.config.registries[0]?.name ?? '';
    const count = (method: string, code: string) =>
      sampleValue(metrics, 'freshet_registry_requests_total', { registry: registryName, method, code }) ?? 0;
    // The first request met the challenge; every later one carried a live token.
    expect(count('HEAD', '401')).toBe(1);
    expect(count('GET', '401')).toBe(0);
    expect(count('HEAD', '200') + count('HEAD', '304')).toBeGreaterThan(5);
  });
});
