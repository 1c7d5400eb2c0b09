// `npm run bench -- soak`: what a long soak costs in history. One stage, one Deployment, a
// 10-minute soak whose checks (an HTTP check against a counter in this process and a Prometheus
// query) run every 100 ms. The rollout's history events are counted after it succeeds; the checks'
// hits on the counter show they really ran. Baseline, in the same run: the soak as it was before
// (bench/workflows/naive-soak.ts, one timer and one round of check activities per interval) for
// one minute, its events scaled to the same 10 minutes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { checkSpecsFromConfig } from '../activities/health/check-specs.ts';
import { createHealthActivities } from '../activities/health/index.ts';
import { requestRollout } from '../activities/rollout/request.ts';
import type { Config } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { type Daemon, startDaemon } from '../worker/daemon.ts';
import { hasSearchAttributes } from '../worker/rollouts.ts';
import { type RolloutResult, rolloutWorkflowId } from '../workflows/rollout-messages.ts';
import { installQuietRuntime, progressFor, runSuffix, warningsTo } from './harness.ts';
import {
  allRolledOut,
  createDeployments,
  kubeClients,
  removeNamespaces,
  rolloutConfig,
  rolloutResult,
  terminateAll,
  watchNamespace,
} from './rollout-setup.ts';
import type { naiveSoakWorkflow } from './workflows/naive-soak.ts';

const soakMs = 10 * 60_000;
const intervalMs = 100;
const baselineMs = 60_000;
const naiveWorkflowsPath = fileURLToPath(new URL('./workflows/naive-soak.ts', import.meta.url));

export async function soak(stack: Endpoints): Promise<Record<string, number>> {
  const progress = progressFor('soak');
  installQuietRuntime();
  const suffix = runSuffix();
  const kube = kubeClients(stack.kubernetes.kubeconfig);
  const namespace = `soak-${suffix}`;
  const registry = `bench-soak-${suffix}`;
  const repository = `bench-soak-${suffix}/web`;
  const pipeline = `soak-${suffix}`;
  const image = `web-${suffix}`;
  let hits = 0;
  const counter = createServer((_req, res) => {
    hits++;
    res.end('ok');
  });
  await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
  const healthUrl = `http://127.0.0.1:${(counter.address() as AddressInfo).port}/healthz`;
  const health = {
    rolloutTimeout: '60s',
    soak: `${soakMs / 60_000}m`,
    checks: [
      { name: 'counter', http: { url: healthUrl, expectStatus: 200 } },
      {
        name: 'errors',
        prometheus: { url: stack.prometheus.url, query: 'vector(0)', max: 0.01, interval: `${intervalMs}ms` },
      },
    ],
  };
  const config: Config = rolloutConfig(stack, {
    registry,
    taskQueue: `freshet-bench-soak-${suffix}`,
    pipelines: {
      [pipeline]: {
        stages: [{ name: 'soak', cluster: 'local', targets: [{ namespace, deployment: 'web-1' }], health }],
      },
    },
    // The daemon rolls out only images its config names for the pipeline.
    images: [{ name: image, repository, tag: '1', pipeline }],
  });
  const baseline = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
  const rebuilt = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
  const ids: string[] = [];
  let daemon: Daemon | undefined;
  try {
    const starting = startDaemon({ config, listen: '127.0.0.1:0', logger: warningsTo(progress) });
    await createDeployments(kube, namespace, ['web-1'], baseline.reference);
    const watch = await watchNamespace(kube, namespace);
    await allRolledOut(watch, ['web-1'], () => baseline.reference, 120_000);
    watch.close();
    daemon = await starting;
    const client = daemon.client;

    // Baseline first: one minute of the old soak, in a worker of its own.
    const taskQueue = `freshet-bench-naive-soak-${suffix}`;
    const connection = await NativeConnection.connect({ address: stack.temporal.address });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: naiveWorkflowsPath,
      activities: createHealthActivities({ config }),
    });
    const naiveId = `freshet-bench-naive-soak-${suffix}`;
    ids.push(naiveId);
    progress(`baseline: ${baselineMs / 1000} s of the check-by-check soak at ${intervalMs} ms`);
    const checks = checkSpecsFromConfig(config.pipelines[pipeline]?.stages[0]?.health.checks ?? []);
    const rounds = await worker.runUntil(
      client.workflow.execute<typeof naiveSoakWorkflow>('naiveSoakWorkflow', {
        workflowId: naiveId,
        taskQueue,
        args: [checks, baselineMs, intervalMs],
      }),
    );
    await connection.close();
    const naiveEvents = (await client.workflow.getHandle(naiveId).fetchHistory()).events?.length ?? 0;

    progress(`Freshet: a ${soakMs / 60_000}-minute soak with checks every ${intervalMs} ms`);
    const hitsBefore = hits;
    const searchAttributes = await hasSearchAttributes(client, config.temporal.namespace);
    const rolloutId = rolloutWorkflowId(pipeline, image, rebuilt.digest, config.temporal.instance);
    ids.push(rolloutId);
    await requestRollout(
      { client, config, searchAttributes },
      {
        pipeline,
        image,
        registry,
        repository,
        tag: '1',
        digest: rebuilt.digest,
        trigger: 'manual',
        detectedAt: new Date().toISOString(),
      },
    );
    const result = await rolloutResult<RolloutResult>(client, rolloutId, soakMs + 300_000);
    if (result.outcome !== 'succeeded') throw new Error(`${rolloutId}: ${result.outcome}: ${result.reason}`);
    const events = (await client.workflow.getHandle(rolloutId).fetchHistory()).events?.length ?? 0;
    const checkRounds = hits - hitsBefore;
    const naiveScaled = Math.round((naiveEvents * soakMs) / baselineMs);
    return {
      soak_ms: soakMs,
      check_interval_ms: intervalMs,
      history_events: events,
      check_rounds: checkRounds,
      naive_history_events: naiveScaled,
      naive_baseline_rounds: rounds,
      ratio_vs_naive: Math.round((events / naiveScaled) * 10_000) / 10_000,
    };
  } finally {
    counter.close();
    if (daemon) await terminateAll(daemon.client, ids, 'benchmark over');
    await daemon?.close();
    await removeNamespaces(kube, [namespace], progress);
  }
}
