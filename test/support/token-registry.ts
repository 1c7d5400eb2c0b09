// Real registries in token-auth mode (Distribution, and zot), with token endpoints of the
// test's own, as auth.docker.io or ghcr.io/token are for their registries. The registries (the
// stack's binaries) issue the challenges and verify every token against a certificate made
// here; the token endpoints sign JWTs with its key. Several registries may share one issuer,
// each naming the realm a test wants in its challenges (another port, another host name).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, type KeyObject, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaries } from '../../stack/layout.ts';
import { waitFor } from './wait.ts';

export interface TokenIssuer {
  service: string;
  user: { username: string; password: string };
  /** An identity token (OAuth2 refresh token) of the user, for `POST grant_type=refresh_token`. */
  refreshToken: string;
  /** Where the certificate, key and registries' data live; removed by `remove`. */
  dir: string;
  mint(
    subject: string,
    access: { type: string; name: string; actions: string[] }[],
    expiresIn: number,
  ): string;
  remove(): void;
}

/** How a token request identified itself. */
export type TokenCredentials = 'valid' | 'wrong' | 'none';

export interface TokenRequest {
  path: string;
  scope: string[];
  credentials: TokenCredentials;
  /** Set for the OAuth2 POST an identity token is exchanged with. */
  grant?: string;
}

export interface TokenServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** `expires_in` of the tokens handed out from now on. */
  expiresIn: number;
  /** When set, the tokens themselves expire after this many seconds, whatever `expires_in` says. */
  tokenLifetime?: number;
  requests: TokenRequest[];
  /** Where `/moved` redirects to (`/token` with the same query is appended). */
  redirectTo?: string;
  close(): Promise<void>;
}

export interface TokenRegistry {
  url: string;
  host: string;
  stop(): Promise<void>;
}

const issuerName = 'freshet-test-issuer';

/**
 * Repositories whose first component starts with `public-` may be pulled anonymously, as public
 * images on Docker Hub may: an anonymous token request gets pull access to them and an empty
 * grant for anything else, which the registry then refuses.
 */
export const isPublicRepository = (name: string) => name.startsWith('public-');

export function createTokenIssuer(): TokenIssuer {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-token-auth-'));
  execFileSync(
    binaries().openssl,
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
      ...['-subj', '/CN=freshet-test-token-issuer'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ],
    { stdio: 'ignore' },
  );
  const key: KeyObject = createPrivateKey(readFileSync(join(dir, 'key.pem')));
  const certDer = Buffer.from(
    readFileSync(join(dir, 'cert.pem'), 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''),
    'base64',
  ).toString('base64');
  const service = 'freshet-test-registry';
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return {
    service,
    user: { username: 'freshet', password: `pw-${randomBytes(12).toString('hex')}` },
    refreshToken: `refresh-${randomBytes(12).toString('hex')}`,
    dir,
    mint(subject, access, expiresIn) {
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: issuerName,
        sub: subject,
        aud: service,
        exp: now + expiresIn,
        nbf: now - 1,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      };
      const unsigned = `${encode({ typ: 'JWT', alg: 'RS256', x5c: [certDer] })}.${encode(claims)}`;
      return `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startTokenServer(issuer: TokenIssuer): Promise<TokenServer> {
  const expected = `Basic ${Buffer.from(`${issuer.user.username}:${issuer.user.password}`).toString('base64')}`;
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://token');
    let scope = url.searchParams.getAll('scope');
    const header = req.headers.authorization;
    let credentials: TokenCredentials =
      header === undefined ? 'none' : header === expected ? 'valid' : 'wrong';
    let grant: string | undefined;
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      grant = form.get('grant_type') ?? '';
      const refresh = form.get('refresh_token');
      credentials = refresh === null ? 'none' : refresh === issuer.refreshToken ? 'valid' : 'wrong';
      scope = (form.get('scope') ?? '').split(' ').filter(Boolean);
      url.searchParams.set('service', form.get('service') ?? '');
    }
    tokens.requests.push({
      path: url.pathname,
      scope,
      credentials,
      ...(grant !== undefined ? { grant } : {}),
    });
    if (url.pathname === '/moved' && tokens.redirectTo) {
      res.writeHead(307, { location: `${tokens.redirectTo}/token${url.search}` });
      return res.end();
    }
    if (url.pathname === '/login') {
      // What a misconfigured realm often is: a web page.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end('<!doctype html><html><body><form>Sign in</form></body></html>');
    }
    if (
      url.pathname !== '/token' ||
      credentials === 'wrong' ||
      url.searchParams.get('service') !== issuer.service
    ) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
    }
    const access = scope.flatMap((s) => {
      const [type = '', name = '', actions = ''] = s.split(':');
      if (credentials === 'none' && !isPublicRepository(name)) return [];
      const allowed = actions.split(',').filter((a) => credentials === 'valid' || a === 'pull');
      return [{ type, name, actions: allowed }];
    });
    const subject = credentials === 'valid' ? issuer.user.username : '';
    const token = issuer.mint(subject, access, tokens.tokenLifetime ?? tokens.expiresIn);
    res.writeHead(200, { 'content-type': 'application/json' });
    // The OAuth2 answer names it access_token (the token spec's OAuth2 part).
    const key = grant === undefined ? 'token' : 'access_token';
    res.end(
      JSON.stringify({ [key]: token, expires_in: tokens.expiresIn, issued_at: new Date().toISOString() }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const tokens: TokenServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    expiresIn: 300,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return tokens;
}

/**
 * A token-auth registry whose challenges name `realm`. The registries of one issuer share their
 * storage, so an image pushed through one can be read through any other.
 */
export async function startTokenRegistry(
  issuer: TokenIssuer,
  opts: { realm: string },
): Promise<TokenRegistry> {
  const port = await freePort();
  const name = `registry-${port}`;
  // JSON is YAML: the registry reads it as its config file.
  const config = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(issuer.dir, 'data') }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
    auth: {
      token: {
        realm: opts.realm,
        service: issuer.service,
        issuer: issuerName,
        rootcertbundle: join(issuer.dir, 'cert.pem'),
      },
    },
  };
  const file = join(issuer.dir, `${name}.yml`);
  writeFileSync(file, JSON.stringify(config));
  return serve(
    spawn(binaries().registry, ['serve', file], { stdio: 'ignore' }),
    port,
    'the token-auth registry',
  );
}

/** A zot whose challenges name `realm`; zot checks a token's signature, expiry and access claims. */
export async function startTokenZot(issuer: TokenIssuer, opts: { realm: string }): Promise<TokenRegistry> {
  const port = await freePort();
  const config = {
    distSpecVersion: '1.1.0-dev',
    storage: { rootDirectory: join(issuer.dir, `zot-${port}`), gc: false, dedupe: false },
    http: {
      address: '127.0.0.1',
      port: String(port),
      auth: { bearer: { realm: opts.realm, service: issuer.service, cert: join(issuer.dir, 'cert.pem') } },
    },
    log: { level: 'warn' },
  };
  const file = join(issuer.dir, `zot-${port}.json`);
  writeFileSync(file, JSON.stringify(config));
  return serve(spawn(binaries().zot, ['serve', file], { stdio: 'ignore' }), port, 'the token-auth zot');
}

async function serve(child: ChildProcess, port: number, what: string): Promise<TokenRegistry> {
  const url = `http://127.0.0.1:${port}`;
  await waitFor(what, async () => (await fetch(`${url}/v2/`)).status === 401, { timeoutMs: 15_000 });
  return {
    url,
    host: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
