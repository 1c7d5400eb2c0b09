// The stack's Prometheus is real: a target the test serves is discovered through the
// file_sd directory and its samples become queryable.
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
let server: Server;
let targetFile: string;

describe('prometheus stack', () => {
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# TYPE freshet_smoke_value gauge\nfreshet_smoke_value 42\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    targetFile = join(stack.prometheus.targetsDir, `smoke-${port}.json`);
    writeFileSync(
      targetFile,
      JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { smoke: String(port) } }]),
    );
  });
  afterAll(async () => {
    rmSync(targetFile, { force: true });
    await new Promise((resolve) => server.close(resolve));
  });

  it('scrapes a target added through file_sd', async () => {
    const port = (server.address() as AddressInfo).port;
    const query = `freshet_smoke_value{smoke="${port}"}`;
    const value = await waitFor('Prometheus to scrape the test target', async () => {
      const res = await fetch(`${stack.prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result[0]?.value[1];
    });
    expect(Number(value)).toBe(42);
  });
});
