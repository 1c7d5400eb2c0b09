// A pipeline on the stack for rollout tests: two namespaces (staging, production) with a few
// Deployments running a pushed baseline image, a config that targets them, and a daemon.
// Names carry a suffix so test files run side by side on one stack.
import { Client, Connection } from '@temporalio/client';
import { requestRollout } from '../../activities/rollout/request.ts';
import type { Config } from '../../config/schema.ts';
import type { Endpoints } from '../../stack/layout.ts';
import type { Daemon } from '../../worker/daemon.ts';
import type { RolloutResult } from '../../workflows/rollout-messages.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from './daemon.ts';
import { type PushedImage, pushImage } from './image-pusher.ts';
import {
  createNamespace,
  deleteNamespace,
  deploymentManifest,
  type Kube,
  kubeClients,
  rolloutComplete,
} from './kube.ts';
import { connectTemporal } from './temporal.ts';
import { waitFor } from './wait.ts';

export interface FixtureOptions {
  deployments?: number;
  replicas?: number;
  /** YAML of the staging stage's `health` block. */
  stagingHealth?: string;
  /** YAML of the production stage's `approval` block; omit for no gate. */
  approval?: string;
  waves?: string;
  onNewerDigest?: 'supersede' | 'queue';
  /** Poll interval of the image; long by default, so only explicit requests start rollouts. */
  interval?: string;
  startDaemon?: boolean;
  /** YAML of the config's `notifications` block (its value, one line). */
  notifications?: string;
  /** A registry of the test's own, such as one with htpasswd auth, instead of the stack's. */
  registry?: {
    url: string;
    /** YAML of the registry's `auth` block. */
    auth: string;
    /** Credentials for pushing images. */
    push: { username: string; password: string };
  };
}

export interface RolloutFixture {
  suffix: string;
  pipeline: string;
  image: string;
  repository: string;
  staging: string;
  production: string;
  deployments: string[];
  baseline: PushedImage;
  config: Config;
  /** The config as YAML with ${VAR} references, and the variables it needs (for a CLI child). */
  yaml: string;
  env: Record<string, string>;
  kube: Kube;
  client: Client;
  /** Undefined with startDaemon: false. */
  daemon: Daemon;
  push(opts?: { broken?: boolean }): Promise<PushedImage>;
  /** Asks for a rollout the way the watch does, and returns its workflow id. */
  request(image: PushedImage): Promise<string>;
  result(rolloutId: string): Promise<RolloutResult>;
  images(namespace: string): Promise<Record<string, string>>;
  generations(namespace: string): Promise<Record<string, number>>;
  allComplete(namespace: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function createRolloutFixture(
  stack: Endpoints,
  opts: FixtureOptions = {},
): Promise<RolloutFixture> {
  await connectTemporal(stack);
  const s = uniqueSuffix();
  const kube = kubeClients(stack.kubernetes.kubeconfig);
  const repository = `ro-${s}/web`;
  const pipeline = `web-${s}`;
  const image = `web-${s}`;
  const staging = `stg-${s}`;
  const production = `prd-${s}`;
  const deployments = Array.from({ length: opts.deployments ?? 3 }, (_, i) => `web-${i + 1}`);
  const registryUrl = opts.registry?.url ?? stack.registry.url;
  const pushAuth = opts.registry ? { auth: opts.registry.push } : {};
  const baseline = await pushImage({ registryUrl, repository, tag: '1.0', ...pushAuth });

  for (const ns of [staging, production]) {
    await createNamespace(kube, ns);
    for (const name of deployments) {
      const manifest = deploymentManifest({ name, image: baseline.reference, replicas: opts.replicas ?? 2 });
      manifest.metadata = {
        ...manifest.metadata,
        labels: { app: name, 'app.kubernetes.io/part-of': 'shop' },
      };
      await kube.apps.createNamespacedDeployment({ namespace: ns, body: manifest });
    }
  }
  const env = {
    REGISTRY_URL: registryUrl,
    KUBECONFIG_PATH: stack.kubernetes.kubeconfig,
    TEMPORAL_ADDRESS: stack.temporal.address,
    TASK_QUEUE: `freshet-test-${s}`,
  };
  const yaml = `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: reg-${s}, url: "\${REGISTRY_URL}"${opts.registry ? `, auth: ${opts.registry.auth}` : ''} } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: ${image}, registry: reg-${s}, repository: ${repository}, track: { tag: "1.0" }, pipeline: ${pipeline}, interval: ${opts.interval ?? '1h'} }
pipelines:
  ${pipeline}:
    onNewerDigest: ${opts.onNewerDigest ?? 'supersede'}
    stages:
      - name: staging
        cluster: local
        targets: [ { namespace: ${staging}, selector: { app.kubernetes.io/part-of: shop } } ]
        waves: ${opts.waves ?? '[ { count: 1 }, { percent: 100 } ]'}
        health: ${opts.stagingHealth ?? '{ rolloutTimeout: 60s }'}
      - name: production
        cluster: local
        ${opts.approval ? `approval: ${opts.approval}` : ''}
        targets: [ ${deployments.map((d) => `{ namespace: ${production}, deployment: ${d} }`).join(', ')} ]
        waves: [ { percent: 100, maxParallel: 2 } ]
        health: { rolloutTimeout: 60s }
${opts.notifications ? `notifications: ${opts.notifications}` : ''}
`;
  const config = stackConfig(stack, yaml, env);
  await waitFor(
    'the baseline Deployments to be available',
    async () => {
      for (const ns of [staging, production]) if (!(await allComplete(ns))) return false;
      return true;
    },
    { timeoutMs: 90_000 },
  );
  const daemon =
    opts.startDaemon === false ? (undefined as unknown as Daemon) : await startTestDaemon(config);
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  if (daemon) {
    // A push before the watch knows the baseline would become the baseline, not a rebuild.
    const watch = client.workflow.getHandle(watchWorkflowId(config.temporal.instance, `reg-${s}`));
    await waitFor('the watch to record the baseline digest', async () => {
      const st = await watch.query(watchStatusQuery);
      return st.images[0]?.state.latest?.digest === baseline.digest;
    });
  }

  async function list(namespace: string) {
    return (await kube.apps.listNamespacedDeployment({ namespace })).items;
  }
  async function allComplete(namespace: string) {
    const items = await list(namespace);
    return items.length === deployments.length && items.every(rolloutComplete);
  }

  return {
    suffix: s,
    pipeline,
    image,
    repository,
    staging,
    production,
    deployments,
    baseline,
    config,
    yaml,
    env,
    kube,
    client,
    daemon,
    push: (o = {}) =>
      pushImage({
        registryUrl,
        repository,
        tag: '1.0',
        ...pushAuth,
        ...(o.broken ? { broken: true } : {}),
      }),
    async request(pushed) {
      const { rolloutId } = await requestRollout(
        { client, config, searchAttributes: true },
        {
          pipeline,
          image,
          registry: `reg-${s}`,
          repository,
          tag: pushed.tag,
          digest: pushed.digest,
          trigger: 'manual',
          detectedAt: new Date().toISOString(),
        },
      );
      return rolloutId;
    },
    async result(rolloutId) {
      const handle = client.workflow.getHandle(rolloutId);
      await waitFor(`rollout ${rolloutId} to start`, () => handle.describe().catch(() => undefined));
      return (await handle.result()) as RolloutResult;
    },
    async images(namespace) {
      return Object.fromEntries(
        (await list(namespace)).map((d) => [
          d.metadata?.name ?? '',
          d.spec?.template.spec?.containers[0]?.image ?? '',
        ]),
      );
    },
    async generations(namespace) {
      return Object.fromEntries(
        (await list(namespace)).map((d) => [d.metadata?.name ?? '', d.metadata?.generation ?? 0]),
      );
    },
    allComplete,
    async close(this: RolloutFixture) {
      // Whatever this fixture started and left running (watch, pipeline, rollouts) ends with it.
      for await (const wf of client.workflow.list({
        query: `ExecutionStatus = 'Running' AND TaskQueue = '${env.TASK_QUEUE}'`,
      })) {
        await client.workflow
          .getHandle(wf.workflowId)
          .terminate('test over')
          .catch(() => undefined);
      }
      // The daemon running now: a test may have replaced the one it started with.
      await this.daemon?.close();
      await connection.close();
      await deleteNamespace(kube, staging);
      await deleteNamespace(kube, production);
    },
  };
}

/**
 * The fixture's config as an operator's file with change windows on the staging stage (YAML of
 * the `windows` list): the same task queue and targets, so a rollout requested with it runs on
 * the fixture's daemon under those windows.
 */
export function withStagingWindows(
  stack: Endpoints,
  fx: RolloutFixture,
  windows: string,
): { yaml: string; config: Config } {
  const yaml = fx.yaml.replace('\n        targets: [', `\n        windows: ${windows}\n        targets: [`);
  return { yaml, config: stackConfig(stack, yaml, fx.env) };
}
