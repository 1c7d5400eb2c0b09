// The Bearer token flow against real registries in token-auth mode, Distribution and zot. The
// stack's registries use anonymous and htpasswd auth, so this test starts its own docker-registry
// (the stack's binary) whose `auth.token` trusts a certificate made here, a zot (the stack's
// binary) whose `auth.bearer` trusts the same, and a token endpoint that signs JWTs with it, as
// auth.docker.io or ghcr.io/token would. The registries themselves issue the challenges and
// check every token; nothing of it is simulated.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../activities/registry/client.ts';
import { ociManifest } from '../../activities/registry/media-types.ts';
import type { RegistryRequestEvent } from '../../activities/registry/transport.ts';
import { binaries } from '../../stack/layout.ts';
import { waitFor } from '../support/wait.ts';

const service = 'freshet-test-registry';
const issuer = 'freshet-test-issuer';
const user = { username: 'freshet', password: `pw-${randomBytes(12).toString('hex')}` };

let dir: string;
let registry: ChildProcess | undefined;
let zot: ChildProcess | undefined;
let tokenServer: Server | undefined;
const registryUrls = { Distribution: '', zot: '' };
let tokenPort: number;
let tokenExpiresIn = 300;
const tokenRequests: Array<{ scope: string[]; authorized: boolean }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-bearer-'));
  execFileSync(
    binaries().openssl,
    [
      ...[
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=freshet-test-token-issuer',
      ],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ],
    { stdio: 'ignore' },
  );
  const key = createPrivateKey(readFileSync(join(dir, 'key.pem')));
  const certDer = Buffer.from(
    readFileSync(join(dir, 'cert.pem'), 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''),
    'base64',
  ).toString('base64');

  tokenServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const scope = url.searchParams.getAll('scope');
    const expected = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    const authorized = req.headers.authorization === expected;
    tokenRequests.push({ scope, authorized });
    if (!authorized || url.searchParams.get('service') !== service) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scope.map((s) => {
      const [type, name, actions] = s.split(':');
      return { type, name, actions: actions?.split(',') ?? [] };
    });
    const claims = {
      iss: issuer,
      sub: user.username,
      aud: service,
      exp: now + tokenExpiresIn,
      nbf: now - 1,
      iat: now,
    };
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${encode({ typ: 'JWT', alg: 'RS256', x5c: [certDer] })}.${encode({ ...claims, jti: randomBytes(8).toString('hex'), access })}`;
    const token = `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: tokenExpiresIn, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => tokenServer?.listen(0, '127.0.0.1', resolve));
  tokenPort = (tokenServer.address() as AddressInfo).port;

  const port = await freePort();
  const registryUrl = `http://127.0.0.1:${port}`;
  registryUrls.Distribution = registryUrl;
  // JSON is YAML: the registry reads it as its config file.
  const config = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') } },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
    auth: {
      token: {
        realm: `http://127.0.0.1:${tokenPort}/token`,
        service,
        issuer,
        rootcertbundle: join(dir, 'cert.pem'),
      },
    },
  };
  writeFileSync(join(dir, 'config.yml'), JSON.stringify(config));
  registry = spawn(binaries().registry, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  await waitFor('the token-auth registry', async () => (await fetch(`${registryUrl}/v2/`)).status === 401, {
    timeoutMs: 15_000,
  });

  // zot checks a token's signature, expiry and `access` claims; it names no issuer or audience.
  const zotPort = await freePort();
  registryUrls.zot = `http://127.0.0.1:${zotPort}`;
  const zotConfig = {
    distSpecVersion: '1.1.0-dev',
    storage: { rootDirectory: join(dir, 'zot-data'), gc: false, dedupe: false },
    http: {
      address: '127.0.0.1',
      port: String(zotPort),
      auth: {
        bearer: { realm: `http://127.0.0.1:${tokenPort}/token`, service, cert: join(dir, 'cert.pem') },
      },
    },
    log: { level: 'warn' },
  };
  writeFileSync(join(dir, 'zot.json'), JSON.stringify(zotConfig));
  zot = spawn(binaries().zot, ['serve', join(dir, 'zot.json')], { stdio: 'ignore' });
  await waitFor('the token-auth zot', async () => (await fetch(`${registryUrls.zot}/v2/`)).status === 401, {
    timeoutMs: 15_000,
  });
});

afterAll(async () => {
  registry?.kill();
  zot?.kill();
  await new Promise((resolve) => (tokenServer ? tokenServer.close(resolve) : resolve(undefined)));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function bearerClientOf(registryUrl: string, password = user.password) {
  const events: RegistryRequestEvent[] = [];
  const client = new RegistryClient({
    name: 'hub',
    url: registryUrl,
    auth: { type: 'basic', username: user.username, password },
    onRequest: (e) => events.push(e),
  });
  return { client, events };
}

const summary = (events: RegistryRequestEvent[]) => events.map((e) => `${e.method} ${e.endpoint} ${e.code}`);

describe.each(['Distribution', 'zot'] as const)('Bearer token flow on %s', (name) => {
  const bearerClient = (password?: string) => bearerClientOf(registryUrls[name], password);
  const pushWithToken = (repository: string, tag: string) =>
    pushWithTokenTo(registryUrls[name], repository, tag);
  // zot ignores If-None-Match: an idle check is a 200 with the same digest rather than a 304.
  const idleHead = name === 'zot' ? 'HEAD manifest 200' : 'HEAD manifest 304';

  it('answers the challenge with a token, then checks with one HEAD while the token lives', async () => {
    const repository = `bearer-${randomBytes(3).toString('hex')}/web`;
    const digest = await pushWithToken(repository, '1.4');
    const { client, events } = bearerClient();

    await expect(client.resolveDigest(repository, '1.4')).resolves.toEqual({
      digest,
      mediaType: ociManifest,
      notModified: false,
    });
    expect(summary(events)).toEqual(['HEAD manifest 401', 'GET token 200', 'HEAD manifest 200']);
    expect(tokenRequests.at(-1)).toEqual({ scope: [`repository:${repository}:pull`], authorized: true });

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
    const repository = `bearer-${randomBytes(3).toString('hex')}/short`;
    const digest = await pushWithToken(repository, '1');
    tokenExpiresIn = 2; // cached for 1 s: half the lifetime is the margin for short tokens
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
      tokenExpiresIn = 300;
    }
  });

  it('fetches one token for checks that meet the challenge at once, and reuses it', async () => {
    const repository = `bearer-${randomBytes(3).toString('hex')}/many`;
    const tags = ['a', 'b', 'c', 'd'];
    for (const tag of tags) await pushWithToken(repository, tag);
    const { client, events } = bearerClient();
    const before = tokenRequests.length;

    await Promise.all(tags.map((tag) => client.resolveDigest(repository, tag)));
    expect(tokenRequests.length).toBe(before + 1);
    expect(summary(events).sort()).toEqual(
      ['GET token 200', ...Array(4).fill('HEAD manifest 200'), ...Array(4).fill('HEAD manifest 401')].sort(),
    );

    events.length = 0;
    await Promise.all(tags.map((tag) => client.resolveDigest(repository, tag)));
    expect(tokenRequests.length).toBe(before + 1);
    expect(summary(events)).toEqual(Array(4).fill('HEAD manifest 200'));
  });

  it('asks for a separate token for another repository', async () => {
    const first = `bearer-${randomBytes(3).toString('hex')}/one`;
    const second = `bearer-${randomBytes(3).toString('hex')}/two`;
    await pushWithToken(first, '1');
    await pushWithToken(second, '1');
    const { client } = bearerClient();
    const before = tokenRequests.length;
    await client.resolveDigest(first, '1');
    await client.resolveDigest(second, '1');
    expect(tokenRequests.slice(before).map((r) => r.scope)).toEqual([
      [`repository:${first}:pull`],
      [`repository:${second}:pull`],
    ]);
  });

  it('reports wrong credentials at the token endpoint clearly, without the password', async () => {
    const password = `wrong-${randomBytes(8).toString('hex')}`;
    const { client, events } = bearerClient(password);
    const err = await client.resolveDigest('acme/web', '1.4').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RegistryError', status: 401, retryable: false });
    expect((err as Error).message).toBe(
      "registry hub: GET token for repository:acme/web:pull → 401 unauthorized (check the registry's credentials); registry says UNAUTHORIZED: bad credentials",
    );
    expect(summary(events)).toEqual(['HEAD manifest 401', 'GET token 401']);
    const everything = [
      String(err),
      inspect(err, { depth: 5 }),
      JSON.stringify(err),
      (err as Error).stack ?? '',
    ].join('\n');
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(Buffer.from(`${user.username}:${password}`).toString('base64'));
  });
});

/** Pushes a minimal OCI image with a push token minted by the test's token endpoint. */
async function pushWithTokenTo(registryUrl: string, repository: string, tag: string): Promise<string> {
  const auth = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  const realm = new URL(`http://127.0.0.1:${tokenPort}/token`);
  realm.searchParams.set('service', service);
  realm.searchParams.set('scope', `repository:${repository}:pull,push`);
  const { token } = (await (await fetch(realm, { headers: { authorization: auth } })).json()) as {
    token: string;
  };
  const headers = { authorization: `Bearer ${token}` };
  const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: new Date().toISOString(),
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const layer = randomBytes(32);
  for (const blob of [config, layer]) {
    const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
    await start.body?.cancel();
    const upload = new URL(start.headers.get('location') ?? '', registryUrl);
    upload.searchParams.set('digest', sha256(blob));
    const put = await fetch(upload, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: blob,
    });
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifest,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
    }),
  );
  const res = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': ociManifest },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`manifest push: HTTP ${res.status} ${await res.text()}`);
  return sha256(manifest);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
