import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { withRunDirLock } from '../../../stack/lock.ts';

describe('stack run-directory lock', () => {
  const dirs: string[] = [];
  const runDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'freshet-lock-test-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('runs two holders one after the other, never together', async () => {
    const dir = runDir();
    const events: string[] = [];
    const hold = (name: string) =>
      withRunDirLock(dir, async () => {
        events.push(`${name} in`);
        await sleep(100);
        events.push(`${name} out`);
      });
    await Promise.all([hold('a'), hold('b')]);
    expect([
      ['a in', 'a out', 'b in', 'b out'],
      ['b in', 'b out', 'a in', 'a out'],
    ]).toContainEqual(events);
    expect(existsSync(join(dir, 'stack.lock'))).toBe(false);
  });

  it('takes over a lock whose holder died', async () => {
    const dir = runDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    writeFileSync(join(dir, 'stack.lock'), dead);
    await expect(withRunDirLock(dir, async () => 'ran')).resolves.toBe('ran');
  });

  it('releases the lock when the holder throws', async () => {
    const dir = runDir();
    await expect(
      withRunDirLock(dir, async () => {
        throw new Error('component failed');
      }),
    ).rejects.toThrow('component failed');
    await expect(withRunDirLock(dir, async () => 'next')).resolves.toBe('next');
  });
});
