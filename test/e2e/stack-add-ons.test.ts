// A stack that runs since before a component existed gains it on `up`, without a restart of
// what runs: here a "stack" of one real registry, recorded in a run directory of the test's own
// with the shared stack's other endpoints (the kubelet-images it gains watches that cluster's
// pods for a few seconds, beside the shared one, writing the same imageIDs).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { registryConfig } from '../../stack/configs.ts';
import { addOnNames, binaries, type StoredState } from '../../stack/layout.ts';
import {
  httpStatus,
  isRunning,
  type Started,
  startProcess,
  stopProcess,
  waitReady,
} from '../../stack/process.ts';

const cli = fileURLToPath(new URL('../../stack/cli.ts', import.meta.url));
const stack = inject('stack');
// Far from the shared stack's ports and from stack-errors.test.ts's offset.
const offset = 31000;

const runDir = mkdtempSync(join(tmpdir(), 'freshet-stack-test-'));
const dataDir = mkdtempSync(join(tmpdir(), 'freshet-stack-'));
let registry: Started;

function up(command: 'up' | 'down') {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [cli, command],
      { env: { ...process.env, FRESHET_STACK_PORT_OFFSET: String(offset), FRESHET_STACK_RUN_DIR: runDir } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const state = () => JSON.parse(readFileSync(join(runDir, 'stack.json'), 'utf8')) as StoredState;

describe('stack up on a running stack', () => {
  beforeAll(async () => {
    mkdirSync(join(dataDir, 'logs'));
    mkdirSync(join(dataDir, 'registry'));
    // The port this offset's own registry would bind: never one of the add-ons' ports, which a
    // port picked at random (36000 + pid % 900 did) may be: moto's is 36100.
    const port = 5000 + offset;
    const config = join(dataDir, 'registry', 'config.yml');
    writeFileSync(config, registryConfig({ port, storage: join(dataDir, 'registry') }));
    registry = startProcess(
      'registry',
      binaries().registry,
      ['serve', config],
      join(dataDir, 'logs', 'registry.log'),
    );
    await waitReady(registry, async () => (await httpStatus(`http://127.0.0.1:${port}/v2/`)) === 200, 10_000);
    // What an `up` of a version without add-ons wrote: every other endpoint, none of the add-ons.
    const endpoints: Record<string, unknown> = { ...stack };
    for (const name of addOnNames) delete endpoints[name];
    const recorded = {
      version: 1,
      startedAt: new Date().toISOString(),
      dataDir,
      processes: [registry],
      endpoints,
    };
    writeFileSync(join(runDir, 'stack.json'), JSON.stringify(recorded));
  });
  afterAll(async () => {
    const leftover = (() => {
      try {
        return state().processes;
      } catch {
        return [registry];
      }
    })();
    for (const proc of leftover) await stopProcess(proc, 5_000);
    rmSync(runDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts only the add-ons its state lacks, records them, and reuses the stack after that', async () => {
    const first = await up('up');
    expect(first.stderr).toContain(`already running: added ${[...addOnNames, 'kubelet-images'].join(', ')}`);
    expect(first.code).toBe(0);
    const after = state();
    expect(after.processes.map((p) => p.name)).toEqual(['registry', ...addOnNames, 'kubelet-images']);
    expect(after.processes[0]?.pid).toBe(registry.pid);
    expect(isRunning(registry.pid, registry.bin)).toBe(true);

    const motoUrl = `http://127.0.0.1:${5100 + offset}`;
    expect(after.endpoints.moto).toEqual({ url: motoUrl });
    expect(await httpStatus(`${motoUrl}/moto-api/data.json`)).toBe(200);
    expect(first.stdout).toContain(`AWS API (moto)    ${motoUrl}`);
    expect(readFileSync(join(runDir, 'stack.env'), 'utf8')).toContain(`FRESHET_STACK_MOTO_URL=${motoUrl}\n`);

    const zotUrl = `http://127.0.0.1:${5002 + offset}`;
    expect(after.endpoints.zot).toMatchObject({ url: zotUrl, username: 'freshet' });
    const basic = `Basic ${Buffer.from(`freshet:${after.endpoints.zot?.password}`).toString('base64')}`;
    expect(await httpStatus(`${zotUrl}/v2/`, { headers: { authorization: basic } })).toBe(200);
    expect(after.processes.find((p) => p.name === 'zot')?.log.startsWith(dataDir)).toBe(true);

    const receiverUrl = `http://127.0.0.1:${5003 + offset}`;
    expect(after.endpoints.notifyReceiver).toMatchObject({ url: receiverUrl });
    expect(await httpStatus(`${receiverUrl}/healthz`)).toBe(200);
    expect(readFileSync(join(runDir, 'stack.env'), 'utf8')).toContain(
      `FRESHET_STACK_NOTIFY_RECEIVER_URL=${receiverUrl}\n`,
    );

    const second = await up('up');
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('already running: reused');
    expect(state().processes).toEqual(after.processes);
  });

  it('stops the added components with the rest on `down`, by PID', async () => {
    const recorded = state().processes;
    const down = await up('down');
    expect(down.code).toBe(0);
    for (const proc of recorded) {
      expect(isRunning(proc.pid, proc.bin), proc.name).toBe(false);
      expect(down.stderr).toContain(`stopped ${proc.name} (pid ${proc.pid})`);
    }
  });
});
