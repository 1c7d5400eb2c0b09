// Credentials that change while Freshet runs (a helper's answer, an ECR token) come from a
// source the transport asks before each request and tells when the registry refused them.
// Against the stack's htpasswd registry: the first answer is stale, the second is right.
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import type { CredentialSource, StaticAuth } from '../../activities/registry/auth.ts';
import { RegistryClient } from '../../activities/registry/client.ts';
import type { RegistryRequestEvent } from '../../activities/registry/transport.ts';
import { pushImage } from '../support/image-pusher.ts';

const stack = inject('stack');
const repo = (name: string) => `credsource-${randomBytes(3).toString('hex')}/${name}`;

/** Hands out the given answers in turn, the last one forever; records every call. */
function rotatingSource(answers: StaticAuth[]) {
  const calls: string[] = [];
  let current = 0;
  const source: CredentialSource = {
    describe: 'a rotating test source',
    async get() {
      calls.push('get');
      return answers[Math.min(current, answers.length - 1)] as StaticAuth;
    },
    invalidate(auth) {
      calls.push('invalidate');
      if (auth === answers[current]) current++;
    },
  };
  return { source, calls };
}

describe('credentials from a source', () => {
  it('asks the source again after a 401 and succeeds with what it hands out next', async () => {
    const repository = repo('web');
    const pushed = await pushImage({
      registryUrl: stack.registryAuth.url,
      repository,
      tag: '1.0',
      auth: { username: stack.registryAuth.username, password: stack.registryAuth.password },
    });
    const stale: StaticAuth = {
      type: 'basic',
      username: stack.registryAuth.username,
      password: 'expired-pw',
    };
    const fresh: StaticAuth = {
      type: 'basic',
      username: stack.registryAuth.username,
      password: stack.registryAuth.password,
    };
    const { source, calls } = rotatingSource([stale, fresh]);
    const events: RegistryRequestEvent[] = [];
    const client = new RegistryClient({
      name: 'auth',
      url: stack.registryAuth.url,
      auth: { type: 'source', source },
      onRequest: (e) => events.push(e),
    });

    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest: pushed.digest });
    expect(events.map((e) => `${e.method} ${e.code}`)).toEqual(['HEAD 401', 'HEAD 200']);
    expect(calls).toEqual(['get', 'invalidate', 'get']);
  });

  it('gives up after one renewal, and the error names the source but no secret', async () => {
    const password = `wrong-${randomBytes(8).toString('hex')}`;
    const { source, calls } = rotatingSource([{ type: 'basic', username: 'nobody', password }]);
    const client = new RegistryClient({
      name: 'auth',
      url: stack.registryAuth.url,
      auth: { type: 'source', source },
    });

    const err = await client.resolveDigest(repo('web'), '1.0').catch((e: unknown) => e);
    expect(String(err)).toMatch(/401 unauthorized/);
    expect(calls).toEqual(['get', 'invalidate', 'get']);
    expect(inspect(err)).not.toContain(password);
  });

  it('reports a source that cannot answer as a retryable error naming it', async () => {
    const source: CredentialSource = {
      describe: 'docker-credential-broken',
      get: async () => {
        throw new Error('exited with code 1');
      },
      invalidate: () => {},
    };
    const client = new RegistryClient({
      name: 'auth',
      url: stack.registryAuth.url,
      auth: { type: 'source', source },
    });
    await expect(client.resolveDigest(repo('web'), '1.0')).rejects.toMatchObject({
      message: expect.stringMatching(/no credentials from docker-credential-broken: exited with code 1/),
      retryable: true,
    });
  });
});
