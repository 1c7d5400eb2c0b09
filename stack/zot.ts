// zot, the stack's second registry: strict about OCI, with the referrers API, and basic auth
// from an htpasswd file whose password is made at start (like the htpasswd Distribution's).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zotConfig } from './configs.ts';
import type { Launcher } from './launcher.ts';
import type { Endpoints } from './layout.ts';
import { httpStatus } from './process.ts';

export async function startZot(l: Launcher): Promise<Endpoints['zot']> {
  const port = l.ports.zot;
  const username = 'freshet';
  const password = randomBytes(12).toString('hex');
  const htpasswd = join(l.dir('zot'), 'htpasswd');
  writeFileSync(htpasswd, execFileSync(l.bin.htpasswd, ['-nbB', username, password], { encoding: 'utf8' }));
  const configFile = join(l.dir('zot'), 'config.json');
  writeFileSync(configFile, zotConfig({ port, storage: l.dir('zot/data'), htpasswd }));
  const proc = l.start('zot', l.bin.zot, ['serve', configFile]);
  await l.ready(proc, async () => (await httpStatus(l.local(port, '/v2/'))) === 401);
  return { url: l.local(port), host: `127.0.0.1:${port}`, username, password };
}
