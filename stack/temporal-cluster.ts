// The Temporal cluster: the Temporal server (every service in one process) on PostgreSQL, with
// the schemas its SQL tool sets up and the namespace Freshet uses, as docker-compose.yml runs it
// (services postgresql, temporal-schema, temporal, temporal-namespace). The pieces are exported so
// a test can run a second server of its own on the same PostgreSQL, kill it and restart it.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type TemporalServerPorts, temporalDynamicConfig, temporalServerConfig } from './configs.ts';
import type { Launcher } from './launcher.ts';
import { type Binaries, type Endpoints, type Ports, searchAttributes, temporalSchemaDir } from './layout.ts';
import { type PostgresAccess, startPostgres } from './postgres.ts';
import { httpStatus, StackError, type Started, waitReady } from './process.ts';

const run = promisify(execFile);

export interface TemporalDatabases {
  history: string;
  visibility: string;
}

type MembershipPorts = Pick<
  TemporalServerPorts,
  'frontendMembership' | 'historyMembership' | 'matchingMembership' | 'workerMembership'
>;

export function clusterServerPorts(p: Ports, membership: MembershipPorts): TemporalServerPorts {
  return {
    frontend: p.temporalCluster,
    frontendHttp: p.temporalClusterHttp,
    history: p.temporalClusterHistory,
    matching: p.temporalClusterMatching,
    worker: p.temporalClusterWorker,
    metrics: p.temporalClusterMetrics,
    ...membership,
  };
}

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * Free ports for the services' membership (ringpop) listeners, below 32768: the server records
 * them in PostgreSQL as a SMALLINT (cluster_membership.rpc_port), so a port shifted by the
 * stack's offset would not fit. Only the server's own services dial them, so any free one will do.
 */
export async function freeMembershipPorts(): Promise<MembershipPorts> {
  const found: number[] = [];
  const low = 20_000;
  const span = 32_767 - low;
  const start = low + Math.floor(Math.random() * span);
  for (let i = 0; i < span && found.length < 4; i++) {
    const port = low + ((start - low + i) % span);
    if (await canBind(port)) found.push(port);
  }
  const [frontendMembership, historyMembership, matchingMembership, workerMembership] = found;
  if (workerMembership === undefined || !frontendMembership || !historyMembership || !matchingMembership)
    throw new StackError("no free ports below 32768 for the Temporal cluster's membership");
  return { frontendMembership, historyMembership, matchingMembership, workerMembership };
}

async function sqlTool(bin: Binaries, pg: PostgresAccess, database: string, args: string[]): Promise<void> {
  const common = ['--plugin', 'postgres12', '--endpoint', pg.host, '--port', String(pg.port)];
  await run(bin.temporalSqlTool, [...common, '--user', pg.user, '--database', database, ...args], {
    // The password by environment, never on a command line that `ps` shows.
    env: { ...process.env, SQL_PASSWORD: pg.password },
  }).catch((err: Error & { stdout?: string; stderr?: string }) => {
    const output = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n').slice(-10).join('\n');
    throw new StackError(
      `temporal-sql-tool ${args[0]} on database ${database} failed:\n${output || err.message}`,
    );
  });
}

/** Creates both databases and brings their schemas to the server's version (setup-schema.sh's steps). */
export async function createTemporalDatabases(
  bin: Binaries,
  pg: PostgresAccess,
  databases: TemporalDatabases,
): Promise<void> {
  const schemas = temporalSchemaDir();
  for (const [database, dir] of [
    [databases.history, 'temporal'],
    [databases.visibility, 'visibility'],
  ] as const) {
    await sqlTool(bin, pg, database, ['create-database']);
    await sqlTool(bin, pg, database, ['setup-schema', '--version', '0.0']);
    await sqlTool(bin, pg, database, ['update-schema', '--schema-dir', join(schemas, dir, 'versioned')]);
  }
}

export async function dropTemporalDatabases(
  bin: Binaries,
  pg: PostgresAccess,
  databases: TemporalDatabases,
): Promise<void> {
  for (const database of [databases.history, databases.visibility])
    await sqlTool(bin, pg, database, ['drop-database', '--force']);
}

/** Writes the server's config (and dynamic config) under `dir`; start it with startTemporalServer. */
export function writeTemporalServerConfig(
  dir: string,
  opts: { ports: TemporalServerPorts; postgres: PostgresAccess; databases: TemporalDatabases },
): void {
  mkdirSync(join(dir, 'config'), { recursive: true });
  const dynamicConfigFile = join(dir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfigFile, temporalDynamicConfig());
  // It holds the database password.
  writeFileSync(join(dir, 'config', 'freshet.yaml'), temporalServerConfig({ ...opts, dynamicConfigFile }), {
    mode: 0o600,
  });
}

/** Starts the server on the config under `dir`; resolves once its frontend answers. */
export async function startTemporalServer(
  l: Launcher,
  dir: string,
  ports: TemporalServerPorts,
  name = 'temporal-server',
): Promise<Started> {
  const proc = l.start(
    name,
    l.bin.temporalServer,
    ['--root', dir, '--config', 'config', '--env', 'freshet', '--allow-no-auth', 'start'],
    { TEMPORAL_VERSION_CHECK_DISABLED: '1' },
  );
  await l.ready(
    proc,
    async () => (await httpStatus(l.local(ports.frontendHttp, '/api/v1/system-info'))) === 200,
    120_000,
  );
  return proc;
}

async function temporalCli(bin: Binaries, args: string[]): Promise<string> {
  const { stdout } = await run(bin.temporal, args, { timeout: 30_000 });
  return stdout;
}

/**
 * Creates the namespace (72 h retention, as deploy/compose/temporal/setup-namespace.sh) and the
 * search attributes the rollouts use, with the dev-server build of the CLI; waits until both answer.
 */
export async function registerNamespace(
  l: Launcher,
  proc: Started,
  address: string,
  namespace: string,
  ports: TemporalServerPorts,
): Promise<void> {
  const at = ['--address', address, '--namespace', namespace];
  await temporalCli(l.bin, ['operator', 'namespace', 'create', ...at, '--retention', '72h']).catch(
    (err: Error & { stderr?: string }) => {
      if (!/already (exists|registered)/i.test(err.stderr ?? '')) {
        throw new StackError(`creating namespace ${namespace}: ${err.stderr?.trim() || err.message}`);
      }
    },
  );
  // A new namespace reaches every service within the namespace cache's refresh (1 s here).
  await waitReady(
    proc,
    async () => {
      await temporalCli(l.bin, ['operator', 'search-attribute', 'list', ...at]);
      return true;
    },
    30_000,
    `serve namespace ${namespace}`,
  );
  const listed = await temporalCli(l.bin, ['operator', 'search-attribute', 'list', ...at]);
  for (const [name, type] of Object.entries(searchAttributes)) {
    if (new RegExp(`\\b${name}\\b`).test(listed)) continue;
    await temporalCli(l.bin, [
      'operator',
      'search-attribute',
      'create',
      ...at,
      '--name',
      name,
      '--type',
      type,
    ]);
  }
  await waitReady(
    proc,
    async () => (await httpStatus(l.local(ports.frontendHttp, `/api/v1/namespaces/${namespace}`))) === 200,
    30_000,
    `describe namespace ${namespace}`,
  );
}

/** The stack's add-on: PostgreSQL, the two databases, the server and the default namespace. */
export async function startTemporalCluster(l: Launcher): Promise<NonNullable<Endpoints['temporalCluster']>> {
  const dir = l.dir('temporal-cluster');
  const postgres = await startPostgres(l, l.dir('postgres'), l.ports.postgres);
  const databases = { history: 'temporal', visibility: 'temporal_visibility' };
  await createTemporalDatabases(l.bin, postgres, databases);
  const ports = clusterServerPorts(l.ports, await freeMembershipPorts());
  writeTemporalServerConfig(dir, { ports, postgres, databases });
  const proc = await startTemporalServer(l, dir, ports);
  const address = `127.0.0.1:${ports.frontend}`;
  const namespace = 'default';
  await registerNamespace(l, proc, address, namespace, ports);
  return {
    address,
    namespace,
    httpApi: l.local(ports.frontendHttp),
    metrics: l.local(ports.metrics, '/metrics'),
    postgres,
  };
}
