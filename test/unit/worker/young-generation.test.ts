// `freshet start` re-executes itself with a small young generation: same pid, same arguments,
// and not when the operator chose a semi-space size. Real processes, no server.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { semiSpaceChosen } from '../../../worker/cli/young-generation.ts';

const dir = mkdtempSync(join(tmpdir(), 'freshet-young-gen-'));
const module = fileURLToPath(new URL('../../../worker/cli/young-generation.ts', import.meta.url));
const script = join(dir, 'probe.ts');
writeFileSync(
  script,
  `import { execWithSmallYoungGeneration } from ${JSON.stringify(module)};\n` +
    'execWithSmallYoungGeneration();\n' +
    'console.log(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, args: process.argv.slice(2) }));\n',
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runProbe(env: NodeJS.ProcessEnv) {
  return new Promise<{ spawnedPid: number; seen: { pid: number; execArgv: string[]; args: string[] } }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [script, 'start', '-c', 'a b.yaml'], {
        env: { ...process.env, ...env },
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.once('error', reject);
      child.once('exit', () => resolve({ spawnedPid: child.pid ?? 0, seen: JSON.parse(out) }));
    },
  );
}

describe('execWithSmallYoungGeneration', () => {
  it('re-executes with --max-semi-space-size=2, keeping the pid and every argument', async () => {
    const { spawnedPid, seen } = await runProbe({ NODE_OPTIONS: '' });
    expect(seen.pid).toBe(spawnedPid);
    expect(seen.execArgv).toContain('--max-semi-space-size=2');
    expect(seen.args).toEqual(['start', '-c', 'a b.yaml']);
  });

  it("keeps the operator's choice from NODE_OPTIONS", async () => {
    const { seen } = await runProbe({ NODE_OPTIONS: '--max-semi-space-size=16' });
    expect(seen.execArgv).not.toContain('--max-semi-space-size=2');
  });

  it('sees the flag on the command line or in NODE_OPTIONS, in either spelling', () => {
    expect(semiSpaceChosen(['--max-semi-space-size=8'], undefined)).toBe(true);
    expect(semiSpaceChosen(['--max-semi-space-size', '8'], undefined)).toBe(true);
    expect(semiSpaceChosen([], '--enable-source-maps --max-semi-space-size=4')).toBe(true);
    expect(semiSpaceChosen(['--max-old-space-size=512'], '--enable-source-maps')).toBe(false);
  });
});
