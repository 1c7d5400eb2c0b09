// Starts the notification receiver (stack/notify-receiver.ts) with a signing secret made at start.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Launcher } from './launcher.ts';
import type { Endpoints } from './layout.ts';
import { httpStatus } from './process.ts';

const receiver = fileURLToPath(new URL('./notify-receiver.ts', import.meta.url));

export async function startNotifyReceiver(l: Launcher): Promise<Endpoints['notifyReceiver']> {
  const port = l.ports.notifyReceiver;
  const secret = randomBytes(24).toString('hex');
  const configFile = join(l.dir('notify-receiver'), 'config.json');
  writeFileSync(configFile, JSON.stringify({ port, secret }), { mode: 0o600 });
  const proc = l.start('notifyReceiver', process.execPath, [receiver, configFile]);
  await l.ready(proc, async () => (await httpStatus(l.local(port, '/healthz'))) === 200);
  return { url: l.local(port), secret };
}
