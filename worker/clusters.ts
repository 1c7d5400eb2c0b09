// Kubernetes API clients per configured cluster.
import { createHash } from 'node:crypto';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  createConfiguration,
  KubeConfig,
  type RequestContext,
  ServerConfiguration,
  setHeaderMiddleware,
} from '@kubernetes/client-node';
import {
  createSharedWatches,
  type SharedWatches,
  type WatchError,
} from '../activities/kubernetes/shared-watches.ts';
import type { ClusterConfig, Config } from '../config/schema.ts';
import packageJson from '../package.json' with { type: 'json' };

/** How Freshet's requests show in the apiserver's audit log (`userAgent`), beside kubectl's and the controllers'. */
export const userAgent = `freshet/${packageJson.version}`;

export interface ClusterClients {
  name: string;
  config: KubeConfig;
  apps: AppsV1Api;
  batch: BatchV1Api;
  core: CoreV1Api;
  /** The daemon's shared watches (a one-shot command reads with LISTs and has none). */
  watches?: SharedWatches;
}

export function kubeConfigFor(cluster: ClusterConfig): KubeConfig {
  const kc = new KubeConfig();
  if (cluster.inCluster) kc.loadFromCluster();
  else if (cluster.kubeconfig) kc.loadFromFile(cluster.kubeconfig);
  else kc.loadFromDefault();
  if (cluster.context) kc.setCurrentContext(cluster.context);
  reuseConnections(kc);
  identifyAs(kc, userAgent);
  return kc;
}

type ApiType<T> = new (config: ReturnType<typeof createConfiguration>) => T;

/**
 * client-node names every client `kubernetes-client-javascript/<version>` and sends its watches
 * with fetch's default: both become Freshet's own name, for API clients made from this config
 * (makeApiClient) and for watches (applySecurityAuthentication runs for both).
 */
function identifyAs(kc: KubeConfig, agent: string): void {
  const authenticate = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (context: RequestContext) => {
    await authenticate(context);
    context.setHeaderParam('User-Agent', agent);
  };
  kc.makeApiClient = <T>(apiClientType: ApiType<T>): T => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    return new apiClientType(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: kc },
        middleware: [setHeaderMiddleware('User-Agent', agent)],
      }),
    );
  };
}

type DispatcherFactory = (cluster: unknown, agentOptions: unknown) => unknown;

/**
 * client-node 2.0 builds a new connection pool (undici Agent) for every request, so every call
 * pays a TCP and TLS handshake; the rollout benchmark measured 5x slower sequential calls. One
 * pool per distinct TLS setup (rotated certificates get a new one) keeps connections alive.
 */
function reuseConnections(kc: KubeConfig): void {
  const target = kc as unknown as { createDispatcher?: DispatcherFactory };
  const create = target.createDispatcher?.bind(kc);
  if (!create) return;
  const pools = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = createHash('sha256')
      .update(JSON.stringify([cluster, agentOptions]))
      .digest('hex');
    if (!pools.has(key)) pools.set(key, create(cluster, agentOptions));
    return pools.get(key);
  };
}

export interface ClusterClientOptions {
  /** Share one watch per namespace and kind (a long-running daemon); told of each watch failure. */
  watches?: { onError?: (error: WatchError) => void };
}

export function buildClusterClients(
  config: Config,
  options: ClusterClientOptions = {},
): Map<string, ClusterClients> {
  const out = new Map<string, ClusterClients>();
  for (const [name, cluster] of Object.entries(config.clusters)) {
    const kc = kubeConfigFor(cluster);
    const apps = kc.makeApiClient(AppsV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const watches = options.watches
      ? createSharedWatches({
          cluster: name,
          config: kc,
          clients: { apps, batch, core },
          ...(options.watches.onError ? { onError: options.watches.onError } : {}),
        })
      : undefined;
    out.set(name, { name, config: kc, apps, batch, core, ...(watches ? { watches } : {}) });
  }
  return out;
}

/** Stops every shared watch. */
export async function closeClusterClients(clusters: ReadonlyMap<string, ClusterClients>): Promise<void> {
  await Promise.all([...clusters.values()].map((c) => c.watches?.close()));
}
