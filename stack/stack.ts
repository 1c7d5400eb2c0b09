// Starts and stops the local stack: Temporal dev server + UI, two registries, etcd, the
// Kubernetes control plane with KWOK nodes, Prometheus and the add-ons (add-ons.ts: among them,
// when asked for, a Temporal cluster on PostgreSQL), all on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addOnBinaries, addOnPorts, missingAddOns, startAddOns } from './add-ons.ts';
import { nodeManifest, prometheusConfig, registryConfig } from './configs.ts';
import { launcher, type Progress } from './launcher.ts';
import {
  addOnNames,
  auditLogFile,
  type Binaries,
  binaries,
  type Endpoints,
  type OptionalAddOnName,
  optionalAddOnNames,
  type Ports,
  ports as portTable,
  runDir,
  type StackState,
  type StoredState,
  searchAttributes,
  stackDir,
  stateFile,
} from './layout.ts';
import { withRunDirLock } from './lock.ts';
import { kubeconfigYaml, makePki, type Pki } from './pki.ts';
import {
  assertPortFree,
  httpStatus,
  isRunning,
  StackError,
  type Started,
  stopProcess,
  waitReady,
} from './process.ts';

export type { Progress };

const quiet: Progress = () => {};

const kubeNodes = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];
const context = 'freshet';

export function readState(): StoredState | undefined {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, 'utf8')) as StoredState;
}

function writeState(state: StackState): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  writeFileSync(join(runDir, 'stack.env'), envFile(state.endpoints));
}

/** Alive = every recorded process still runs; a partly dead stack is not reused. */
export function stackAlive(state: StoredState): boolean {
  return state.processes.every((p) => isRunning(p.pid, p.bin));
}

const portOwners: Record<keyof Ports, string> = {
  temporal: 'Temporal gRPC',
  temporalUi: 'Temporal Web UI',
  temporalHttp: 'Temporal HTTP API',
  temporalMetrics: 'Temporal metrics',
  registry: 'registry',
  registryDebug: 'registry debug/metrics',
  registryAuth: 'registry with htpasswd',
  etcd: 'etcd',
  etcdPeer: 'etcd peer',
  kubeApiserver: 'kube-apiserver',
  kubeControllerManager: 'kube-controller-manager',
  kubeScheduler: 'kube-scheduler',
  kwok: 'kwok',
  prometheus: 'Prometheus',
  moto: 'moto (AWS API)',
  zot: 'zot registry',
  notifyReceiver: 'notification receiver',
  postgres: 'PostgreSQL (Temporal cluster)',
  temporalCluster: 'Temporal cluster gRPC',
  temporalClusterHttp: 'Temporal cluster HTTP API',
  temporalClusterMetrics: 'Temporal cluster metrics',
  temporalClusterHistory: 'Temporal cluster history',
  temporalClusterMatching: 'Temporal cluster matching',
  temporalClusterWorker: 'Temporal cluster worker',
};

export interface StartOptions {
  /** Also run the Temporal cluster (server on PostgreSQL); a stack that runs one keeps it anyway. */
  temporalCluster?: boolean;
}

function assertInstalled(bin: Binaries, names: (keyof Binaries)[]): void {
  for (const name of names) {
    if (!existsSync(bin[name]))
      throw new StackError(`${name}: ${bin[name]} is missing; run "bash stack/install.sh" first`);
  }
}

/**
 * Starts the stack, or returns the running one (reused: true) after starting the add-ons it
 * lacks (added). Any component that does not become ready stops everything this call started
 * and throws a StackError with its log tail; a running stack is never stopped for that.
 */
export function startStack(
  progress: Progress = quiet,
  options: StartOptions = {},
): Promise<StackState & { reused: boolean; added: string[] }> {
  const wanted: OptionalAddOnName[] = options.temporalCluster ? ['temporalCluster'] : [];
  return withRunDirLock(runDir, () => startOrJoin(progress, wanted));
}

async function startOrJoin(
  progress: Progress,
  wanted: OptionalAddOnName[],
): Promise<StackState & { reused: boolean; added: string[] }> {
  const existing = readState();
  if (existing && stackAlive(existing)) return addMissingAddOns(existing, progress, wanted);
  if (existing) {
    progress('a previous stack is partly dead: stopping what is left of it');
    await stopRecorded(progress);
  }

  const bin = binaries();
  const notWanted = optionalAddOnNames.filter((name) => !wanted.includes(name));
  const unused = new Set<string>([...addOnBinaries(notWanted), ...addOnPorts(notWanted)]);
  assertInstalled(
    bin,
    (Object.keys(bin) as (keyof Binaries)[]).filter((name) => !unused.has(name)),
  );
  const p = portTable();
  for (const [key, port] of Object.entries(p) as [keyof Ports, number][])
    if (!unused.has(key)) await assertPortFree(port, portOwners[key]);

  const dataDir = mkdtempSync(join(tmpdir(), 'freshet-stack-'));
  const started: Started[] = [];
  try {
    const endpoints = await launch(bin, p, dataDir, started, progress, wanted);
    const state: StackState = {
      version: 1,
      startedAt: new Date().toISOString(),
      dataDir,
      processes: started,
      endpoints,
    };
    writeState(state);
    return { ...state, reused: false, added: [] };
  } catch (err) {
    for (const proc of started.reverse()) await stopProcess(proc, 5_000);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Starts into a running stack the add-ons its state lacks, and the kubelet-images process (it has
 * no endpoint, so its process tells), and records them beside the rest.
 */
async function addMissingAddOns(
  state: StoredState,
  progress: Progress,
  wanted: OptionalAddOnName[],
): Promise<StackState & { reused: true; added: string[] }> {
  const missing = missingAddOns(state, wanted);
  const lacksKubeletImages = !state.processes.some((proc) => proc.name === 'kubelet-images');
  const names = [...missing, ...(lacksKubeletImages ? ['kubelet-images'] : [])];
  if (names.length === 0) return { ...(state as StackState), reused: true, added: [] };
  progress(`the running stack lacks ${names.join(', ')}: starting ${names.length === 1 ? 'it' : 'them'}`);
  const bin = binaries();
  assertInstalled(bin, addOnBinaries(missing));
  const p = portTable();
  for (const key of addOnPorts(missing)) await assertPortFree(p[key], portOwners[key]);
  const started: Started[] = [];
  try {
    const l = launcher(bin, p, state.dataDir, started, progress);
    const endpoints = { ...state.endpoints, ...(await startAddOns(missing, l)) } as Endpoints;
    if (lacksKubeletImages) {
      await startKubeletImages(
        l.start,
        l.ready,
        l.dir('kubelet-images'),
        endpoints.kubernetes.kubeconfig,
        kubeletRegistries(endpoints),
      );
    }
    const next: StackState = { ...state, processes: [...state.processes, ...started], endpoints };
    writeState(next);
    return { ...next, reused: true, added: names };
  } catch (err) {
    for (const proc of started.reverse()) await stopProcess(proc, 5_000);
    throw err;
  }
}

async function launch(
  bin: Binaries,
  p: Ports,
  dataDir: string,
  started: Started[],
  progress: Progress,
  wanted: OptionalAddOnName[],
) {
  const l = launcher(bin, p, dataDir, started, progress);
  const { dir, start, ready, local } = l;

  // Components without dependencies start together; the control plane follows etcd.
  const etcd = start('etcd', bin.etcd, [
    '--name=node0',
    `--data-dir=${dir('etcd')}`,
    `--listen-client-urls=${local(p.etcd)}`,
    `--advertise-client-urls=${local(p.etcd)}`,
    `--listen-peer-urls=${local(p.etcdPeer)}`,
    `--initial-advertise-peer-urls=${local(p.etcdPeer)}`,
    `--initial-cluster=node0=${local(p.etcdPeer)}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);

  const temporal = start(
    'temporal',
    bin.temporal,
    [
      'server',
      'start-dev',
      '--ip=127.0.0.1',
      `--port=${p.temporal}`,
      `--ui-port=${p.temporalUi}`,
      `--http-port=${p.temporalHttp}`,
      `--metrics-port=${p.temporalMetrics}`,
      `--db-filename=${join(dir('temporal'), 'temporal.db')}`,
      '--log-level=warn',
      '--dynamic-config-value=frontend.enableServerVersionCheck=false',
      '--dynamic-config-value=frontend.enableUpdateWorkflowExecution=true',
      '--dynamic-config-value=frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
      ...Object.entries(searchAttributes).map(([name, type]) => `--search-attribute=${name}=${type}`),
    ],
    { TEMPORAL_VERSION_CHECK_DISABLED: '1', HOME: dir('temporal-home') },
  );

  const webhookToken = randomBytes(16).toString('hex');
  const webhookUrl = process.env.FRESHET_STACK_WEBHOOK_URL ?? 'http://127.0.0.1:9464/webhooks/distribution';
  const registryConfigFile = join(dir('registry'), 'config.yml');
  writeFileSync(
    registryConfigFile,
    registryConfig({
      port: p.registry,
      debugPort: p.registryDebug,
      storage: dir('registry/data'),
      notify: { url: webhookUrl, token: webhookToken },
    }),
  );
  const registry = start('registry', bin.registry, ['serve', registryConfigFile]);

  const authUser = 'freshet';
  const authPassword = randomBytes(12).toString('hex');
  const htpasswd = join(dir('registry-auth'), 'htpasswd');
  writeFileSync(htpasswd, execFileSync(bin.htpasswd, ['-nbB', authUser, authPassword], { encoding: 'utf8' }));
  const authConfigFile = join(dir('registry-auth'), 'config.yml');
  writeFileSync(
    authConfigFile,
    registryConfig({ port: p.registryAuth, storage: dir('registry-auth/data'), htpasswd }),
  );
  const registryAuth = start('registry-auth', bin.registry, ['serve', authConfigFile]);

  const targetsDir = dir('prometheus/targets');
  const rulesDir = dir('prometheus/rules');
  const promConfigFile = join(dir('prometheus'), 'prometheus.yml');
  writeFileSync(promConfigFile, prometheusConfig(p, targetsDir, rulesDir));
  const prometheus = start('prometheus', bin.prometheus, [
    `--config.file=${promConfigFile}`,
    `--storage.tsdb.path=${dir('prometheus/data')}`,
    `--web.listen-address=127.0.0.1:${p.prometheus}`,
    '--web.enable-lifecycle',
    '--log.level=warn',
  ]);

  const pki = makePki(bin.openssl, dir('pki'));
  mkdirSync(runDir, { recursive: true });
  const kubeconfig = join(runDir, 'kubeconfig');
  const server = `https://127.0.0.1:${p.kubeApiserver}`;
  writeFileSync(kubeconfig, kubeconfigYaml(pki, server, context), { mode: 0o600 });

  const kube = (async () => {
    await ready(etcd, async () => (await httpStatus(local(p.etcd, '/health'))) === 200);
    const apiserver = start('kube-apiserver', bin.kubeApiserver, [
      `--etcd-servers=${local(p.etcd)}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${p.kubeApiserver}`,
      `--cert-dir=${dir('apiserver-certs')}`,
      `--tls-cert-file=${pki.adminCert}`,
      `--tls-private-key-file=${pki.adminKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/24',
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=false',
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      ...auditFlags(dir('kube-apiserver')),
    ]);
    await ready(apiserver, async () => (await kubeGet(pki, `${server}/readyz`)).status === 200, 90_000);

    const kcm = start('kube-controller-manager', bin.kubeControllerManager, [
      `--kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${p.kubeControllerManager}`,
      '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
      `--root-ca-file=${pki.caCert}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      '--use-service-account-credentials=true',
      '--leader-elect=false',
      '--node-monitor-period=5s',
      '--node-monitor-grace-period=40s',
    ]);
    const scheduler = start('kube-scheduler', bin.kubeScheduler, [
      `--kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${p.kubeScheduler}`,
      '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
      '--leader-elect=false',
    ]);
    const stagesFile = writeKwokStages(bin, dir('kwok'));
    const kwok = start('kwok', bin.kwok, [
      `--kubeconfig=${kubeconfig}`,
      `--config=${stagesFile}`,
      '--manage-all-nodes=true',
      '--cidr=10.244.0.0/16',
      '--node-ip=10.0.0.1',
      '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${p.kwok}`,
    ]);
    const insecureHealth = (port: number) => async () =>
      (await kubeGet(undefined, `https://127.0.0.1:${port}/healthz`)).status === 200;
    await Promise.all([
      ready(kcm, insecureHealth(p.kubeControllerManager)),
      ready(scheduler, insecureHealth(p.kubeScheduler)),
    ]);
    for (const name of kubeNodes) {
      const res = await kubeRequest(pki, 'POST', `${server}/api/v1/nodes`, nodeManifest(name));
      if (res.status !== 201 && res.status !== 409) {
        throw new StackError(`creating node ${name}: HTTP ${res.status} ${res.body}`);
      }
    }
    await waitReady(
      kwok,
      async () => {
        const res = await kubeGet(pki, `${server}/api/v1/nodes`);
        const list = JSON.parse(res.body) as {
          items: { status?: { conditions?: { type: string; status: string }[] } }[];
        };
        const readyNodes = list.items.filter((n) =>
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return readyNodes.length === kubeNodes.length;
      },
      60_000,
      `make ${kubeNodes.length} nodes Ready`,
    );
    progress(`kwok ready: ${kubeNodes.length} nodes Ready`);
    // Pods need the namespace's default ServiceAccount, which the controller manager creates.
    await waitReady(
      kcm,
      async () =>
        (await kubeGet(pki, `${server}/api/v1/namespaces/default/serviceaccounts/default`)).status === 200,
      30_000,
      'create the default ServiceAccount',
    );
  })();

  const [addOns] = await Promise.all([
    startAddOns([...addOnNames, ...wanted], l),
    kube,
    ready(
      temporal,
      async () => {
        const ns = await httpStatus(local(p.temporalHttp, '/api/v1/namespaces/default'));
        return ns === 200 && (await httpStatus(local(p.temporalUi, '/'))) === 200;
      },
      60_000,
    ),
    ready(registry, async () => (await httpStatus(local(p.registry, '/v2/'))) === 200),
    ready(registryAuth, async () => (await httpStatus(local(p.registryAuth, '/v2/'))) === 401),
    ready(prometheus, async () => (await httpStatus(local(p.prometheus, '/-/ready'))) === 200),
  ]);
  const endpoints: Endpoints = {
    temporal: {
      address: `127.0.0.1:${p.temporal}`,
      namespace: 'default',
      ui: local(p.temporalUi),
      httpApi: local(p.temporalHttp),
      metrics: local(p.temporalMetrics, '/metrics'),
    },
    registry: { url: local(p.registry), host: `127.0.0.1:${p.registry}`, webhookUrl, webhookToken },
    registryAuth: {
      url: local(p.registryAuth),
      host: `127.0.0.1:${p.registryAuth}`,
      username: authUser,
      password: authPassword,
    },
    kubernetes: { server, kubeconfig, context },
    etcd: { url: local(p.etcd) },
    prometheus: { url: local(p.prometheus), targetsDir, rulesDir },
    ...addOns,
  };
  await startKubeletImages(start, ready, dir('kubelet-images'), kubeconfig, kubeletRegistries(endpoints));
  return endpoints;
}

/** Every registry of the stack, with its credentials: pods may name images on any of them. */
function kubeletRegistries(e: Endpoints) {
  return [
    { host: e.registry.host, url: e.registry.url },
    {
      host: e.registryAuth.host,
      url: e.registryAuth.url,
      username: e.registryAuth.username,
      password: e.registryAuth.password,
    },
    { host: e.zot.host, url: e.zot.url, username: e.zot.username, password: e.zot.password },
  ];
}

/**
 * The imageID half of a kubelet (stack/kubelet-images.ts), once the apiserver and the registries
 * answer: KWOK pulls nothing, so pods that name a tag would otherwise never report a digest.
 */
async function startKubeletImages(
  start: (name: string, path: string, args: string[]) => Started,
  ready: (proc: Started, probe: () => Promise<boolean>) => Promise<void>,
  dir: string,
  kubeconfig: string,
  registries: { host: string; url: string; username?: string; password?: string }[],
) {
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ kubeconfig, context, registries }), { mode: 0o600 });
  const proc = start('kubelet-images', process.execPath, [join(stackDir, 'kubelet-images.ts'), configFile]);
  await ready(
    proc,
    async () => existsSync(proc.log) && readFileSync(proc.log, 'utf8').includes('"watching pods"'),
  );
}

/** KWOK's stock node stages and pod completion/deletion, plus our pod start and broken-image stages. */
/**
 * FRESHET_STACK_AUDIT=1: every finished request at Metadata level (user, user agent, verb,
 * resource; no bodies), so a benchmark can tell Freshet's requests from the controllers'.
 */
function auditFlags(workDir: string): string[] {
  if (process.env.FRESHET_STACK_AUDIT !== '1') return [];
  const policy = join(workDir, 'audit-policy.yaml');
  writeFileSync(
    policy,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: [RequestReceived, ResponseStarted]',
      'rules:',
      '  - level: Metadata',
      '',
    ].join('\n'),
  );
  return [
    `--audit-policy-file=${policy}`,
    `--audit-log-path=${auditLogFile}`,
    '--audit-log-format=json',
    '--audit-log-maxsize=200',
    '--audit-log-maxbackup=1',
  ];
}

function writeKwokStages(bin: Binaries, dir: string): string {
  const stock = [
    'node/fast/node-initialize.yaml',
    'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
    'pod/fast/pod-complete.yaml',
    'pod/fast/pod-delete.yaml',
  ].map((f) => readFileSync(join(bin.kwokStages, f), 'utf8'));
  const ours = readFileSync(join(stackDir, 'kwok', 'pod-stages.yaml'), 'utf8');
  const file = join(dir, 'stages.yaml');
  writeFileSync(file, [...stock, ours].map((s) => s.trim()).join('\n---\n'));
  return file;
}

interface KubeResponse {
  status: number;
  body: string;
}

function kubeRequest(
  pki: Pki | undefined,
  method: string,
  url: string,
  body?: unknown,
): Promise<KubeResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        timeout: 3_000,
        ...(pki
          ? {
              ca: readFileSync(pki.caCert),
              cert: readFileSync(pki.adminCert),
              key: readFileSync(pki.adminKey),
            }
          : { rejectUnauthorized: false }),
        headers: payload ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          data += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const kubeGet = (pki: Pki | undefined, url: string) => kubeRequest(pki, 'GET', url);

function envFile(e: Endpoints): string {
  const vars: Record<string, string> = {
    TEMPORAL_ADDRESS: e.temporal.address,
    TEMPORAL_NAMESPACE: e.temporal.namespace,
    FRESHET_STACK_TEMPORAL_UI: e.temporal.ui,
    FRESHET_STACK_REGISTRY: e.registry.host,
    FRESHET_STACK_REGISTRY_URL: e.registry.url,
    FRESHET_STACK_WEBHOOK_TOKEN: e.registry.webhookToken,
    FRESHET_STACK_REGISTRY_AUTH_URL: e.registryAuth.url,
    FRESHET_STACK_REGISTRY_AUTH_USER: e.registryAuth.username,
    FRESHET_STACK_REGISTRY_AUTH_PASSWORD: e.registryAuth.password,
    KUBECONFIG: e.kubernetes.kubeconfig,
    FRESHET_STACK_PROMETHEUS_URL: e.prometheus.url,
    FRESHET_STACK_MOTO_URL: e.moto.url,
    FRESHET_STACK_ZOT: e.zot.host,
    FRESHET_STACK_ZOT_URL: e.zot.url,
    FRESHET_STACK_ZOT_USER: e.zot.username,
    FRESHET_STACK_ZOT_PASSWORD: e.zot.password,
    FRESHET_STACK_NOTIFY_RECEIVER_URL: e.notifyReceiver.url,
    ...(e.temporalCluster
      ? {
          FRESHET_STACK_TEMPORAL_CLUSTER_ADDRESS: e.temporalCluster.address,
          FRESHET_STACK_TEMPORAL_CLUSTER_NAMESPACE: e.temporalCluster.namespace,
        }
      : {}),
  };
  return `${Object.entries(vars)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** Stops exactly the processes recorded in the state file, newest first, and removes the run's files. */
export function stopStack(progress: Progress = quiet): Promise<boolean> {
  return withRunDirLock(runDir, () => stopRecorded(progress));
}

async function stopRecorded(progress: Progress): Promise<boolean> {
  const state = readState();
  if (!state) return false;
  for (const proc of [...state.processes].reverse()) {
    const alive = isRunning(proc.pid, proc.bin);
    await stopProcess(proc);
    if (alive) progress(`stopped ${proc.name} (pid ${proc.pid})`);
  }
  if (state.dataDir.startsWith(join(tmpdir(), 'freshet-stack-'))) {
    rmSync(state.dataDir, { recursive: true, force: true });
  }
  for (const f of ['stack.json', 'stack.env', 'kubeconfig']) rmSync(join(runDir, f), { force: true });
  rmSync(auditLogFile, { force: true });
  return true;
}
