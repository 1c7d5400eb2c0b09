// Docker config files as users have them (~/.docker/config.json, a mounted dockerconfigjson
// Secret), against the stack's htpasswd registry and a token-auth registry: every kind of entry,
// the helpers the file names, a Secret the kubelet swaps in place, and a broken file.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RegistryClient } from '../../activities/registry/client.ts';
import { DockerConfigSource } from '../../activities/registry/credentials/docker-config.ts';
import { type CredentialHelpers, useCredentialHelpers } from '../support/credential-helpers.ts';
import { pushImage } from '../support/image-pusher.ts';
import { startTokenAuthRegistry, type TokenAuthRegistry } from '../support/token-auth-registry.ts';

const stack = inject('stack');
const host = new URL(stack.registryAuth.url).host;
const repository = `dockercfg-${randomBytes(3).toString('hex')}/web`;
const b64 = (text: string) => Buffer.from(text).toString('base64');
let dir: string;
let helpers: CredentialHelpers;
let digest: string;

function clientFor(file: string, url = stack.registryAuth.url) {
  const source = new DockerConfigSource({ file, registryUrl: new URL(url), helperTimeoutMs: 5_000 });
  return new RegistryClient({ name: 'dockercfg', url, auth: { type: 'source', source } });
}

function writeConfig(name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err as Error,
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-dockercfg-'));
  helpers = useCredentialHelpers();
  ({ digest } = await pushImage({
    registryUrl: stack.registryAuth.url,
    repository,
    tag: '1.0',
    auth: { username: stack.registryAuth.username, password: stack.registryAuth.password },
  }));
});
afterAll(() => {
  helpers?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('docker config files', () => {
  it('reads a base64 auth under any spelling of the host, and username/password', async () => {
    const { username, password } = stack.registryAuth;
    for (const key of [host, `http://${host}/v2/`, `https://${host}`]) {
      const file = writeConfig('spelling.json', {
        auths: { [key]: { auth: b64(`${username}:${password}`) } },
      });
      await expect(clientFor(file).resolveDigest(repository, '1.0'), key).resolves.toMatchObject({ digest });
    }
    const plain = writeConfig('plain.json', { auths: { [host]: { username, password } } });
    await expect(clientFor(plain).resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest });
  });

  it('follows a mounted Secret that the kubelet swaps in place', async () => {
    // The kubelet's layout: config.json → ..data/config.json, ..data → a timestamped directory.
    const mount = join(dir, 'mount');
    mkdirSync(mount);
    const publish = (version: string, password: string) => {
      const data = join(mount, `..${version}`);
      mkdirSync(data);
      writeFileSync(
        join(data, 'config.json'),
        JSON.stringify({ auths: { [host]: { auth: b64(`${stack.registryAuth.username}:${password}`) } } }),
      );
      symlinkSync(`..${version}`, join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
    };
    const stale = `stale-${randomBytes(8).toString('hex')}`;
    publish('v1', stale);
    symlinkSync('..data/config.json', join(mount, 'config.json'));
    const client = clientFor(join(mount, 'config.json'));
    const refused = await failure(client.resolveDigest(repository, '1.0'));
    expect(refused.message).toMatch(/401 unauthorized/);
    expect(inspect(refused)).not.toContain(stale);

    publish('v2', stack.registryAuth.password);
    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest });
  });

  it('asks the helper credHelpers names for the host, then credsStore, before any auths entry', async () => {
    helpers.reset();
    helpers.answer({ Username: stack.registryAuth.username, Secret: stack.registryAuth.password });
    const wrong = { auth: b64('nobody:wrong') };
    const perHost = writeConfig('helpers.json', {
      auths: { [host]: wrong },
      credHelpers: { [host]: 'freshet-answers' },
      credsStore: 'freshet-fails',
    });
    await expect(clientFor(perHost).resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest });
    const store = writeConfig('store.json', { auths: { [host]: wrong }, credsStore: 'freshet-answers' });
    await expect(clientFor(store).resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest });
    expect(helpers.asked()).toEqual([host, host]);

    const failing = writeConfig('failing.json', { credsStore: 'freshet-fails' });
    expect((await failure(clientFor(failing).resolveDigest(repository, '1.0'))).message).toContain(
      `no credentials from docker config ${failing}: docker-credential-freshet-fails (credsStore): get exited with code 1`,
    );
    // "Not found" from a store means anonymous, as in Docker; this registry then wants credentials.
    helpers.reset();
    expect((await failure(clientFor(store).resolveDigest(repository, '1.0'))).message).toMatch(
      /401 unauthorized \(the registry needs credentials/,
    );
  });

  it('a broken file is one error naming the file and the key, never the value, until it is fixed', async () => {
    const secret = 'freshet:not-base64-at-all!';
    const file = writeConfig('broken.json', { auths: { [host]: { auth: secret } } });
    const client = clientFor(file);
    const err = await failure(client.resolveDigest(repository, '1.0'));
    expect(err.message).toBe(
      `registry dockercfg: HEAD ${repository}:1.0 → no credentials from docker config ${file}: ` +
        `auths["${host}"].auth: expected base64 of user:password`,
    );
    expect(inspect(err)).not.toContain('not-base64-at-all');
    expect(
      (await failure(clientFor(join(dir, 'absent.json')).resolveDigest(repository, '1.0'))).message,
    ).toContain(`docker config ${join(dir, 'absent.json')}: cannot read it (ENOENT)`);

    writeConfig('broken.json', {
      auths: { [host]: { auth: b64(`${stack.registryAuth.username}:${stack.registryAuth.password}`) } },
    });
    await new Promise((r) => setTimeout(r, 1_100)); // the file's stat is looked at once a second
    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest });
  });
});

describe('docker config files: tokens', () => {
  let registry: TokenAuthRegistry;
  const refreshToken = `refresh-${randomBytes(16).toString('hex')}`;
  beforeAll(async () => {
    registry = await startTokenAuthRegistry({ passwords: {}, refreshTokens: { [refreshToken]: 'robot' } });
  });
  afterAll(() => registry?.remove());

  it('exchanges an identitytoken at the token realm, and sends a registrytoken as it is', async () => {
    const repo = `dockercfg-${randomBytes(3).toString('hex')}/oauth`;
    const token = await registry.pushToken(repo);
    const pushed = await pushImage({ registryUrl: registry.url, repository: repo, tag: '1', token });
    const tokenHost = new URL(registry.url).host;

    const identity = writeConfig('identity.json', {
      auths: { [tokenHost]: { identitytoken: refreshToken } },
    });
    await expect(clientFor(identity, registry.url).resolveDigest(repo, '1')).resolves.toMatchObject({
      digest: pushed.digest,
    });
    expect(registry.requests.at(-1)).toMatchObject({
      method: 'POST',
      grantType: 'refresh_token',
      user: 'robot',
    });

    const before = registry.requests.length;
    const bearer = writeConfig('bearer.json', { auths: { [tokenHost]: { registrytoken: token } } });
    await expect(clientFor(bearer, registry.url).resolveDigest(repo, '1')).resolves.toMatchObject({
      digest: pushed.digest,
    });
    expect(registry.requests.length).toBe(before);
  });
});
