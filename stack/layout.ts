// Where the local stack lives: pinned versions, cached binaries, ports and the run directory.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const stackDir = dirname(fileURLToPath(import.meta.url));
export const repoDir = dirname(stackDir);
/** Files clients need while the stack runs (state, env file, kubeconfig); removed by `down`. */
export const runDir = process.env.FRESHET_STACK_RUN_DIR ?? join(stackDir, '.run');
export const stateFile = join(runDir, 'stack.json');
/** With FRESHET_STACK_AUDIT=1: the apiserver's audit log, one JSON line per finished request (who, verb, resource). */
export const auditLogFile = join(runDir, 'kube-apiserver-audit.log');

export interface Versions {
  node: string;
  temporalCli: string;
  temporalServer: string;
  temporalTestServer: string;
  kubernetes: string;
  etcd: string;
  kwok: string;
  moto: string;
  zot: string;
}

/** versions.sh is the one place versions are pinned; the install scripts source it too. */
export function readVersions(): Versions {
  const text = readFileSync(join(stackDir, 'versions.sh'), 'utf8');
  const get = (key: string): string => {
    const match = new RegExp(`^${key}=(\\S+)$`, 'm').exec(text);
    if (!match?.[1]) throw new Error(`stack/versions.sh does not set ${key}`);
    return match[1];
  };
  return {
    node: get('NODE_VERSION'),
    temporalCli: get('TEMPORAL_CLI_VERSION'),
    temporalServer: get('TEMPORAL_SERVER_VERSION'),
    temporalTestServer: get('TEMPORAL_TEST_SERVER_VERSION'),
    kubernetes: get('KUBERNETES_VERSION'),
    etcd: get('ETCD_VERSION'),
    kwok: get('KWOK_VERSION'),
    moto: get('MOTO_VERSION'),
    zot: get('ZOT_VERSION'),
  };
}

export function cacheDir(): string {
  if (process.env.FRESHET_CACHE) return process.env.FRESHET_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'freshet');
}

export interface Binaries {
  temporal: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kwok: string;
  kwokStages: string;
  registry: string;
  prometheus: string;
  openssl: string;
  htpasswd: string;
  /** The interpreter of moto's venv: it, not the moto_server script, is the process's argv[0]. */
  motoPython: string;
  motoServer: string;
  zot: string;
  /** The Temporal cluster: the server (every service in one process) and its schema tool. */
  temporalServer: string;
  temporalSqlTool: string;
  /** Debian's PostgreSQL server and its tools, for the Temporal cluster's databases. */
  postgres: string;
  initdb: string;
  pgIsReady: string;
  /** Runs PostgreSQL as the postgres user when the stack runs as root (PostgreSQL refuses root). */
  setpriv: string;
}

/** The newest PostgreSQL that Debian's packages installed (/usr/lib/postgresql/<major>/bin). */
function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter((d) => /^\d+$/.test(d) && existsSync(join(base, d, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return join(base, majors[0] ?? '15', 'bin');
}

export function binaries(v: Versions = readVersions()): Binaries {
  const c = cacheDir();
  const k8s = join(c, `kubernetes-${v.kubernetes}`);
  const pg = postgresBinDir();
  return {
    temporal: join(c, `temporal-${v.temporalCli}`, 'temporal'),
    etcd: join(c, `etcd-${v.etcd}`, 'etcd'),
    kubeApiserver: join(k8s, 'kube-apiserver'),
    kubeControllerManager: join(k8s, 'kube-controller-manager'),
    kubeScheduler: join(k8s, 'kube-scheduler'),
    kwok: join(c, `kwok-${v.kwok}`, 'kwok'),
    kwokStages: join(c, `kwok-${v.kwok}`, 'stages'),
    registry: '/usr/bin/docker-registry',
    prometheus: '/usr/bin/prometheus',
    openssl: '/usr/bin/openssl',
    htpasswd: '/usr/bin/htpasswd',
    motoPython: join(c, `moto-${v.moto}`, 'bin', 'python'),
    motoServer: join(c, `moto-${v.moto}`, 'bin', 'moto_server'),
    zot: join(c, `zot-${v.zot}`, 'zot'),
    temporalServer: join(c, `temporal-server-${v.temporalServer}`, 'temporal-server'),
    temporalSqlTool: join(c, `temporal-server-${v.temporalServer}`, 'temporal-sql-tool'),
    postgres: join(pg, 'postgres'),
    initdb: join(pg, 'initdb'),
    pgIsReady: join(pg, 'pg_isready'),
    setpriv: '/usr/bin/setpriv',
  };
}

/** The PostgreSQL schemas of the Temporal server's version, copied out of its Go module at install. */
export function temporalSchemaDir(v: Versions = readVersions()): string {
  return join(cacheDir(), `temporal-server-${v.temporalServer}`, 'schema', 'postgresql', 'v12');
}

/**
 * Launcher of Temporal's Java time-skipping test server, `<launcher> <port> [--enable-time-skipping]`,
 * written by stack/install/temporal-test-server.sh. Only the workflow unit tests use it, not the stack.
 */
export function temporalTestServerLauncher(v: Versions = readVersions()): string {
  return join(cacheDir(), `temporal-test-server-${v.temporalTestServer}`, 'temporal-test-server');
}

/** Every port the stack binds, all on 127.0.0.1. FRESHET_STACK_PORT_OFFSET shifts them all. */
export interface Ports {
  temporal: number;
  temporalUi: number;
  temporalHttp: number;
  temporalMetrics: number;
  registry: number;
  registryDebug: number;
  registryAuth: number;
  etcd: number;
  etcdPeer: number;
  kubeApiserver: number;
  kubeControllerManager: number;
  kubeScheduler: number;
  kwok: number;
  prometheus: number;
  moto: number;
  zot: number;
  notifyReceiver: number;
  /** The Temporal cluster (an optional add-on): PostgreSQL and the server's services. */
  postgres: number;
  temporalCluster: number;
  temporalClusterHttp: number;
  temporalClusterMetrics: number;
  temporalClusterHistory: number;
  temporalClusterMatching: number;
  temporalClusterWorker: number;
}

const defaultPorts: Ports = {
  temporal: 7233,
  temporalUi: 8233,
  temporalHttp: 7243,
  temporalMetrics: 7244,
  registry: 5000,
  registryDebug: 5010,
  registryAuth: 5001,
  etcd: 2379,
  etcdPeer: 2380,
  kubeApiserver: 6443,
  kubeControllerManager: 10257,
  kubeScheduler: 10259,
  kwok: 10247,
  prometheus: 9090,
  moto: 5100,
  zot: 5002,
  notifyReceiver: 5003,
  // Temporal's own layout (gRPC 723x) moved by 100: the dev server has 7233. The services'
  // membership ports are not here: see stack/temporal-cluster.ts.
  postgres: 5432,
  temporalCluster: 7333,
  temporalClusterHttp: 7343,
  temporalClusterMetrics: 7344,
  temporalClusterHistory: 7334,
  temporalClusterMatching: 7335,
  temporalClusterWorker: 7339,
};

export function ports(): Ports {
  const raw = process.env.FRESHET_STACK_PORT_OFFSET ?? '0';
  const offset = Number(raw);
  if (!Number.isInteger(offset) || offset < 0 || offset > 40000) {
    throw new Error(`FRESHET_STACK_PORT_OFFSET must be a whole number from 0 to 40000, got "${raw}"`);
  }
  return Object.fromEntries(
    Object.entries(defaultPorts).map(([k, p]) => [k, p + offset]),
  ) as unknown as Ports;
}

/** What a client of the running stack needs; written to stack.json and stack.env. */
export interface Endpoints {
  temporal: { address: string; namespace: string; ui: string; httpApi: string; metrics: string };
  registry: { url: string; host: string; webhookUrl: string; webhookToken: string };
  registryAuth: { url: string; host: string; username: string; password: string };
  kubernetes: { server: string; kubeconfig: string; context: string };
  etcd: { url: string };
  prometheus: { url: string; targetsDir: string; rulesDir: string };
  /** moto's AWS API emulator: point an AWS SDK client's `endpoint` here (any region, any key). */
  moto: { url: string };
  /** zot, a second registry: strict OCI (no Docker media types), referrers API, htpasswd auth. */
  zot: { url: string; host: string; username: string; password: string };
  /**
   * Receives notifications: POST /webhook/<channel> (signed with `secret`), POST /slack/<channel>,
   * GET /received/<channel> (stack/notify-receiver.ts).
   */
  notifyReceiver: { url: string; secret: string };
  /**
   * The Temporal server on PostgreSQL, docker-compose.yml's topology: started only when asked for
   * (`up --temporal-cluster`). `postgres` lets tests create databases of their own beside it.
   */
  temporalCluster?: {
    address: string;
    namespace: string;
    httpApi: string;
    metrics: string;
    postgres: { host: string; port: number; user: string; password: string };
  };
}

/**
 * Components that depend on no other and can join a stack that already runs: a stack started
 * before one of them existed gains it on the next `up`.
 */
export const addOnNames = ['moto', 'zot', 'notifyReceiver'] as const;
export type AddOnName = (typeof addOnNames)[number];
/** Add-ons a stack runs only when asked to; once started, later `up`s keep them. */
export const optionalAddOnNames = ['temporalCluster'] as const;
export type OptionalAddOnName = (typeof optionalAddOnNames)[number];

export interface StackState {
  version: 1;
  startedAt: string;
  dataDir: string;
  processes: { name: string; pid: number; bin: string; log: string }[];
  endpoints: Endpoints;
}

/** stack.json as found on disk: written perhaps by an older `up` that knew fewer add-ons. */
export type StoredState = Omit<StackState, 'endpoints'> & {
  endpoints: Omit<Endpoints, AddOnName> & Partial<Pick<Endpoints, AddOnName>>;
};

/** The Temporal search attributes the rollout workflows use; registered at dev-server start. */
export const searchAttributes: Record<string, 'Keyword' | 'Text' | 'Int' | 'Datetime'> = {
  FreshetPipeline: 'Keyword',
  FreshetImage: 'Keyword',
  FreshetStage: 'Keyword',
  FreshetPhase: 'Keyword',
};

/** Images whose reference matches this convention never become ready in the stack's KWOK. */
export const brokenImageConvention =
  'the tag starts with "broken" (app:broken-1) or the digest starts with "sha256:bad0"';
