// `npm run bench -- detect`: how long from a push to the rollout workflow's start, through the
// registry's webhook (the stack's registry notifies 127.0.0.1:9464) and, as the baseline, through
// polling (the htpasswd registry, which sends no notifications). One daemon watches both images.
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { type Config, configSchema } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { waitFor } from '../test/support/wait.ts';
import { type Daemon, startDaemon } from '../worker/daemon.ts';
import type { RolloutResult } from '../workflows/rollout-messages.ts';
import { rolloutWorkflowId, watchStatusQuery, watchWorkflowId } from '../workflows/watch-messages.ts';
import { installQuietRuntime, type Progress, progressFor, runSuffix, warningsTo } from './harness.ts';
import { percentile, round } from './stats.ts';

const webhookPushes = 40;
const pollPushes = 24;
const pollIntervalMs = 5_000;
const pipeline = 'bench';
const tag = '1';

interface Path {
  label: 'webhook' | 'poll';
  registry: string;
  registryUrl: string;
  repository: string;
  image: string;
  auth?: { username: string; password: string };
  /** temporal.instance of the daemon, which workflow ids carry. */
  instance: string;
}

export async function detect(stack: Endpoints): Promise<Record<string, number>> {
  const progress = progressFor('detect');
  installQuietRuntime();
  const listen = await webhookListenAddress(stack);
  const suffix = runSuffix();
  const tokenEnv = `FRESHET_BENCH_WEBHOOK_TOKEN_${suffix}`;
  const userEnv = `FRESHET_BENCH_REG_USER_${suffix}`;
  const passEnv = `FRESHET_BENCH_REG_PASS_${suffix}`;
  const instance = `freshet-bench-detect-${suffix}`;
  process.env[tokenEnv] = stack.registry.webhookToken;
  process.env[userEnv] = stack.registryAuth.username;
  process.env[passEnv] = stack.registryAuth.password;

  const hooked: Path = {
    label: 'webhook',
    registry: `bench-hook-${suffix}`,
    registryUrl: stack.registry.url,
    repository: `bench-${suffix}/hooked`,
    image: `hooked-${suffix}`,
    instance,
  };
  const polled: Path = {
    label: 'poll',
    registry: `bench-poll-${suffix}`,
    registryUrl: stack.registryAuth.url,
    repository: `bench-${suffix}/polled`,
    image: `polled-${suffix}`,
    auth: { username: stack.registryAuth.username, password: stack.registryAuth.password },
    instance,
  };
  const config: Config = configSchema.parse({
    temporal: { address: stack.temporal.address, taskQueue: instance },
    registries: [
      {
        name: hooked.registry,
        url: hooked.registryUrl,
        webhook: { source: 'distribution', tokenEnv },
      },
      {
        name: polled.registry,
        url: polled.registryUrl,
        auth: { type: 'basic', usernameEnv: userEnv, passwordEnv: passEnv },
      },
    ],
    clusters: { local: { kubeconfig: stack.kubernetes.kubeconfig, context: stack.kubernetes.context } },
    images: [
      // Ten minutes: within a run only the webhook can start this image's rollouts.
      { ...imageOf(hooked), interval: '10m' },
      { ...imageOf(polled), interval: `${pollIntervalMs}ms` },
    ],
    pipelines: {
      [pipeline]: {
        stages: [
          {
            name: 'staging',
            cluster: 'local',
            targets: [{ namespace: `bench-${suffix}`, deployment: 'web' }],
          },
        ],
      },
    },
  });

  for (const path of [hooked, polled]) await push(path);
  progress(`pushed the baseline images; starting the daemon on ${listen} (bundling workflows)`);
  let daemon: Daemon | undefined;
  try {
    daemon = await startDaemon({
      config,
      listen,
      logger: warningsTo(progress),
      freshnessIntervalMs: 3_600_000,
      // The workflow's default window (5 s) would check a 5 s image early on about half the cycles.
      batchWindowMs: 100,
    });
    const client = daemon.client;
    for (const path of [hooked, polled]) {
      await waitFor(`the baseline digest of ${path.image}`, () => baselineSeen(client, path), {
        timeoutMs: 60_000,
      });
    }
    progress('baselines recorded');

    // The registry queues notifications while nobody listens and backs off after failures; the
    // first push after the daemon is up flushes that backlog and is not measured.
    const warmup = await measurePush(client, hooked, 60_000);
    progress(`warm-up webhook push: ${warmup.latencyMs} ms (not counted)`);

    const webhook = await measurePath(client, hooked, webhookPushes, progress, async () => {
      await sleep(100 + Math.random() * 200);
    });
    // Pushes land at a random phase of the poll cycle, as real pushes do.
    const poll = await measurePath(client, polled, pollPushes, progress, async () => {
      await sleep(Math.random() * pollIntervalMs);
    });

    const webhookP50 = percentile(webhook, 50);
    const pollP50 = percentile(poll, 50);
    return {
      webhook_p50_ms: round(webhookP50, 0),
      webhook_p95_ms: round(percentile(webhook, 95), 0),
      webhook_max_ms: Math.max(...webhook),
      webhook_pushes: webhook.length,
      poll_p50_ms: round(pollP50, 0),
      poll_p95_ms: round(percentile(poll, 95), 0),
      poll_max_ms: Math.max(...poll),
      poll_pushes: poll.length,
      poll_interval_ms: pollIntervalMs,
      webhook_vs_poll_p50_ratio: round(webhookP50 / pollP50, 3),
    };
  } finally {
    if (daemon) {
      for (const path of [hooked, polled]) {
        await daemon.client.workflow
          .getHandle(watchWorkflowId(config.temporal.instance, path.registry))
          .terminate('benchmark over')
          .catch(() => undefined);
      }
      await daemon.close();
    }
    for (const name of [tokenEnv, userEnv, passEnv]) delete process.env[name];
  }
}

function imageOf(path: Path) {
  return {
    name: path.image,
    registry: path.registry,
    repository: path.repository,
    track: { tag },
    pipeline,
  };
}

/** The daemon must listen where the stack's registry sends its notifications. */
async function webhookListenAddress(stack: Endpoints): Promise<string> {
  const url = new URL(stack.registry.webhookUrl);
  if (url.pathname !== '/webhooks/distribution' || url.protocol !== 'http:') {
    throw new Error(
      `detect: the stack's registry notifies ${stack.registry.webhookUrl}, which is not a Freshet ` +
        "daemon's http://HOST:PORT/webhooks/distribution; restart the stack without FRESHET_STACK_WEBHOOK_URL",
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 80);
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is busy' : `cannot be bound (${err.code})`;
      reject(
        new Error(
          `detect: ${host}:${port} ${why}. The stack's registry sends its notifications there, so the ` +
            `benchmark's daemon must listen on it; stop whatever listens there (ss -ltnp 'sport = :${port}').`,
        ),
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
  return `${host}:${port}`;
}

async function push(path: Path) {
  return pushImage({
    registryUrl: path.registryUrl,
    repository: path.repository,
    tag,
    ...(path.auth ? { auth: path.auth } : {}),
  });
}

async function baselineSeen(client: Client, path: Path): Promise<boolean> {
  const status = await client.workflow
    .getHandle(watchWorkflowId(path.instance, path.registry))
    .query(watchStatusQuery);
  return status.images.some((i) => i.image.name === path.image && i.state.latest !== undefined);
}

/** Pushes a rebuild and waits for its rollout; latency is the workflow's start time minus the push's end. */
async function measurePush(client: Client, path: Path, timeoutMs: number) {
  const pushed = await push(path);
  const pushedAt = Date.now();
  const workflowId = rolloutWorkflowId(pipeline, path.image, pushed.digest, path.instance);
  const handle = client.workflow.getHandle(workflowId);
  const described = await waitFor(
    `the ${path.label} path to start ${workflowId} (is the daemon reached at the stack's webhook URL?)`,
    () => handle.describe().catch(() => undefined),
    { timeoutMs, intervalMs: 50 },
  );
  return { workflowId, latencyMs: described.startTime.getTime() - pushedAt };
}

async function measurePath(
  client: Client,
  path: Path,
  pushes: number,
  progress: Progress,
  pause: () => Promise<void>,
): Promise<number[]> {
  const latencies: number[] = [];
  const workflowIds: string[] = [];
  // A webhook that never arrives must fail the run, not wait for the ten-minute poll.
  const timeoutMs = path.label === 'webhook' ? 15_000 : pollIntervalMs * 3;
  for (let i = 0; i < pushes; i++) {
    await pause();
    const { workflowId, latencyMs } = await measurePush(client, path, timeoutMs);
    latencies.push(latencyMs);
    workflowIds.push(workflowId);
    progress(`${path.label} push ${i + 1}/${pushes}: ${latencyMs} ms`);
  }
  // Each rollout must have been started by the path under test, or the figures mean nothing.
  for (const workflowId of workflowIds) {
    const result = (await client.workflow.getHandle(workflowId).result()) as RolloutResult;
    if (result.request.trigger !== path.label)
      throw new Error(`${workflowId} was triggered by ${result.request.trigger}, not by ${path.label}`);
  }
  return latencies;
}
