// `npm run demo`: brings the local stack up, shows what runs where, and keeps it up until
// Ctrl-C. The rollout demo builds on this once the daemon exists.
import { setTimeout as sleep } from 'node:timers/promises';
import { pushImage } from '../test/support/image-pusher.ts';
import { describeEndpoints } from './cli.ts';
import { StackError } from './process.ts';
import { startStack, stopStack } from './stack.ts';

const help = `Usage: npm run demo [-- --exit]

Starts Freshet's local stack (Temporal + Web UI, registry, Kubernetes with KWOK nodes,
Prometheus), pushes demo/web:1.0 to the registry, prints the endpoints and waits for Ctrl-C,
then stops whatever it started. --exit stops right after printing (for scripts).`;

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(help);
    return 0;
  }
  const step = (m: string) => console.error(`[demo] ${m}`);
  step('starting the local stack (first start after install takes about 20 s)');
  const state = await startStack((m) => step(m));
  const pushed = await pushImage({
    registryUrl: state.endpoints.registry.url,
    repository: 'demo/web',
    tag: '1.0',
    created: new Date(),
  });
  step(`pushed ${pushed.reference}`);
  console.log(describeEndpoints(state.endpoints));
  if (args.includes('--exit')) {
    if (!state.reused) await stopStack(step);
    return 0;
  }
  step('the stack is up; press Ctrl-C to stop it');
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await Promise.race([stop, sleep(2 ** 31 - 1)]);
  if (!state.reused) {
    step('stopping the stack');
    await stopStack(step);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof StackError ? `[demo] error: ${err.message}` : err);
    process.exit(1);
  },
);
