// A registry of a test's own: the same Distribution server as the stack's, started on a free
// port with its access log on, so a test can count requests or stop and restart it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryConfig } from '../../stack/configs.ts';
import { binaries } from '../../stack/layout.ts';
import { httpStatus, type Started, startProcess, stopProcess, waitReady } from '../../stack/process.ts';

export interface TestRegistry {
  url: string;
  host: string;
  /** Request lines ("HEAD /v2/…") logged since the registry started. */
  requests(): { method: string; path: string; status: number }[];
  stop(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startTestRegistry(opts: { htpasswd?: string } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-test-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  const log = join(dir, 'registry.log');
  mkdirSync(join(dir, 'data'));
  writeFileSync(
    config,
    registryConfig({
      port,
      storage: join(dir, 'data'),
      accessLog: true,
      ...(opts.htpasswd ? { htpasswd: opts.htpasswd } : {}),
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  let proc: Started | undefined;
  const registry: TestRegistry = {
    url,
    host: `127.0.0.1:${port}`,
    requests() {
      const text = readFileSync(log, 'utf8');
      return [...text.matchAll(/"(GET|HEAD|PUT|POST|PATCH|DELETE) ([^ ]+) HTTP\/[\d.]+" (\d{3})/g)].map(
        (m) => ({
          method: m[1] ?? '',
          path: m[2] ?? '',
          status: Number(m[3]),
        }),
      );
    },
    async start() {
      proc = startProcess('test-registry', binaries().registry, ['serve', config], log);
      const expected = opts.htpasswd ? 401 : 200;
      await waitReady(proc, async () => (await httpStatus(`${url}/v2/`)) === expected, 10_000);
    },
    async stop() {
      if (proc) await stopProcess(proc, 5_000);
      proc = undefined;
    },
    async remove() {
      await registry.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await registry.start();
  return registry;
}
