// What starting one component of the stack takes: its own directory under the run's data dir,
// its process recorded (so a failure or `down` stops it by PID), and a readiness wait that
// reports how long it took.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries, Ports } from './layout.ts';
import { type Started, type StartOptions, startProcess, waitReady } from './process.ts';

export type Progress = (message: string) => void;

export interface Launcher {
  bin: Binaries;
  ports: Ports;
  /** Creates (if need be) and returns a directory under the run's data dir. */
  dir(name: string): string;
  start(name: string, path: string, args: string[], env?: NodeJS.ProcessEnv, opts?: StartOptions): Started;
  ready(proc: Started, probe: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  local(port: number, path?: string): string;
}

/** Every process the launcher starts is pushed onto `started`, in start order. */
export function launcher(
  bin: Binaries,
  ports: Ports,
  dataDir: string,
  started: Started[],
  progress: Progress,
): Launcher {
  const dir = (name: string) => {
    const d = join(dataDir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  return {
    bin,
    ports,
    dir,
    start(name, path, args, env, opts) {
      const proc = startProcess(name, path, args, join(dir('logs'), `${name}.log`), env, opts);
      started.push(proc);
      progress(`started ${name} (pid ${proc.pid})`);
      return proc;
    },
    async ready(proc, probe, timeoutMs = 30_000) {
      const t0 = Date.now();
      await waitReady(proc, probe, timeoutMs);
      progress(`${proc.name} ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    },
    local: (port, path = '') => `http://127.0.0.1:${port}${path}`,
  };
}
