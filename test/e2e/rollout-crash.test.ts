// Crash safety: the daemon process is killed with SIGKILL at several points of a rollout and a
// new one is started. The rollout finishes (or rolls back) as if nothing happened, and no
// Deployment gets a second spec change for the same step (its generation counts changes).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { workflowsPath } from '../../worker/daemon.ts';
import { approveSignal, rolloutStatusQuery } from '../../workflows/rollout-messages.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const script = fileURLToPath(new URL('../support/daemon-process.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'freshet-crash-'));
const children = new Set<ChildProcess>();
const bundlePath = join(dir, 'workflows.js');
let fx: RolloutFixture | undefined;

/** Starts the daemon in its own process and resolves once it serves. */
async function startDaemonProcess(configPath: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script, configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FRESHET_TEST_WORKFLOW_BUNDLE: bundlePath },
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready ')) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`daemon exited with ${code}: ${output.slice(-2_000)}`)));
  });
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

afterEach(async () => {
  for (const child of children) await kill(child);
  await fx?.close();
  fx = undefined;
});
beforeAll(async () => {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  writeFileSync(bundlePath, code);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rollout crash safety', () => {
  it('survives SIGKILL after the canary patch, while awaiting approval and mid-production', async () => {
    fx = await createRolloutFixture(stack, { startDaemon: false, approval: '{ timeout: 1h }' });
    const configPath = join(dir, `${fx.suffix}.json`);
    writeFileSync(configPath, JSON.stringify(fx.config));
    const before = {
      staging: await fx.generations(fx.staging),
      production: await fx.generations(fx.production),
    };
    let daemon = await startDaemonProcess(configPath);
    const rebuilt = await fx.push();
    const id = await fx.request(rebuilt);
    const f = fx;

    // 1. Right after the canary's patch, while its readiness is awaited.
    await waitFor(
      'the canary patch',
      async () => (await f.images(f.staging))['web-1'] === rebuilt.reference,
      {
        intervalMs: 50,
      },
    );
    await kill(daemon);
    daemon = await startDaemonProcess(configPath);

    // 2. While waiting for approval; the approval is sent while no worker runs.
    await waitFor(
      'the approval gate',
      async () =>
        (await f.client.workflow.getHandle(id).query(rolloutStatusQuery)).phase === 'awaiting-approval',
      { timeoutMs: 90_000 },
    );
    await kill(daemon);
    await f.client.workflow.getHandle(id).signal(approveSignal, { by: 'ops' });
    daemon = await startDaemonProcess(configPath);

    // 3. In the middle of production.
    await waitFor(
      'the first production patch',
      async () => Object.values(await f.images(f.production)).includes(rebuilt.reference),
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    await kill(daemon);
    daemon = await startDaemonProcess(configPath);

    const result = await f.result(id);
    expect(result.outcome).toBe('succeeded');
    for (const ns of [f.staging, f.production]) {
      expect(Object.values(await f.images(ns))).toEqual(f.deployments.map(() => rebuilt.reference));
      await waitFor(`${ns} available`, () => f.allComplete(ns));
    }
    const after = { staging: await f.generations(f.staging), production: await f.generations(f.production) };
    for (const d of f.deployments) {
      expect(after.staging[d], `staging/${d} patched once`).toBe((before.staging[d] ?? 0) + 1);
      expect(after.production[d], `production/${d} patched once`).toBe((before.production[d] ?? 0) + 1);
    }
  }, 300_000);

  it('finishes a rollback that a SIGKILL interrupted', async () => {
    fx = await createRolloutFixture(stack, { startDaemon: false, stagingHealth: '{ rolloutTimeout: 10s }' });
    const configPath = join(dir, `${fx.suffix}.json`);
    writeFileSync(configPath, JSON.stringify(fx.config));
    const before = await fx.generations(fx.staging);
    let daemon = await startDaemonProcess(configPath);
    const broken = await fx.push({ broken: true });
    const id = await fx.request(broken);
    const f = fx;
    await waitFor(
      'the rollback to begin',
      async () => (await f.client.workflow.getHandle(id).query(rolloutStatusQuery)).phase === 'rolling-back',
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    await kill(daemon);
    daemon = await startDaemonProcess(configPath);
    const result = await f.result(id);
    expect(result.outcome).toBe('rolled_back');
    expect(Object.values(await f.images(f.staging))).toEqual(f.deployments.map(() => f.baseline.reference));
    await waitFor('staging available', () => f.allComplete(f.staging));
    // The canary changed twice (update, rollback) and nothing else changed at all.
    const after = await f.generations(f.staging);
    expect(after['web-1']).toBe((before['web-1'] ?? 0) + 2);
    expect(after['web-2']).toBe(before['web-2']);
    expect(after['web-3']).toBe(before['web-3']);
  }, 300_000);
});
