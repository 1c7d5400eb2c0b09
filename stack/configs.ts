// Configuration files of the stack's components, rendered into the run's data directory.
import { stringify as stringifyYaml } from 'yaml';
import type { Ports } from './layout.ts';

export function registryConfig(opts: {
  port: number;
  debugPort?: number;
  storage: string;
  htpasswd?: string;
  notify?: { url: string; token: string };
  /** Log every request (tests count them); off for the stack's own registries. */
  accessLog?: boolean;
}): string {
  const lines = [
    'version: 0.1',
    `log: { level: info, accesslog: { disabled: ${!opts.accessLog} } }`,
    'storage:',
    `  filesystem: { rootdirectory: ${JSON.stringify(opts.storage)} }`,
    '  delete: { enabled: true }',
    '  cache: { blobdescriptor: inmemory }',
    'http:',
    `  addr: 127.0.0.1:${opts.port}`,
    '  secret: freshet-local-stack',
    '  headers: { X-Content-Type-Options: [nosniff] }',
  ];
  if (opts.debugPort) {
    lines.push(
      '  debug:',
      `    addr: 127.0.0.1:${opts.debugPort}`,
      '    prometheus: { enabled: true, path: /metrics }',
    );
  }
  if (opts.htpasswd) {
    lines.push(
      'auth:',
      '  htpasswd:',
      '    realm: freshet-local',
      `    path: ${JSON.stringify(opts.htpasswd)}`,
    );
  }
  if (opts.notify) {
    lines.push(
      'notifications:',
      '  events: { includereferences: true }',
      '  endpoints:',
      '    - name: freshet',
      `      url: ${JSON.stringify(opts.notify.url)}`,
      `      headers: { Authorization: [${JSON.stringify(`Bearer ${opts.notify.token}`)}] }`,
      '      timeout: 2s',
      '      threshold: 3',
      '      backoff: 2s',
      '      ignoredmediatypes: [application/octet-stream]',
      '      ignore: { mediatypes: [application/octet-stream], actions: [pull] }',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** zot with htpasswd auth. No garbage collection: tests push untagged referrers and read them later. */
export function zotConfig(opts: { port: number; storage: string; htpasswd: string }): string {
  const config = {
    distSpecVersion: '1.1.0-dev',
    storage: { rootDirectory: opts.storage, gc: false, dedupe: false },
    http: {
      address: '127.0.0.1',
      port: String(opts.port),
      realm: 'freshet-zot',
      auth: { htpasswd: { path: opts.htpasswd }, failDelay: 0 },
    },
    log: { level: 'info' },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Prometheus scrapes itself, Temporal and the registry; tests and the demo add targets by
 * dropping file_sd JSON files into targetsDir and rule files into rulesDir (targets are re-read live; rules after POST /-/reload).
 */
export function prometheusConfig(p: Ports, targetsDir: string, rulesDir: string): string {
  return `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - ${JSON.stringify(`${rulesDir}/*.yml`)}
scrape_configs:
  - job_name: prometheus
    static_configs: [{ targets: ['127.0.0.1:${p.prometheus}'] }]
  - job_name: temporal
    static_configs: [{ targets: ['127.0.0.1:${p.temporalMetrics}'] }]
  - job_name: registry
    static_configs: [{ targets: ['127.0.0.1:${p.registryDebug}'] }]
  - job_name: freshet
    file_sd_configs:
      - files: [${JSON.stringify(`${targetsDir}/*.json`)}]
        refresh_interval: 1s
`;
}

export function nodeManifest(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        type: 'kwok',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
      },
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: {},
  };
}

export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  metrics: number;
}

/**
 * The Temporal server's config: every service in one process on 127.0.0.1, history and
 * visibility on PostgreSQL (plugin postgres12, as docker-compose.yml's server uses), a dynamic
 * config file, no archival.
 */
export function temporalServerConfig(opts: {
  ports: TemporalServerPorts;
  postgres: { host: string; port: number; user: string; password: string };
  databases: { history: string; visibility: string };
  dynamicConfigFile: string;
}): string {
  const { ports, postgres } = opts;
  const sql = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${postgres.host}:${postgres.port}`,
      connectProtocol: 'tcp',
      user: postgres.user,
      password: postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: '127.0.0.1', ...(httpPort ? { httpPort } : {}) },
  });
  const frontend = `127.0.0.1:${ports.frontend}`;
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: {
        'postgres-default': sql(opts.databases.history, 20),
        'postgres-visibility': sql(opts.databases.visibility, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: {
        prometheus: {
          framework: 'tally',
          timerType: 'histogram',
          listenAddress: `127.0.0.1:${ports.metrics}`,
        },
      },
    },
    services: {
      frontend: service(ports.frontend, ports.frontendMembership, ports.frontendHttp),
      history: service(ports.history, ports.historyMembership),
      matching: service(ports.matching, ports.matchingMembership),
      worker: service(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: frontend,
          httpAddress: `127.0.0.1:${ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    publicClient: { hostPort: frontend },
    dynamicConfigClient: { filepath: opts.dynamicConfigFile, pollInterval: '10s' },
  };
  return stringifyYaml(config);
}

/**
 * deploy/compose/temporal/dynamicconfig.yaml's settings, plus what a test stack needs: no
 * version check (offline), namespaces and search attributes visible at once, Updates on.
 */
export function temporalDynamicConfig(): string {
  const values: Record<string, unknown> = {
    'frontend.enableServerVersionCheck': false,
    'system.forceSearchAttributesCacheRefreshOnRead': true,
    'system.namespaceCacheRefreshInterval': '1s',
    'limit.maxIDLength': 255,
    'frontend.enableUpdateWorkflowExecution': true,
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted': true,
    'frontend.enableExecuteMultiOperation': true,
  };
  return stringifyYaml(
    Object.fromEntries(Object.entries(values).map(([k, value]) => [k, [{ value, constraints: {} }]])),
  );
}
