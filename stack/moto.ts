// moto's AWS API emulator: ECR's GetAuthorizationToken (and the rest of AWS) for tests that
// reach it the way a user reaches a VPC endpoint, through the SDK's `endpoint` setting.

import type { Launcher } from './launcher.ts';
import type { Endpoints } from './layout.ts';
import { httpStatus } from './process.ts';

export async function startMoto(l: Launcher): Promise<Endpoints['moto']> {
  const port = l.ports.moto;
  const proc = l.start('moto', l.bin.motoPython, [l.bin.motoServer, '--host=127.0.0.1', `--port=${port}`]);
  // Python imports every AWS service's model at start: seconds on a busy machine.
  await l.ready(proc, async () => (await httpStatus(l.local(port, '/moto-api/data.json'))) === 200, 60_000);
  return { url: l.local(port) };
}
