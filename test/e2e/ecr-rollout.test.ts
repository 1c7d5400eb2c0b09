// A rebuild on an ECR registry rolls out, with Freshet's credentials from moto's
// GetAuthorizationToken: `freshet start` runs as a child process with AWS credentials in its
// environment and AWS_ENDPOINT_URL_ECR pointing the SDK at moto (through a front that counts the
// calls), as a user points it at a VPC endpoint. The registry (htpasswd) accepts only moto's
// token. A second registry's ECR endpoint answers garbage: its image gets one clear error in the
// watch status while the watch keeps running, and it recovers when the endpoint does.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rolloutWorkflowId } from '../../workflows/rollout-messages.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { type EcrTestRegistry, startEcrTestRegistry } from '../support/ecr-registry.ts';
import { searchHistories } from '../support/history-search.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { motoCredentialsEnv, motoUrl, testAccountId } from '../support/moto.ts';
import { type RegistryProxy, startRegistryProxy } from '../support/registry-proxy.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const cli = fileURLToPath(new URL('../../worker/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'freshet-ecr-rollout-'));
const region = 'us-east-1';
const registryId = testAccountId();
let ecr: EcrTestRegistry;
/** The ECR API as the daemon's SDK reaches it through AWS_ENDPOINT_URL_ECR. */
let awsApi: RegistryProxy;
/** The ECR API named by the second registry's `endpoint`, made to answer garbage. */
let brokenApi: RegistryProxy;
let fx: RolloutFixture;
let daemon: ChildProcess;
let logs = '';
let url = '';
let down = '';

const tokenCalls = (proxy: RegistryProxy) =>
  proxy.requests.filter((r) => String(r.headers['x-amz-target']).endsWith('.GetAuthorizationToken')).length;

function watchOf(group: string) {
  return fx.client.workflow.getHandle(watchWorkflowId(fx.config.temporal.instance, group));
}

describe('ECR on moto: a rebuild rolls out', () => {
  beforeAll(async () => {
    const moto = motoUrl(stack);
    ecr = await startEcrTestRegistry({ motoUrl: moto, region, registryId });
    awsApi = await startRegistryProxy(moto);
    brokenApi = await startRegistryProxy(moto);
    brokenApi.setMode('garbage');
    const ecrAuth = `{ type: ecr, region: ${region}, registryId: "${registryId}" }`;
    fx = await createRolloutFixture(stack, {
      startDaemon: false,
      interval: '1s',
      registry: {
        url: ecr.registry.url,
        auth: ecrAuth,
        push: { username: ecr.token.username, password: ecr.token.password },
      },
    });
    down = `down-${fx.suffix}`;
    const yaml = fx.yaml
      .replace(
        'registries: [ ',
        `registries: [ { name: ${down}, url: "${ecr.registry.url}", auth: { type: ecr, region: ${region}, registryId: "${registryId}", endpoint: "${brokenApi.url}" } }, `,
      )
      .replace(
        'images:\n',
        `images:\n  - { name: ${down}, registry: ${down}, repository: ${fx.repository}, track: { tag: "1.0" }, interval: 1s }\n`,
      );
    const configPath = join(dir, 'freshet.yaml');
    writeFileSync(configPath, yaml);
    daemon = spawn(
      process.execPath,
      [
        cli,
        'start',
        '--config',
        configPath,
        '--listen',
        '127.0.0.1:0',
        '--json-logs',
        '--log-level',
        'debug',
      ],
      {
        env: { ...process.env, ...fx.env, ...motoCredentialsEnv, AWS_ENDPOINT_URL_ECR: awsApi.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    daemon.stdout?.on('data', (c: Buffer) => {
      logs += c.toString();
    });
    daemon.stderr?.on('data', (c: Buffer) => {
      logs += c.toString();
    });
    url = await waitFor('freshet start to be ready', async () => /"url":"(http:[^"]+)"/.exec(logs)?.[1], {
      timeoutMs: 90_000,
    });
    await waitFor('the watch to read the baseline digest through ECR credentials', async () => {
      const st = await watchOf(`reg-${fx.suffix}`)
        .query(watchStatusQuery)
        .catch(() => undefined);
      return st?.images[0]?.state.latest?.digest === fx.baseline.digest;
    });
  });

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
    await fx?.close();
    await awsApi?.close();
    await brokenApi?.close();
    await ecr?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('detects the rebuild and rolls it out with one GetAuthorizationToken, and the token is in no log, metric or history', async () => {
    const rebuilt = await fx.push();
    const result = await fx.result(
      rolloutWorkflowId(fx.pipeline, fx.image, rebuilt.digest, fx.config.temporal.instance),
    );
    expect(result.outcome, result.reason).toBe('succeeded');
    expect(Object.values(await fx.images(fx.staging))).toEqual(fx.deployments.map(() => rebuilt.reference));
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => rebuilt.reference),
    );
    // The registry takes nothing but moto's token, and one token served the whole rollout.
    expect((await fetch(`${ecr.registry.url}/v2/`)).status).toBe(401);
    expect(tokenCalls(awsApi)).toBe(1);
    expect(
      ecr.registry.requests().filter((r) => r.method === 'HEAD' && r.status === 200).length,
    ).toBeGreaterThan(1);

    const needles = [ecr.token.password, Buffer.from(`AWS:${ecr.token.password}`).toString('base64')];
    const metrics = await scrape(url);
    const search = await waitFor('the rollout closed in visibility', async () => {
      const found = await searchHistories(fx.client, fx.config.temporal.taskQueue, needles);
      return found.workflows.some((w) => w.includes('rolloutWorkflow') && !w.includes('RUNNING'))
        ? found
        : undefined;
    });
    expect(search.hits).toEqual([]);
    for (const needle of needles) {
      expect(logs.includes(needle), `the daemon's log holds ${needle}`).toBe(false);
      expect(metrics.includes(needle), `/metrics holds ${needle}`).toBe(false);
    }
  });

  it('gives an image whose ECR endpoint is broken one clear error, keeps watching, and recovers', async () => {
    const watch = watchOf(down);
    const expected = `registry ${down}: HEAD ${fx.repository}:1.0 → no credentials from ECR (region ${region}, registry ${registryId}, endpoint ${brokenApi.url}): GetAuthorizationToken failed: the ECR API endpoint did not answer HTTP (HPE_INVALID_CONSTANT): Parse Error: Expected HTTP/, RTSP/ or ICE/`;
    const failing = await waitFor('the check through the broken endpoint to fail', async () => {
      const st = await watch.query(watchStatusQuery);
      return st.images[0]?.state.lastError ? st : undefined;
    });
    expect(failing.images.map((i) => i.state.lastError)).toEqual([expected]);
    // Only the broken endpoint was asked: the SDK's environment endpoint gives way to the config's.
    expect(tokenCalls(brokenApi)).toBeGreaterThan(0);
    await waitFor(
      'two more check cycles',
      async () => (await watch.query(watchStatusQuery)).cycles >= failing.cycles + 2,
    );
    expect((await watch.describe()).status.name).toBe('RUNNING');
    expect(sampleValue(await scrape(url), 'freshet_watch_errors_total', { registry: down })).toBeGreaterThan(
      0,
    );

    brokenApi.setMode('forward');
    const recovered = await waitFor('the check to succeed once the endpoint answers', async () => {
      const st = await watch.query(watchStatusQuery);
      const image = st.images[0]?.state;
      return image?.latest && image.lastError === undefined ? image : undefined;
    });
    expect(recovered.latest?.digest).toMatch(/^sha256:/);
  });
});
