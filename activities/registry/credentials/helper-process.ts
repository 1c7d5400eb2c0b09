// Runs one credential-helper command: argv only (no shell), input on stdin, output bounded, and a
// deadline after which the helper's whole process group is killed, so a helper that forked and
// hangs leaves nothing behind.
import { spawn } from 'node:child_process';

export interface HelperRun {
  command: string;
  args: readonly string[];
  input: string;
  timeoutMs: number;
}

export type HelperExit =
  | { kind: 'exited'; code: number; stdout: string; stderr: string }
  | { kind: 'signalled'; signal: string; stderr: string }
  | { kind: 'timed-out'; stderr: string }
  | { kind: 'too-much-output'; stderr: string };

/** A JSON answer is a few hundred bytes; anything past this is not one. */
const maxStdoutBytes = 64 * 1024;
/** Enough for an error message; the rest is dropped before it is ever kept. */
const maxStderrBytes = 4 * 1024;

/** Why the command could not start at all (not found, not executable). */
export class HelperStartError extends Error {
  override name = 'HelperStartError';
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code;
  }
}

export function runHelper(run: HelperRun): Promise<HelperExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(run.command, [...run.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so the deadline can kill everything it started.
      detached: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let ended: HelperExit['kind'] | undefined;

    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      ended ??= 'timed-out';
      killGroup();
    }, run.timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxStdoutBytes) {
        ended ??= 'too-much-output';
        killGroup();
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderrBytes < maxStderrBytes) stderr.push(chunk.subarray(0, maxStderrBytes - stderrBytes));
      stderrBytes += chunk.length;
    });
    // A helper that exits without reading its stdin must not crash the worker with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(run.input);

    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new HelperStartError(err.message, err.code));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const err = Buffer.concat(stderr).toString('utf8');
      if (ended === 'timed-out' || ended === 'too-much-output') return resolve({ kind: ended, stderr: err });
      if (code === null) return resolve({ kind: 'signalled', signal: signal ?? 'unknown', stderr: err });
      resolve({ kind: 'exited', code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: err });
    });
  });
}
