// Credential helpers as Docker runs them: real executables (test/fixtures/credential-helpers) on
// PATH, asked with `get` and the server URL on stdin, against the stack's htpasswd registry and a
// token-auth registry. Helpers that fail, hang, print garbage or lie each give one clear error.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RegistryClient } from '../../activities/registry/client.ts';
import { HelperCredentialSource } from '../../activities/registry/credentials/helper.ts';
import type { RegistryRequestEvent } from '../../activities/registry/transport.ts';
import {
  type CredentialHelpers,
  credentialHelpersDir,
  useCredentialHelpers,
} from '../support/credential-helpers.ts';
import { pushImage } from '../support/image-pusher.ts';
import { startTokenAuthRegistry, type TokenAuthRegistry } from '../support/token-auth-registry.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const server = new URL(stack.registryAuth.url).host;
const repository = `helpers-${randomBytes(3).toString('hex')}/web`;
let helpers: CredentialHelpers;
let digest: string;

function clientWith(helper: string, opts: { timeoutMs?: number; command?: string } = {}) {
  const source = new HelperCredentialSource({
    ...(opts.command ? { command: opts.command } : { helper }),
    serverAddress: server,
    timeoutMs: opts.timeoutMs ?? 5_000,
    notFound: 'error',
  });
  const events: RegistryRequestEvent[] = [];
  const client = new RegistryClient({
    name: 'helped',
    url: stack.registryAuth.url,
    auth: { type: 'source', source },
    onRequest: (e) => events.push(e),
  });
  return { client, events };
}

/** Whether a process runs: not gone, and not a zombie waiting for whoever reaps orphans. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err as Error & { retryable?: boolean },
  );

beforeAll(async () => {
  helpers = useCredentialHelpers();
  ({ digest } = await pushImage({
    registryUrl: stack.registryAuth.url,
    repository,
    tag: '1.0',
    auth: { username: stack.registryAuth.username, password: stack.registryAuth.password },
  }));
});
afterAll(() => helpers?.remove());

describe('credential helpers', () => {
  it('a helper that answers right is asked for the host once, and its answer is kept while it works', async () => {
    helpers.reset();
    helpers.answer({
      ServerURL: server,
      Username: stack.registryAuth.username,
      Secret: stack.registryAuth.password,
    });
    const { client, events } = clientWith('freshet-answers');
    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest });
    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest });
    expect(helpers.asked()).toEqual([server]);
    expect(events.map((e) => `${e.method} ${e.code}`)).toEqual(['HEAD 200', 'HEAD 200']);
  });

  it('a helper that lies gets one more chance after the 401, and then the 401 is the error', async () => {
    helpers.reset();
    const lie = `lie-${randomBytes(8).toString('hex')}`;
    helpers.answer({ Username: stack.registryAuth.username, Secret: lie });
    const { client } = clientWith('freshet-answers');
    const err = await failure(client.resolveDigest(repository, '1.0'));
    expect(err.message).toMatch(new RegExp(`registry helped: HEAD ${repository}:1.0 → 401 unauthorized`));
    expect(helpers.asked()).toEqual([server, server]);
    expect(inspect(err)).not.toContain(lie);

    // A helper whose first answer went stale: the second is right, and the check succeeds.
    helpers.reset();
    helpers.answer({ Username: stack.registryAuth.username, Secret: lie }, 1);
    helpers.answer({ Username: stack.registryAuth.username, Secret: stack.registryAuth.password });
    const renewed = clientWith('freshet-answers');
    await expect(renewed.client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest });
    expect(helpers.asked()).toEqual([server, server]);
    expect(renewed.events.map((e) => `${e.method} ${e.code}`)).toEqual(['HEAD 401', 'HEAD 200']);
  });

  it('a helper that fails is a retryable error with its exit code and its words, token redacted', async () => {
    const { client } = clientWith('freshet-fails');
    const err = await failure(client.resolveDigest(repository, '1.0'));
    expect(err.message).toBe(
      `registry helped: HEAD ${repository}:1.0 → no credentials from docker-credential-freshet-fails: ` +
        'get exited with code 1: error: refresh token [redacted] was revoked; run the login again',
    );
    expect(err.retryable).toBe(true);
    expect(inspect(err)).not.toContain('9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c');
  });

  it('a helper that hangs is killed with everything it started at the deadline', async () => {
    const { client, events } = clientWith('freshet-hangs', { timeoutMs: 500 });
    const started = Date.now();
    const err = await failure(client.resolveDigest(repository, '1.0'));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err.message).toBe(
      `registry helped: HEAD ${repository}:1.0 → no credentials from docker-credential-freshet-hangs: ` +
        'get did not answer within 500ms; killed it',
    );
    expect(events).toEqual([]);
    const child = Number(readFileSync(join(helpers.dir, 'hang.pid'), 'utf8'));
    await waitFor("the helper's child to be killed too", async () => !running(child), {
      timeoutMs: 2_000,
      intervalMs: 50,
    });
  });

  it('a helper that prints garbage is told as such, without echoing what it printed', async () => {
    const { client } = clientWith('freshet-garbage');
    const err = await failure(client.resolveDigest(repository, '1.0'));
    expect(err.message).toBe(
      `registry helped: HEAD ${repository}:1.0 → no credentials from docker-credential-freshet-garbage: ` +
        'the helper printed something that is not its JSON answer (not JSON)',
    );
    expect(err.message).not.toContain('login.example');
  });

  it('a helper that is not on PATH, or has nothing for the host, says so', async () => {
    const missing = await failure(
      clientWith('freshet-not-installed').client.resolveDigest(repository, '1.0'),
    );
    expect(missing.message).toContain(
      'no credentials from docker-credential-freshet-not-installed: docker-credential-freshet-not-installed is not on PATH; install it, or set command to its absolute path',
    );
    helpers.reset();
    const nothing = await failure(clientWith('freshet-answers').client.resolveDigest(repository, '1.0'));
    expect(nothing.message).toContain(`docker-credential-freshet-answers: has no credentials for ${server}`);
  });

  it('a helper given by absolute command runs that program', async () => {
    helpers.reset();
    helpers.answer({ Username: stack.registryAuth.username, Secret: stack.registryAuth.password });
    const command = join(credentialHelpersDir, 'docker-credential-freshet-answers');
    const { client } = clientWith('', { command });
    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest });
    expect(helpers.asked()).toEqual([server]);
  });
});

describe('credential helpers: identity tokens', () => {
  let tokenRegistry: TokenAuthRegistry;
  const refreshToken = `refresh-${randomBytes(16).toString('hex')}`;
  beforeAll(async () => {
    tokenRegistry = await startTokenAuthRegistry({
      passwords: {},
      refreshTokens: { [refreshToken]: 'robot' },
    });
  });
  afterAll(() => tokenRegistry?.remove());

  it('an answer with Username "<token>" is an identity token, exchanged at the token realm', async () => {
    const repo = `helpers-${randomBytes(3).toString('hex')}/oauth`;
    const pushed = await pushImage({
      registryUrl: tokenRegistry.url,
      repository: repo,
      tag: '1',
      token: await tokenRegistry.pushToken(repo),
    });
    helpers.reset();
    helpers.answer({ Username: '<token>', Secret: refreshToken });
    const host = new URL(tokenRegistry.url).host;
    const source = new HelperCredentialSource({
      helper: 'freshet-answers',
      serverAddress: host,
      timeoutMs: 5_000,
      notFound: 'error',
    });
    const client = new RegistryClient({
      name: 'oauth',
      url: tokenRegistry.url,
      auth: { type: 'source', source },
    });
    await expect(client.resolveDigest(repo, '1')).resolves.toMatchObject({ digest: pushed.digest });
    expect(helpers.asked()).toEqual([host]);
    expect(tokenRegistry.requests.at(-1)).toMatchObject({
      method: 'POST',
      grantType: 'refresh_token',
      user: 'robot',
    });
  });
});
