// `npm run demo` is the README's first command: it must do its job on the stack, with and
// without a broken build. Runs the demo script as a child process, approving by itself.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../../stack/demo.ts', import.meta.url));

function runDemo(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [demo, ...args], { timeout: 240_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

describe('npm run demo', () => {
  it('rolls a rebuild through staging and, once approved, production', async () => {
    const { code, output } = await runDemo(['--approve', '--exit']);
    expect(output).toContain('detected after');
    expect(output).toContain('Production waits for your approval');
    expect(output).toMatch(/check "app health": passing/);
    expect(output).toContain('rollout succeeded: 2 stages succeeded; 6 workloads updated');
    expect(output).toContain('6 targets, 0 not on the newest build');
    expect(code).toBe(0);
  }, 300_000);

  it('--broken shows the automatic rollback', async () => {
    const { code, output } = await runDemo(['--broken', '--exit']);
    expect(output).toMatch(
      /rollout rolled_back: stage staging: staging\/\w+ not ready after 30s: .*ImagePullBackOff/,
    );
    expect(output).not.toContain('Production waits for your approval');
    expect(output).toContain('6 targets, 6 not on the newest build');
    expect(code).toBe(0);
  }, 300_000);
});
