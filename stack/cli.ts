// `npm run stack:up|stack:down|stack:status`: manage the local stack from a shell.
import { addOnNames, auditLogFile, brokenImageConvention, runDir, type StoredState } from './layout.ts';
import { StackError } from './process.ts';
import { readState, stackAlive, startStack, stopStack } from './stack.ts';

const help = `Usage: node stack/cli.ts <command>

Manages Freshet's local stack: real servers on 127.0.0.1 for tests, the demo and development.

Commands:
  up       start every component and print the endpoints; on a running stack, start only
           the components it lacks (${[...addOnNames, 'kubelet-images'].join(', ')}: those added
           since it started)
    --temporal-cluster
           also run a Temporal cluster: the Temporal server (all services in one process) on
           PostgreSQL, beside the dev server (a stack that runs one keeps it)
  down     stop exactly the processes "up" started, by PID, and remove their temp dirs
  status   print whether the stack runs, and its endpoints

Environment:
  FRESHET_STACK_PORT_OFFSET   shift every port by this amount (default 0)
  FRESHET_STACK_WEBHOOK_URL   where the registry sends push notifications
                              (default http://127.0.0.1:9464/webhooks/distribution)
  FRESHET_CACHE               where built binaries are cached (default ~/.cache/freshet)
  FRESHET_STACK_AUDIT=1       write the apiserver's audit log (Metadata level) to
                              ${auditLogFile}

Endpoints are written to ${runDir}/stack.json and stack.env.
Exit codes: 0 ok, 1 a component failed (its log tail is printed), 2 usage error.`;

export function describeEndpoints(e: StoredState['endpoints']): string {
  const notStarted = 'not started yet (run "up" to add it)';
  return [
    `Temporal          ${e.temporal.address} (namespace ${e.temporal.namespace})`,
    `Temporal Web UI   ${e.temporal.ui}`,
    `Registry          ${e.registry.url} (anonymous; notifications to ${e.registry.webhookUrl})`,
    `Registry (auth)   ${e.registryAuth.url} (user ${e.registryAuth.username}, password in stack.env)`,
    `Kubernetes API    ${e.kubernetes.server} (KUBECONFIG=${e.kubernetes.kubeconfig})`,
    `etcd              ${e.etcd.url}`,
    `Prometheus        ${e.prometheus.url} (add scrape targets in ${e.prometheus.targetsDir})`,
    `AWS API (moto)    ${e.moto ? `${e.moto.url} (SDK endpoint; any region, any access key)` : notStarted}`,
    `Registry (zot)    ${e.zot ? `${e.zot.url} (OCI only, referrers API; user ${e.zot.username}, password in stack.env)` : notStarted}`,
    `Temporal cluster  ${e.temporalCluster ? `${e.temporalCluster.address} (namespace ${e.temporalCluster.namespace}; server on PostgreSQL ${e.temporalCluster.postgres.host}:${e.temporalCluster.postgres.port})` : 'not started (run "up --temporal-cluster" to add it)'}`,
    `Notifications     ${e.notifyReceiver ? `${e.notifyReceiver.url} (POST /webhook/<channel> signed, /slack/<channel>; GET /received/<channel>)` : notStarted}`,
    `Broken images     ${brokenImageConvention} never become ready`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || rest.includes('--help')) {
    console.log(help);
    return command ? 0 : 2;
  }
  const flags = command === 'up' ? ['--temporal-cluster'] : [];
  const unknown = rest.filter((arg) => !flags.includes(arg));
  if (unknown.length > 0) {
    console.error(`unknown argument "${unknown[0]}" for "${command}"\n\n${help}`);
    return 2;
  }
  const progress = (m: string) => console.error(`[stack] ${m}`);
  switch (command) {
    case 'up': {
      const t0 = Date.now();
      const state = await startStack(progress, { temporalCluster: rest.includes('--temporal-cluster') });
      const took = ((Date.now() - t0) / 1000).toFixed(1);
      if (!state.reused) console.error(`[stack] up in ${took} s`);
      else if (state.added.length === 0) console.error('[stack] already running: reused');
      else console.error(`[stack] already running: added ${state.added.join(', ')} in ${took} s`);
      console.log(describeEndpoints(state.endpoints));
      return 0;
    }
    case 'down': {
      const stopped = await stopStack(progress);
      console.error(stopped ? '[stack] down' : '[stack] not running');
      return 0;
    }
    case 'status': {
      const state = readState();
      if (!state) {
        console.log('stack: not running');
        return 1;
      }
      const alive = stackAlive(state);
      console.log(
        `stack: ${alive ? 'running' : 'partly dead (run "npm run stack:down")'} since ${state.startedAt}`,
      );
      for (const p of state.processes) console.log(`  ${p.name.padEnd(24)} pid ${p.pid}  log ${p.log}`);
      console.log(describeEndpoints(state.endpoints));
      return alive ? 0 : 1;
    }
    default:
      console.error(`unknown command "${command}"\n\n${help}`);
      return 2;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof StackError) console.error(`[stack] error: ${err.message}`);
      else console.error(err);
      process.exit(1);
    },
  );
}
