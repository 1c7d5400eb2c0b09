// Freshet daemons as child processes (daemon-process.ts), for tests that run several at once or
// kill one: each prints "ready <url>", has its own HTTP port and its own Temporal worker, whose
// identity is the SDK's default `<pid>@<hostname>`.
import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./daemon-process.ts', import.meta.url));

export interface DaemonChild {
  url: string;
  pid: number;
  /** The worker identity Temporal records on every task this daemon ran. */
  identity: string;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (the daemon shuts its worker down), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

export function startDaemonChild(configPath: string, env: NodeJS.ProcessEnv): Promise<DaemonChild> {
  const child: ChildProcess = spawn(process.execPath, [script, configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  let output = '';
  return new Promise<DaemonChild>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /ready (\S+)\n/.exec(output)?.[1];
      if (!url || child.pid === undefined) return;
      resolve({
        url,
        pid: child.pid,
        identity: `${child.pid}@${hostname()}`,
        output: () => output,
        async kill() {
          if (!exited) child.kill('SIGKILL');
          await exit;
        },
        async stop() {
          if (exited) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exit;
          clearTimeout(timer);
        },
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code}: ${output.slice(-2_000)}`)));
  });
}
