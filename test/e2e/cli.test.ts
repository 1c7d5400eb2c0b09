// The `freshet` command line against the stack: `freshet start` as a real child process runs a
// rollout that `freshet status` shows and `freshet approve` promotes; `freshet freshness` sees
// the result; SIGTERM stops the daemon with exit 0 and leaves no activity running.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TargetFreshness } from '../../worker/freshness.ts';
import {
  type RolloutStatus,
  rolloutStatusQuery,
  rolloutWorkflowId,
} from '../../workflows/rollout-messages.ts';
import { sampleValue } from '../support/metrics.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const cli = fileURLToPath(new URL('../../worker/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'freshet-cli-'));
const secret = `s3cr3t-${Date.now()}`;
let fx: RolloutFixture;
let configPath: string;
let daemon: ChildProcess;
let logs = '';
let url = '';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, ...fx.env, FRESHET_CONFIG: configPath } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('freshet CLI', () => {
  beforeAll(async () => {
    fx = await createRolloutFixture(stack, {
      startDaemon: false,
      interval: '1s',
      approval: '{ timeout: 1h, approvers: [alice] }',
    });
    configPath = join(dir, 'freshet.yaml');
    // A webhook token the daemon reads from the environment: it must never show up in its logs.
    writeFileSync(
      configPath,
      fx.yaml.replace(
        'registries: [ { name: reg-',
        'registries: [ { webhook: { source: distribution, tokenEnv: CLI_WEBHOOK_TOKEN }, name: reg-',
      ),
    );
    // Bundled ahead of time, as the container image does.
    const bundle = join(dir, 'workflows.bundle.js');
    const bundled = await run(['bundle-workflows', bundle]);
    expect(bundled.code).toBe(0);
    expect(bundled.stdout).toContain(`wrote ${bundle}`);
    daemon = spawn(
      process.execPath,
      [cli, 'start', '--listen', '127.0.0.1:0', '--grace', '10s', '--json-logs', '--workflow-bundle', bundle],
      {
        env: { ...process.env, ...fx.env, FRESHET_CONFIG: configPath, CLI_WEBHOOK_TOKEN: secret },
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
      timeoutMs: 60_000,
    });
  });
  afterAll(async () => {
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers --help and refuses wrong usage with exit 2', async () => {
    const help = await run(['approve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: freshet approve ROLLOUT --by NAME');
    const missing = await run(['approve', 'x']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('say who decides: --by NAME');
    const unknown = await run(['launch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "launch"');
  });

  it('serves health, readiness and metrics (its own and the SDK’s)', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      checks: { temporal: 'ok', 'cluster local': 'ok' },
    });
    const metrics = await waitFor('SDK metrics in /metrics', async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return text.includes('temporal_') ? text : undefined;
    });
    expect(metrics).toContain('freshet_registry_requests_total');
  });

  it('runs a rollout that status shows and approve promotes; freshness sees it', async () => {
    const rebuilt = await fx.push();
    const id = rolloutWorkflowId(fx.pipeline, fx.image, rebuilt.digest, fx.config.temporal.instance);
    const waiting = await waitFor(
      'status to show the approval',
      async () => {
        const out = await run(['status', '--json']);
        const list = JSON.parse(out.stdout) as RolloutStatus[];
        return list.find((r) => r.rolloutId === id && r.phase === 'awaiting-approval');
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
    expect(waiting.approval?.approvers).toEqual(['alice']);
    const table = await run(['status']);
    expect(table.stdout).toMatch(/ROLLOUT\s+PIPELINE\s+IMAGE\s+PHASE/);
    expect(table.stdout).toContain('1 running, 1 awaiting approval');

    // Any unique part of the id will do.
    const short = rebuilt.digest.slice(7, 19);
    const refused = await run(['approve', short, '--by', 'bob']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused: "bob" may not decide on stage production (approvers: alice)');
    const approved = await run(['approve', short, '--by', 'alice', '--comment', 'from the CLI']);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('approved stage production by alice');

    const result = await fx.result(id);
    expect(result.outcome).toBe('succeeded');
    const freshness = await waitFor('freshness to see the new digest everywhere', async () => {
      const out = await run(['freshness', '--json']);
      const targets = JSON.parse(out.stdout) as TargetFreshness[];
      return targets.length === 6 && targets.every((t) => t.upToDate) ? targets : undefined;
    });
    expect(freshness.map((t) => t.runningDigest)).toEqual(freshness.map(() => rebuilt.digest));
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(sampleValue(text, 'freshet_rollouts_total', { pipeline: fx.pipeline, outcome: 'succeeded' })).toBe(
      1,
    );
  }, 300_000);

  it('validate-config names the path and line of each problem', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'images:\n  - { name: web, registry: nowhere, repository: a/b, track: { tag: "1" }, interval: 5 minutes }\n',
    );
    const out = await run(['validate-config', bad]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('images[0].registry (line 2): no registry named "nowhere"');
    expect(out.stderr).toContain('images[0].interval (line 2): expected a duration such as 30s, 5m or 24h');
    const good = await run(['validate-config', configPath]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('OK (1 registries, 1 clusters, 1 images, 1 pipelines)');
  });

  it('rollout starts a manual rollout of a given digest, once', async () => {
    const build = await fx.push();
    const first = await run(['rollout', fx.image, '--digest', build.digest]);
    expect(first.code).toBe(0);
    const id = rolloutWorkflowId(fx.pipeline, fx.image, build.digest, fx.config.temporal.instance);
    expect(first.stdout).toContain(`requested ${id}`);
    const again = await run(['rollout', fx.image, '--digest', build.digest]);
    expect(again.code).toBe(0);
    const handle = fx.client.workflow.getHandle(id);
    await waitFor('the manual rollout', () => handle.describe().catch(() => undefined), {
      timeoutMs: 60_000,
    });
    const status = await waitFor('its status', () => handle.query(rolloutStatusQuery).catch(() => undefined));
    expect(status.digest).toBe(build.digest);
    await handle.terminate('test over');
    const unknown = await run(['rollout', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`no image named "nope" (images: ${fx.image})`);
  }, 240_000);

  it('stops on SIGTERM with exit 0, leaving no activity running, and never logged the secret', async () => {
    const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
    const started = Date.now();
    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(logs).toContain('"msg":"stopped"');
    expect(logs).not.toContain(secret);
    const query = `ExecutionStatus = 'Running' AND TaskQueue = '${fx.env.TASK_QUEUE}'`;
    for await (const wf of fx.client.workflow.list({ query })) {
      const described = await fx.client.workflow.getHandle(wf.workflowId).describe();
      const running = (described.raw.pendingActivities ?? []).filter((a) => String(a.state) !== '1');
      expect(running, `${wf.workflowId} has a started activity`).toEqual([]);
    }
  });
});
