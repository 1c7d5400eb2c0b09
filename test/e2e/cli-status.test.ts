// `freshet status` tells the truth with or without a worker: a rollout waiting for approval is
// listed from visibility (search attributes) once the daemon is gone, with its phase and stage
// and a line saying its details could not be queried; with the daemon up, the status query adds
// what it waits for. The CLI runs as a real child process against the stack.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { startTestDaemon } from '../support/daemon.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const cli = fileURLToPath(new URL('../../worker/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'freshet-cli-status-'));
let fx: RolloutFixture;
let daemon: Daemon | undefined;
let configPath: string;

const noWorker = /^no worker (answered within 2s|polls the task queue); is the daemon running\?$/;

type StatusEntry = Record<string, unknown> & { rolloutId: string; phase?: string; queried: boolean };

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, ...fx.env, FRESHET_CONFIG: configPath } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr, ms: Date.now() - started }),
    );
  });
}

async function statusJson(): Promise<StatusEntry[]> {
  const out = await run(['status', '--json']);
  expect(out.stderr).toBe('');
  return JSON.parse(out.stdout) as StatusEntry[];
}

describe('freshet status reads rollouts from visibility', () => {
  beforeAll(async () => {
    fx = await createRolloutFixture(stack, {
      startDaemon: false,
      approval: '{ timeout: 1h, approvers: [alice] }',
    });
    configPath = join(dir, 'freshet.yaml');
    writeFileSync(configPath, fx.yaml);
    daemon = await startTestDaemon(fx.config);
  });
  afterAll(async () => {
    await daemon?.close();
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists a rollout waiting for approval with the worker up, then without it', async () => {
    const id = await fx.request(await fx.push());

    // With the worker up, the status query gives the details.
    const waiting = await waitFor(
      'status to show the approval',
      async () => (await statusJson()).find((r) => r.rolloutId === id && r.phase === 'awaiting-approval'),
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect(waiting).toMatchObject({
      rolloutId: id,
      queried: true,
      pipeline: fx.pipeline,
      image: fx.image,
      stage: 'production',
      approval: { stage: 'production', approvers: ['alice'] },
    });
    expect(waiting).not.toHaveProperty('queryError');
    const up = await run(['status']);
    expect(up.stdout).toMatch(
      new RegExp(`${id}\\s+${fx.pipeline}\\s+${fx.image}:1\\.0@\\S+\\s+awaiting-approval`),
    );
    expect(up.stdout).toContain('approval by alice until');
    expect(up.stdout).toContain('1 running, 1 awaiting approval');
    expect(up.stdout).not.toContain('Could not query');

    // No worker polls the task queue any more.
    await daemon?.close();
    daemon = undefined;

    const down = await run(['status', '--json']);
    expect(down.code).toBe(0);
    const listed = (JSON.parse(down.stdout) as StatusEntry[]).find((r) => r.rolloutId === id);
    expect(listed).toEqual({
      rolloutId: id,
      pipeline: fx.pipeline,
      image: fx.image,
      digest: expect.stringMatching(/^sha256:[a-f0-9]{64}$/),
      phase: 'awaiting-approval',
      stage: 'production',
      startedAt: expect.any(String),
      summary: expect.stringContaining(`${fx.repository}:1.0 @`),
      queried: false,
      // The server says so at once when it knows no worker polls, else the 2 s deadline does.
      queryError: expect.stringMatching(noWorker),
    });
    expect(id).toContain(`-${String(listed?.digest).slice(7)}@`);

    const text = await run(['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toContain('No rollouts are running');
    expect(text.stdout).toMatch(
      new RegExp(`${id}\\s+${fx.pipeline}\\s+${fx.image}@\\S+\\s+awaiting-approval\\s+production`),
    );
    expect(text.stdout).toContain('1 running, 1 awaiting approval');
    // A second run may meet the other of the two answers: the server learns only after a while
    // that no worker polls any more, and until then the query runs into its deadline.
    expect(text.stdout).toMatch(
      new RegExp(
        `\\((${noWorker.source.slice(1, -1)})\\); phase and stage are from visibility: ${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ),
    );
    expect(text.stdout).toMatch(/^Could not query the details of 1 rollout \(no worker/m);
    // The query's deadline bounds how long an operator waits (generous: the CLI's own start
    // takes seconds on a loaded machine).
    expect(text.ms).toBeLessThan(60_000);
  }, 300_000);
});
