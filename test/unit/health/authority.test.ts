// The health activity runs only the checks the daemon's config has, with the credentials that
// config names, resolved in the activity: a spec from a workflow input cannot point Freshet (or
// the credentials it holds) anywhere else. A real node:http server stands in for the endpoint.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSpecsFromConfig, createHealthActivities } from '../../../activities/health/index.ts';
import type { CheckSpec } from '../../../activities/health/types.ts';
import { parseConfig } from '../../../config/load.ts';
import { configWithCheck } from './config-with-check.ts';

let server: Server;
let base: string;
const seen: IncomingHttpHeaders[] = [];
const dir = mkdtempSync(join(tmpdir(), 'freshet-health-auth-'));
const tokenFile = join(dir, 'token');

beforeAll(async () => {
  writeFileSync(tokenFile, 'file-t0ken\n');
  server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '0'] } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await new Promise((resolve) => server.close(resolve));
});

function setUp(env: NodeJS.ProcessEnv = { HEALTH_PASSWORD: 'env-pa55' }) {
  const config = parseConfig(
    configWithCheck(
      `{ name: app-up, http: { url: "${base}/healthz", basicAuth: { username: ops, passwordEnv: HEALTH_PASSWORD }, headers: { X-Api-Token: { valueFile: "${tokenFile}" } } } }`,
      `{ name: errors, prometheus: { url: "${base}", query: "sum(errors)", max: 1 } }`,
    ),
    't',
    { env: {} },
  );
  const stage = config.pipelines.web?.stages[0];
  const specs = checkSpecsFromConfig(stage?.health.checks ?? [], { pipeline: 'web', stage: 'staging' });
  return { activities: createHealthActivities({ config, env }), specs };
}

async function refusal(run: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('health checks: the config is the authority', () => {
  it('runs a configured check with the credentials the config names, resolved in the activity', async () => {
    const { activities, specs } = setUp();
    seen.length = 0;
    const outcome = await activities.runHealthCheck(specs[0] as CheckSpec);
    expect(outcome).toMatchObject({ name: 'app-up', ok: true, detail: `GET ${base}/healthz → 200` });
    expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('ops:env-pa55').toString('base64')}`);
    expect(seen[0]?.['x-api-token']).toBe('file-t0ken');
    // The spec, which is what lands in the workflow history, holds names and a URL only.
    expect(JSON.stringify(specs)).not.toMatch(/env-pa55|file-t0ken|HEALTH_PASSWORD/);
  });

  it('refuses a URL the config does not have, without sending a request', async () => {
    const { activities } = setUp();
    seen.length = 0;
    const err = await refusal(
      activities.runHealthCheck({
        kind: 'http',
        http: { name: 'app-up', url: `${base}/admin?token=abc`, expectStatus: 200, timeoutMs: 1_000 },
        source: { pipeline: 'web', stage: 'staging' },
      }),
    );
    expect(err.type).toBe('CheckNotInConfig');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe(
      `check "app-up" (pipeline web, stage staging): GET ${base}/admin is not a check in this Freshet's config; ` +
        'the configured check of that name asks for something else (the config changed since the rollout was requested?). ' +
        'Only checks under pipelines.<name>.stages[].health.checks run',
    );
    expect(seen).toEqual([]);
  });

  it('refuses another query to a configured Prometheus', async () => {
    const { activities } = setUp();
    const err = await refusal(
      activities.runHealthCheck({
        kind: 'prometheus',
        prometheus: { name: 'errors', url: base, query: 'secret_metric', max: 1 },
        source: { pipeline: 'web', stage: 'staging' },
      }),
    );
    expect(err).toMatchObject({ type: 'CheckNotInConfig', nonRetryable: true });
  });

  it('refuses a check of another pipeline or a URL carrying credentials, never quoting them', async () => {
    const { activities } = setUp();
    const err = await refusal(
      activities.runHealthCheck({
        kind: 'http',
        http: {
          name: 'x',
          url: 'http://ops:hunter2@elsewhere:8080/healthz',
          expectStatus: 200,
          timeoutMs: 1_000,
        },
        source: { pipeline: 'other', stage: 'prod' },
      }),
    );
    expect(err.message).toBe(
      `check "x" (pipeline other, stage prod): GET http://elsewhere:8080/healthz is not a check in this Freshet's config. ` +
        'Only checks under pipelines.<name>.stages[].health.checks run',
    );
  });

  it('runs a check of a rollout requested before specs named their source, by its URL', async () => {
    const { activities, specs } = setUp();
    const { source: _source, ...withoutSource } = specs[1] as CheckSpec;
    expect(await activities.runHealthCheck(withoutSource as CheckSpec)).toMatchObject({
      name: 'errors',
      ok: true,
    });
  });

  it('fails the check, without retrying, when a credential does not resolve', async () => {
    const { activities, specs } = setUp({});
    const err = await refusal(activities.runHealthCheck(specs[0] as CheckSpec));
    expect(err).toMatchObject({
      type: 'CheckCredentialsUnavailable',
      nonRetryable: true,
      message:
        'check "app-up" (pipeline web, stage staging): basicAuth password: environment variable HEALTH_PASSWORD is not set',
    });
  });
});
