// A Distribution registry in token-auth mode, as Docker Hub or GHCR run it: the stack's registry
// binary checks every token against a certificate made here, and the token endpoint beside it
// signs JWTs with that certificate's key. The endpoint grants what the distribution token spec
// grants: GET with HTTP Basic, and the OAuth2 POST with grant_type=refresh_token that Docker
// sends for an identity token. Every request to it is recorded.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaries } from '../../stack/layout.ts';
import { waitFor } from './wait.ts';

export interface TokenRequest {
  method: string;
  grantType: string | undefined;
  scope: string[];
  /** The user the request proved to be, if any. */
  user: string | undefined;
}

export interface TokenAuthRegistry {
  url: string;
  requests: TokenRequest[];
  /** A push-and-pull token for a repository, for test setup. */
  pushToken(repository: string): Promise<string>;
  remove(): Promise<void>;
}

const service = 'freshet-test-token-registry';
const issuer = 'freshet-test-token-issuer';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

export async function startTokenAuthRegistry(opts: {
  /** user → password, for GET with HTTP Basic. */
  passwords: Record<string, string>;
  /** refresh token → user, for the OAuth2 POST. */
  refreshTokens: Record<string, string>;
}): Promise<TokenAuthRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-token-registry-'));
  execFileSync(
    binaries().openssl,
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${issuer}`],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ],
    { stdio: 'ignore' },
  );
  const key = createPrivateKey(readFileSync(join(dir, 'key.pem')));
  const certDer = Buffer.from(
    readFileSync(join(dir, 'cert.pem'), 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''),
    'base64',
  ).toString('base64');

  const requests: TokenRequest[] = [];
  const issue = (user: string, scopes: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((s) => {
      const [type, name, actions] = s.split(':');
      return { type, name, actions: actions?.split(',') ?? [] };
    });
    const claims = { iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 1, iat: now, access };
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${encode({ typ: 'JWT', alg: 'RS256', x5c: [certDer] })}.${encode({ ...claims, jti: randomBytes(8).toString('hex') })}`;
    return `${unsigned}.${sign('sha256', Buffer.from(unsigned), key).toString('base64url')}`;
  };

  const tokenServer: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    let user: string | undefined;
    let scope: string[];
    let grantType: string | undefined;
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      grantType = form.get('grant_type') ?? undefined;
      scope = (form.get('scope') ?? '').split(' ').filter(Boolean);
      const refreshToken = form.get('refresh_token') ?? '';
      if (
        grantType === 'refresh_token' &&
        form.get('service') === service &&
        Object.hasOwn(opts.refreshTokens, refreshToken)
      )
        user = opts.refreshTokens[refreshToken];
    } else {
      scope = url.searchParams.getAll('scope');
      const [name, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':');
      if (name && Object.hasOwn(opts.passwords, name) && opts.passwords[name] === password) user = name;
    }
    requests.push({ method: req.method ?? '', grantType, scope, user });
    if (!user) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
    }
    const token = issue(user, scope);
    res.writeHead(200, { 'content-type': 'application/json' });
    // The OAuth2 answer names it access_token, the GET answer token.
    res.end(
      JSON.stringify(
        req.method === 'POST' ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 },
      ),
    );
  });
  await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
  const realm = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // JSON is YAML: the registry reads it as its config file.
  const config = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') } },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
    auth: { token: { realm, service, issuer, rootcertbundle: join(dir, 'cert.pem') } },
  };
  writeFileSync(join(dir, 'config.yml'), JSON.stringify(config));
  const registry: ChildProcess = spawn(binaries().registry, ['serve', join(dir, 'config.yml')], {
    stdio: 'ignore',
  });
  await waitFor('the token-auth registry', async () => (await fetch(`${url}/v2/`)).status === 401, {
    timeoutMs: 15_000,
  });

  return {
    url,
    requests,
    async pushToken(repository) {
      return issue('test-setup', [`repository:${repository}:pull,push`]);
    },
    async remove() {
      const exited = new Promise((resolve) => registry.once('exit', resolve));
      registry.kill();
      await exited;
      await new Promise((resolve) => tokenServer.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
