// Starting, watching and stopping the stack's processes. Every process is started detached in
// its own process group, recorded by PID, and stopped by that PID only.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Started {
  name: string;
  pid: number;
  bin: string;
  log: string;
}

export class StackError extends Error {
  override name = 'StackError';
}

export interface StartOptions {
  cwd?: string;
  /**
   * The program the process runs once `bin` has exec'd it (setpriv running PostgreSQL): recorded
   * as the process's binary, so the PID checks see what really runs.
   */
  execs?: string;
}

export function startProcess(
  name: string,
  bin: string,
  args: string[],
  log: string,
  env: NodeJS.ProcessEnv = {},
  opts: StartOptions = {},
): Started {
  if (!existsSync(bin)) {
    throw new StackError(`${name}: ${bin} is missing; run "bash stack/install.sh" first`);
  }
  const fd = openSync(log, 'a');
  try {
    const child = spawn(bin, args, {
      detached: true,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
    if (child.pid === undefined) throw new StackError(`${name}: could not start ${bin}`);
    child.unref();
    return { name, pid: child.pid, bin: opts.execs ?? bin, log };
  } finally {
    closeSync(fd);
  }
}

/** True when pid is alive and still runs `bin` (guards against a recycled PID). */
export function isRunning(pid: number, bin: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.split('\0')[0] !== bin) return false;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/**
 * Waits until a process started with `execs` runs that program: until then its PID runs the
 * launcher (setpriv), which isRunning would take for a different process.
 */
export async function awaitExec(p: Started, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0] === p.bin) return;
    } catch {
      break;
    }
    await sleep(20);
  }
  if (!isRunning(p.pid, p.bin)) {
    throw new StackError(`${p.name} did not start ${p.bin}. Last lines of ${p.log}:\n${logTail(p.log)}`);
  }
}

/** SIGTERM, then SIGKILL after graceMs. Only the process group this stack started is signalled. */
export async function stopProcess(p: Started, graceMs = 10_000): Promise<void> {
  if (!isRunning(p.pid, p.bin)) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-p.pid, sig);
    } catch {
      try {
        process.kill(p.pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(p.pid, p.bin)) return;
    await sleep(100);
  }
  signal('SIGKILL');
  for (let i = 0; i < 50 && isRunning(p.pid, p.bin); i++) await sleep(100);
}

export function logTail(log: string, lines = 25): string {
  try {
    const text = readFileSync(log, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

/** Fails fast when something else already listens on a port the stack needs. */
export async function assertPortFree(port: number, owner: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${err.code})`;
      reject(
        new StackError(
          `port ${port} for ${owner} ${why} on 127.0.0.1. Stop whatever listens there ` +
            `(ss -ltnp 'sport = :${port}'), or shift every stack port with FRESHET_STACK_PORT_OFFSET=10000.`,
        ),
      );
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/**
 * Polls `probe` until it returns true. Fails with the log tail when the process exits or the
 * timeout passes, so a broken component never hangs the caller.
 */
export async function waitReady(
  p: Started,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what = 'become ready',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (!isRunning(p.pid, p.bin)) {
      throw new StackError(
        `${p.name} exited before it could ${what}. Last lines of ${p.log}:\n${logTail(p.log)}`,
      );
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(200);
  }
  throw new StackError(
    `${p.name} did not ${what} within ${Math.round(timeoutMs / 1000)} s` +
      `${lastError ? ` (last probe error: ${lastError})` : ''}. Last lines of ${p.log}:\n${logTail(p.log)}`,
  );
}

/** GET with a short timeout; returns the status code, or throws on connection errors. */
export async function httpStatus(url: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.status;
}
