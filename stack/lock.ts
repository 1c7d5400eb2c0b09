// One `up` or `down` at a time per run directory: several test runs share one stack, and two
// that both find a component missing must not both start it on the same port.
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError } from './process.ts';

const waitMs = 10 * 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // released meanwhile
  }
}

export async function withRunDirLock<T>(runDir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(runDir, { recursive: true });
  const file = join(runDir, 'stack.lock');
  // The lock appears with its holder's pid already in it (a hard link is created whole), so a
  // waiter never reads a lock without its owner.
  const mine = `${file}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  const deadline = Date.now() + waitMs;
  try {
    for (;;) {
      try {
        linkSync(mine, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = holderOf(file);
      if (holder !== undefined && !alive(holder)) {
        // its holder died in the middle of an `up`: the lock is stale
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new StackError(`${file} is held by pid ${holder} for over ${waitMs / 60_000} minutes`);
      }
      await sleep(250);
    }
  } finally {
    rmSync(mine, { force: true });
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
