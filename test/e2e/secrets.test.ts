// Secrets never reach workflow histories, logs or metrics. One random marker is the password of
// a registry of the test's own (htpasswd), the header and Basic auth of two HTTP checks and the
// bearer token of a Prometheus check. `freshet start` runs as a real child process; a rebuild
// rolls out, then a rebuild whose check fails is rolled back. Then every history of the task
// queue is searched (raw, and every base64 field decoded, recursively), with the daemon's logs
// and /metrics: the marker is nowhere. The endpoints refuse requests without the credentials,
// so the passing checks prove the credentials were sent.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { binaries } from '../../stack/layout.ts';
import { rolloutWorkflowId } from '../../workflows/rollout-messages.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { searchHistories } from '../support/history-search.ts';
import { startTestRegistry, type TestRegistry } from '../support/registry-process.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const cli = fileURLToPath(new URL('../../worker/cli/main.ts', import.meta.url));
const marker = `mk${randomBytes(16).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'freshet-secrets-'));
/** Every form the marker could take in a history: itself, and inside the Basic credentials. */
const needles = [
  marker,
  Buffer.from(`ops:${marker}`).toString('base64'),
  Buffer.from(`freshet:${marker}`).toString('base64'),
];

/** What the test's endpoints saw: requests with the credentials, and without. */
const seen = { header: 0, basic: 0, bearer: 0, refused: 0 };
let healthy = true;
let registry: TestRegistry;
let health: Server;
let prometheusFront: Server;
let fx: RolloutFixture;
let daemon: ChildProcess;
let logs = '';
let url = '';

const basicOf = (req: IncomingMessage) => req.headers.authorization?.replace(/^Basic /, '');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('secrets never reach histories, logs or metrics', () => {
  beforeAll(async () => {
    const htpasswd = join(dir, 'htpasswd');
    writeFileSync(
      htpasswd,
      execFileSync(binaries().htpasswd, ['-nbB', 'freshet', marker], { encoding: 'utf8' }),
    );
    registry = await startTestRegistry({ htpasswd });

    health = createServer((req, res) => {
      const path = req.url ?? '';
      const authorized =
        (path === '/healthz-header' && req.headers['x-health-token'] === marker) ||
        (path === '/healthz-basic' && basicOf(req) === Buffer.from(`ops:${marker}`).toString('base64'));
      if (!authorized) {
        seen.refused++;
        return res.writeHead(401).end('who are you?');
      }
      if (path === '/healthz-header') seen.header++;
      else seen.basic++;
      res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'down');
    });
    const healthUrl = await listen(health);

    // The stack's Prometheus behind a front that wants a bearer token, as a hosted one would.
    const upstream = new URL(stack.prometheus.url);
    prometheusFront = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${marker}`) {
        seen.refused++;
        return res.writeHead(401).end('{"status":"error","error":"unauthorized"}');
      }
      seen.bearer++;
      const forwarded = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    });
    const prometheusUrl = await listen(prometheusFront);

    const tokenFile = join(dir, 'health-token');
    const registryPasswordFile = join(dir, 'registry-password');
    writeFileSync(tokenFile, `${marker}\n`);
    writeFileSync(registryPasswordFile, `${marker}\n`);
    fx = await createRolloutFixture(stack, {
      startDaemon: false,
      interval: '1s',
      registry: {
        url: registry.url,
        auth: `{ type: basic, username: freshet, passwordFile: "${registryPasswordFile}" }`,
        push: { username: 'freshet', password: marker },
      },
      stagingHealth: `{ rolloutTimeout: 60s, soak: 2s, checks: [
        { name: header-auth, http: { url: "${healthUrl}/healthz-header", bodyMatch: "^ok$", headers: { X-Health-Token: { valueFile: "${tokenFile}" } } } },
        { name: basic-auth, http: { url: "${healthUrl}/healthz-basic", basicAuth: { username: ops, passwordEnv: FRESHET_TEST_HEALTH_PASSWORD } } },
        { name: prometheus-auth, prometheus: { url: "${prometheusUrl}", query: "vector(0)", max: 0.01, interval: 1s, bearer: { tokenEnv: FRESHET_TEST_PROMETHEUS_TOKEN } } } ] }`.replace(
        /\s*\n\s*/g,
        ' ',
      ),
    });
    const configPath = join(dir, 'freshet.yaml');
    writeFileSync(configPath, fx.yaml);
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
        env: {
          ...process.env,
          ...fx.env,
          FRESHET_TEST_HEALTH_PASSWORD: marker,
          FRESHET_TEST_PROMETHEUS_TOKEN: marker,
        },
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
    // The watch reads the baseline through the registry's auth: the first use of a secret.
    const watch = fx.client.workflow.getHandle(watchWorkflowId(`reg-${fx.suffix}`));
    await waitFor('the watch to record the baseline digest', async () => {
      const st = await watch.query(watchStatusQuery).catch(() => undefined);
      return st?.images[0]?.state.latest?.digest === fx.baseline.digest;
    });
  });

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
    await fx?.close();
    await registry?.remove();
    await new Promise((resolve) => health?.close(resolve));
    await new Promise((resolve) => prometheusFront?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('rolls out with the credentials sent, rolls back, and no history, log line or metric holds the secret', async () => {
    const good = await fx.push();
    const first = await fx.result(rolloutWorkflowId(fx.pipeline, fx.image, good.digest));
    expect(first.outcome, first.reason).toBe('succeeded');
    expect(seen.header).toBeGreaterThan(0);
    expect(seen.basic).toBeGreaterThan(0);
    expect(seen.bearer).toBeGreaterThan(0);

    healthy = false;
    const bad = await fx.push();
    const second = await fx.result(rolloutWorkflowId(fx.pipeline, fx.image, bad.digest));
    expect(second.outcome).toBe('rolled_back');
    expect(second.reason).toMatch(/check "header-auth" failed .* → 503, expected 200/);
    expect(Object.values(await fx.images(fx.staging))).toEqual(fx.deployments.map(() => good.reference));

    // Without the credentials, every endpoint refuses: the checks passed because they were sent.
    const refusedBefore = seen.refused;
    const address = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${address(health)}/healthz-header`)).status).toBe(401);
    expect((await fetch(`${address(health)}/healthz-basic`)).status).toBe(401);
    expect((await fetch(`${address(prometheusFront)}/api/v1/query?query=vector(0)`)).status).toBe(401);
    expect((await fetch(`${registry.url}/v2/`)).status).toBe(401);
    expect(seen.refused).toBe(refusedBefore + 3);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('freshet_rollouts_total');

    // Once both rollouts are visible as closed, every history of the task queue is complete.
    const search = await waitFor('both rollouts closed in visibility', async () => {
      const found = await searchHistories(fx.client, fx.config.temporal.taskQueue, needles);
      const closed = found.workflows.filter((w) => w.includes('rolloutWorkflow') && !w.includes('RUNNING'));
      return closed.length >= 2 ? found : undefined;
    });
    expect(search.workflows.some((w) => w.includes('watchWorkflow'))).toBe(true);
    expect(search.workflows.some((w) => w.includes('pipelineWorkflow'))).toBe(true);
    expect(search.events).toBeGreaterThan(100);
    expect(search.decoded).toBeGreaterThan(100);
    expect(search.hits).toEqual([]);

    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon.once('exit', resolve));
    expect(logs).toContain('freshet daemon started');
    for (const needle of needles) {
      expect(logs.includes(needle), `the daemon's log holds ${needle}`).toBe(false);
      expect(metrics.includes(needle), `/metrics holds ${needle}`).toBe(false);
    }
  });
});
