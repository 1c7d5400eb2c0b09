// A component that cannot start makes `stack:up` fail fast with a clear message, not hang.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../stack/cli.ts', import.meta.url));

describe('stack:up errors', () => {
  it('names the component and the port when a port is already taken', async () => {
    const offset = 30000;
    const taken = 2379 + offset; // etcd's port under that offset
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(taken, '127.0.0.1', resolve));
    const runDir = mkdtempSync(join(tmpdir(), 'freshet-stack-test-'));
    try {
      const started = Date.now();
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [cli, 'up'],
          {
            env: { ...process.env, FRESHET_STACK_PORT_OFFSET: String(offset), FRESHET_STACK_RUN_DIR: runDir },
          },
          (err, _stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        );
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${taken} for etcd is already in use`);
      expect(result.stderr).toContain('FRESHET_STACK_PORT_OFFSET');
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      blocker.close();
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});
