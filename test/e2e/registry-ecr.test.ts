// ECR credentials against moto, the AWS API emulator, through the real AWS SDK: moto issues the
// token, a Distribution registry accepts exactly that token (htpasswd), and a forwarding front
// on moto counts the GetAuthorizationToken calls. moto answers the same token on every call, with
// an expiry long past; an injected clock placed 12 hours before that expiry gives the token the
// life ECR gives it, so the refresh point and the expiry are moto's own. The SDK's credential
// chain is exercised as deployed: keys in the environment, and IRSA's web identity via moto's STS.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RegistryClient } from '../../activities/registry/client.ts';
import { ecrCredentialSource } from '../../activities/registry/credentials/ecr.ts';
import { type EcrTestRegistry, startEcrTestRegistry } from '../support/ecr-registry.ts';
import { type PushedImage, pushImage } from '../support/image-pusher.ts';
import { motoCredentialsEnv, motoUrl, testAccountId } from '../support/moto.ts';
import { type RegistryProxy, startRegistryProxy } from '../support/registry-proxy.ts';

const stack = inject('stack');
const region = 'us-east-1';
const registryId = testAccountId();
const repository = `ecr-${randomBytes(3).toString('hex')}/web`;
const hour = 3_600_000;
let ecr: EcrTestRegistry;
let awsApi: RegistryProxy;
let pushed: PushedImage;

/** GetAuthorizationToken calls that reached moto through the front since the test run began. */
const tokenCalls = () =>
  awsApi.requests.filter((r) => String(r.headers['x-amz-target']).endsWith('.GetAuthorizationToken')).length;
/** STS calls (the web identity exchange), told apart by the SDK's user agent. */
const stsCalls = () =>
  awsApi.requests.filter((r) => String(r.headers['user-agent']).includes('api/sts')).length;
/** Nothing from this machine's ~/.aws or an instance profile may stand in for the credentials a test gives. */
const noMachineCredentials = {
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
  AWS_CONFIG_FILE: '/nonexistent/config',
  AWS_EC2_METADATA_DISABLED: 'true',
};
/** Requests the registry answered, as "HEAD 200". */
const registryLog = () => ecr.registry.requests().map((r) => `${r.method} ${r.status}`);

function clientWith(source: ReturnType<typeof ecrCredentialSource>) {
  return new RegistryClient({ name: 'ecr', url: ecr.registry.url, auth: { type: 'source', source } });
}

/** Runs `fn` with these variables set (undefined: unset), as the AWS SDK reads them, then restores them. */
async function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    await fn();
  } finally {
    apply(saved);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('ECR credentials on moto', () => {
  beforeAll(async () => {
    const url = motoUrl(stack);
    Object.assign(process.env, motoCredentialsEnv);
    ecr = await startEcrTestRegistry({ motoUrl: url, region, registryId });
    pushed = await pushImage({
      registryUrl: ecr.registry.url,
      repository,
      tag: '1.0',
      auth: { username: ecr.token.username, password: ecr.token.password },
    });
    awsApi = await startRegistryProxy(url);
  });
  afterAll(async () => {
    await awsApi?.close();
    await ecr?.remove();
  });

  it('shares one GetAuthorizationToken among concurrent requests, keeps the token until its refresh time, then asks again', async () => {
    const clock = { now: ecr.token.expiresAt.getTime() - 12 * hour };
    const source = ecrCredentialSource({
      region,
      registryId,
      endpoint: awsApi.url,
      timeoutMs: 5_000,
      now: () => clock.now,
    });
    const client = clientWith(source);
    const calls = tokenCalls();
    const logged = registryLog().length;

    const digests = await Promise.all(
      Array.from({ length: 5 }, () => client.resolveDigest(repository, '1.0')),
    );
    expect(digests.map((d) => d.digest)).toEqual(Array(5).fill(pushed.digest));
    expect(tokenCalls() - calls).toBe(1);

    clock.now += 10 * hour;
    await client.resolveDigest(repository, '1.0');
    expect(tokenCalls() - calls).toBe(1);

    // Past 90 % of the token's 12 hours: renewed before the request that needs it.
    clock.now += hour;
    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest: pushed.digest });
    expect(tokenCalls() - calls).toBe(2);
    expect(registryLog().slice(logged)).toEqual(Array(7).fill('HEAD 200'));
  });

  it('keeps a still valid token through an ECR outage, and never sends an expired one', async () => {
    const clock = { now: ecr.token.expiresAt.getTime() - 12 * hour };
    const endpoint = awsApi.url;
    const source = ecrCredentialSource({
      region,
      registryId,
      endpoint,
      timeoutMs: 5_000,
      now: () => clock.now,
    });
    const client = clientWith(source);
    await client.resolveDigest(repository, '1.0');
    try {
      awsApi.setMode('garbage');
      const calls = tokenCalls();
      clock.now += 11 * hour;
      await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest: pushed.digest });
      expect(tokenCalls()).toBeGreaterThan(calls);

      const logged = registryLog().length;
      clock.now = ecr.token.expiresAt.getTime() + 60_000;
      const err = await client.resolveDigest(repository, '1.0').catch((e: unknown) => e);
      expect(err).toMatchObject({
        retryable: true,
        message: `registry ecr: HEAD ${repository}:1.0 → no credentials from ECR (region ${region}, registry ${registryId}, endpoint ${endpoint}): GetAuthorizationToken failed: the ECR API endpoint did not answer HTTP (HPE_INVALID_CONSTANT): Parse Error: Expected HTTP/, RTSP/ or ICE/`,
      });
      expect(registryLog().slice(logged)).toEqual([]);
    } finally {
      awsApi.setMode('forward');
    }
    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest: pushed.digest });
  });

  it('asks ECR once for a new token when the registry refuses the cached one, and says so without the token', async () => {
    const source = ecrCredentialSource({ region, registryId, endpoint: awsApi.url, timeoutMs: 5_000 });
    const client = clientWith(source);
    await client.resolveDigest(repository, '1.0');
    const calls = tokenCalls();
    const logged = registryLog().length;
    try {
      // As ECR refuses a token once it is revoked; moto's next token is the same, so it is refused too.
      ecr.acceptOnly(`revoked-${randomBytes(8).toString('hex')}`);
      const err = await client.resolveDigest(repository, '1.0').catch((e: unknown) => e);
      expect(String(err)).toContain(`registry ecr: HEAD ${repository}:1.0 → 401 unauthorized`);
      expect(tokenCalls() - calls).toBe(1);
      expect(registryLog().slice(logged)).toEqual(['HEAD 401', 'HEAD 401']);
      const basic = Buffer.from(`${ecr.token.username}:${ecr.token.password}`).toString('base64');
      expect(inspect(err)).not.toContain(ecr.token.password);
      expect(inspect(err)).not.toContain(basic);
    } finally {
      ecr.acceptOnly(ecr.token.password);
    }
    // The renewed token is the one kept: accepted again, with no further call.
    await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest: pushed.digest });
    expect(tokenCalls() - calls).toBe(1);
  });

  it('reaches ECR through AWS_ENDPOINT_URL_ECR when the config names no endpoint', async () => {
    await withEnv({ AWS_ENDPOINT_URL_ECR: awsApi.url }, async () => {
      const calls = tokenCalls();
      const client = clientWith(ecrCredentialSource({ region, registryId, timeoutMs: 5_000 }));
      await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest: pushed.digest });
      expect(tokenCalls() - calls).toBe(1);
    });
  });

  it('takes its AWS credentials from a web identity token (IRSA), exchanged at STS, when no keys are set', async () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'freshet-irsa-')), 'token');
    // The projected ServiceAccount token EKS mounts; moto's STS takes any JWT-shaped one.
    writeFileSync(
      tokenFile,
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZnJlc2hldCJ9.c2ln',
    );
    const irsa = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ROLE_ARN: `arn:aws:iam::${registryId}:role/freshet-ecr-read`,
      AWS_ENDPOINT_URL_STS: awsApi.url,
      ...noMachineCredentials,
    };
    await withEnv(irsa, async () => {
      const sts = stsCalls();
      const calls = tokenCalls();
      const client = clientWith(
        ecrCredentialSource({ region, registryId, endpoint: awsApi.url, timeoutMs: 5_000 }),
      );
      await expect(client.resolveDigest(repository, '1.0')).resolves.toMatchObject({ digest: pushed.digest });
      expect(stsCalls() - sts).toBe(1);
      expect(tokenCalls() - calls).toBe(1);
    });
    rmSync(dirname(tokenFile), { recursive: true, force: true });
  });

  it('reports an unreachable ECR endpoint with region, registry and the network error, and sends nothing to the registry', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const client = clientWith(ecrCredentialSource({ region, registryId, endpoint, timeoutMs: 5_000 }));
    const logged = registryLog().length;
    await expect(client.resolveDigest(repository, '1.0')).rejects.toMatchObject({
      retryable: true,
      message: expect.stringMatching(
        new RegExp(
          `→ no credentials from ECR \\(region ${region}, registry ${registryId}, endpoint ${endpoint}\\): GetAuthorizationToken failed: cannot reach the ECR API \\(ECONNREFUSED\\)`,
        ),
      ),
    });
    expect(registryLog().slice(logged)).toEqual([]);
  });

  it('reports missing AWS credentials as the SDK names them, with where it looked', async () => {
    const none = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, ...noMachineCredentials };
    await withEnv(none, async () => {
      const client = clientWith(
        ecrCredentialSource({ region, registryId, endpoint: awsApi.url, timeoutMs: 5_000 }),
      );
      await expect(client.resolveDigest(repository, '1.0')).rejects.toMatchObject({
        message: expect.stringContaining(
          `no credentials from ECR (region ${region}, registry ${registryId}, endpoint ${awsApi.url}): GetAuthorizationToken failed: CredentialsProviderError: Could not load credentials from any providers (the AWS SDK found no credentials`,
        ),
      });
    });
  });
});
