// `npm run bench -- rollback`: how fast a failed stage is undone. One stage, 3 Deployments in one
// wave, an in-process daemon. Two ways to fail, each repeated:
// - check (the headline p50/p95): the image is fine, but the stage's Prometheus check
//   (`vector(1)`, max 0) fails at the first check after the wave. From the check's
//   ActivityTaskCompleted (history event time) to the benchmark's watch seeing the last of the 3
//   Deployments back on its previous image.
// - stalled: a broken image (digest sha256:bad0…, never ready in KWOK) with the Deployments'
//   progressDeadlineSeconds at 1, so the deployment controller itself declares the failure
//   (Progressing=False, ProgressDeadlineExceeded). From the watch first seeing that condition on
//   any of the 3 to the watch seeing the last of them back on its previous image.
import { requestRollout } from '../activities/rollout/request.ts';
import type { Config } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { type PushedImage, pushImage } from '../test/support/image-pusher.ts';
import { type Daemon, startDaemon } from '../worker/daemon.ts';
import { hasSearchAttributes } from '../worker/rollouts.ts';
import { pipelineWorkflowId, type RolloutResult, rolloutWorkflowId } from '../workflows/rollout-messages.ts';
import { installQuietRuntime, type Progress, progressFor, runSuffix, warningsTo } from './harness.ts';
import {
  allRolledOut,
  createDeployments,
  imageOf,
  kubeClients,
  muteActivityFailures,
  type NamespaceWatch,
  removeNamespaces,
  rolloutConfig,
  rolloutResult,
  terminateAll,
  timelineOf,
  watchNamespace,
} from './rollout-setup.ts';
import { median, percentile, round } from './stats.ts';

const reps = 10;
const names = ['web-1', 'web-2', 'web-3'];
const tag = '1';
const selector = { 'freshet.dev/bench': 'rollback' };
const rolloutTimeout = '60s';

type Path = 'check' | 'stalled';

interface Sample {
  /** Failure visible → last Deployment seen back on its previous image. */
  ms: number;
  /** Failure visible → last rollbackDeployment ActivityTaskCompleted (history). */
  historyMs: number;
  /** stalled: first → last Deployment seen with ProgressDeadlineExceeded. */
  spreadMs: number;
  /** Per rollbackDeployment, in order: workflow task (failure or previous completion → scheduled), queue (→ started), run (→ completed). */
  steps: { wft: number; queue: number; run: number }[];
  detail: string;
}

export async function rollback(stack: Endpoints): Promise<Record<string, number>> {
  const progress = progressFor('rollback');
  installQuietRuntime();
  muteActivityFailures(['DeploymentNotReady']);
  const suffix = runSuffix();
  const kube = kubeClients(stack.kubernetes.kubeconfig);
  const registry = `bench-rb-${suffix}`;
  const repository = `bench-rb-${suffix}/web`;
  const imageNameOf = (path: Path) => `web-${path}-${suffix}`;
  const pipelines: Record<Path, string> = { check: `rb-${suffix}-check`, stalled: `rb-${suffix}-stalled` };
  const namespaces: Record<Path, string> = { check: `rb-${suffix}-check`, stalled: `rb-${suffix}-stalled` };
  const stage = (path: Path) => ({
    stages: [
      {
        name: 'canary',
        cluster: 'local',
        targets: [{ namespace: namespaces[path], selector }],
        waves: [{ percent: 100 }],
        health: {
          rolloutTimeout,
          ...(path === 'check'
            ? {
                checks: [
                  {
                    name: 'always-failing',
                    prometheus: { url: stack.prometheus.url, query: 'vector(1)', max: 0 },
                  },
                ],
              }
            : {}),
        },
      },
    ],
  });
  const config: Config = rolloutConfig(stack, {
    registry,
    taskQueue: `freshet-bench-rollback-${suffix}`,
    pipelines: { [pipelines.check]: stage('check'), [pipelines.stalled]: stage('stalled') },
    // The daemon rolls out only images its config names for the pipeline: one entry per path.
    images: (['check', 'stalled'] as const).map((path) => ({
      name: imageNameOf(path),
      repository,
      tag,
      pipeline: pipelines[path],
    })),
  });
  const push = (broken = false) =>
    pushImage({ registryUrl: stack.registry.url, repository, tag, ...(broken ? { broken } : {}) });
  const baseline = await push();
  const rolloutIds: string[] = [];
  const watches: NamespaceWatch[] = [];
  let daemon: Daemon | undefined;
  try {
    progress('creating 2 × 3 Deployments (replicas 1) and starting the daemon');
    const starting = startDaemon({
      config,
      listen: '127.0.0.1:0',
      logger: warningsTo(progress),
      freshnessIntervalMs: 3_600_000,
    });
    await createDeployments(kube, namespaces.check, names, baseline.reference, { labels: selector });
    await createDeployments(kube, namespaces.stalled, names, baseline.reference, {
      labels: selector,
      progressDeadlineSeconds: 1,
    });
    const watch: Record<Path, NamespaceWatch> = {
      check: await watchNamespace(kube, namespaces.check),
      stalled: await watchNamespace(kube, namespaces.stalled),
    };
    watches.push(watch.check, watch.stalled);
    daemon = await starting;
    const client = daemon.client;
    const searchAttributes = await hasSearchAttributes(client, config.temporal.namespace);
    for (const path of ['check', 'stalled'] as const) {
      await allRolledOut(watch[path], names, () => baseline.reference, 120_000);
    }
    progress('Deployments available; daemon up');

    const run = async (path: Path, pushed: PushedImage) => {
      const image = imageNameOf(path);
      const rolloutId = rolloutWorkflowId(pipelines[path], image, pushed.digest, config.temporal.instance);
      rolloutIds.push(rolloutId);
      const t0 = Date.now();
      await requestRollout(
        { client, config, searchAttributes },
        {
          pipeline: pipelines[path],
          image,
          registry,
          repository,
          tag,
          digest: pushed.digest,
          trigger: 'manual',
          detectedAt: new Date(t0).toISOString(),
        },
      );
      const result = await rolloutResult<RolloutResult>(client, rolloutId, 180_000);
      if (result.outcome !== 'rolled_back' && result.outcome !== 'failed') {
        throw new Error(`${rolloutId}: expected a rollback, got ${result.outcome}: ${result.reason}`);
      }
      const reverted = result.targets.filter((t) => t.image === baseline.reference).length;
      if (reverted !== names.length) {
        throw new Error(`${rolloutId}: ${reverted}/${names.length} reverted: ${result.reason}`);
      }
      // The next repetition starts from available Deployments on the baseline.
      await allRolledOut(watch[path], names, () => baseline.reference, 120_000);
      return { rolloutId, t0, result };
    };

    const measure = async (path: Path, pushed: PushedImage): Promise<Sample> => {
      const { rolloutId, t0, result } = await run(path, pushed);
      const w = watch[path];
      const tl = await timelineOf(client, rolloutId);
      const rollbacks = tl.activities.filter((a) => a.type === 'rollbackDeployment');
      const back = names.map((n) => {
        const patched = w.firstSeen(n, (d) => imageOf(d) === pushed.reference, t0);
        if (patched === undefined) throw new Error(`${rolloutId}: ${n} was never seen on the new image`);
        const reverted = w.firstSeen(n, (d) => imageOf(d) === baseline.reference, patched);
        if (reverted === undefined) throw new Error(`${rolloutId}: ${n} was never seen back`);
        return reverted;
      });
      let visible: number;
      let spreadMs = 0;
      if (path === 'check') {
        const check = tl.activities.find((a) => a.type === 'runHealthCheck');
        if (check?.completed === undefined) throw new Error(`${rolloutId}: no completed runHealthCheck`);
        visible = check.completed;
      } else {
        // The first stall starts the rollback, which cancels the other waits: the others may be
        // patched back before their own deadline passes.
        const stalled = names
          .map((n) => w.firstSeen(n, deadlineExceeded, t0))
          .filter((t): t is number => t !== undefined);
        if (stalled.length === 0) {
          throw new Error(`${rolloutId}: no Deployment showed ProgressDeadlineExceeded (${result.reason})`);
        }
        visible = Math.min(...stalled);
        spreadMs = Math.max(...stalled) - visible;
      }
      const lastBack = Math.max(...back);
      const lastRollback = Math.max(...rollbacks.map((a) => a.completed ?? Number.NaN));
      const steps = rollbacks.map((a, i) => ({
        wft: round(a.scheduled - (i === 0 ? visible : (rollbacks[i - 1]?.completed ?? Number.NaN)), 0),
        queue: round((a.started ?? Number.NaN) - a.scheduled, 0),
        run: round((a.completed ?? Number.NaN) - (a.started ?? Number.NaN), 0),
      }));
      return {
        ms: round(lastBack - visible, 0),
        historyMs: round(lastRollback - visible, 0),
        spreadMs: round(spreadMs, 0),
        steps,
        detail:
          `${path === 'stalled' ? `stall spread ${round(spreadMs, 0)} ms; ` : ''}rollbackDeployment ` +
          `(workflow task+queue+run ms) ${steps.map((x) => `${x.wft}+${x.queue}+${x.run}`).join(', ')}; ` +
          `last completed +${round(lastRollback - visible, 0)} ms, last seen back +${round(lastBack - visible, 0)} ms`,
      };
    };

    // The first rollout of a fresh worker loads the workflow code and opens connections.
    await run('check', await push());
    progress('warm-up rollout done (not counted)');
    const samples: Record<Path, Sample[]> = { check: [], stalled: [] };
    for (let i = 0; i < reps; i++) {
      for (const path of i % 2 === 0 ? (['check', 'stalled'] as const) : (['stalled', 'check'] as const)) {
        const sample = await measure(path, await push(path === 'stalled'));
        samples[path].push(sample);
        progress(`${path} ${i + 1}/${reps}: ${sample.ms} ms (${sample.detail})`);
      }
    }
    return summarise(samples, progress);
  } finally {
    for (const w of watches) w.close();
    if (daemon) {
      await terminateAll(
        daemon.client,
        [
          ...rolloutIds,
          pipelineWorkflowId(config.temporal.instance, pipelines.check),
          pipelineWorkflowId(config.temporal.instance, pipelines.stalled),
        ],
        'benchmark over',
      );
      await daemon.close();
    }
    await removeNamespaces(kube, Object.values(namespaces), progress);
  }
}

function deadlineExceeded(d: { status: { conditions: { type: string; reason?: string | undefined }[] } }) {
  return d.status.conditions.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
}

function summarise(samples: Record<Path, Sample[]>, progress: Progress): Record<string, number> {
  const ms = (path: Path) => samples[path].map((s) => s.ms);
  const history = (path: Path) => samples[path].map((s) => s.historyMs);
  const steps = (path: Path, key: 'wft' | 'queue' | 'run') =>
    samples[path].flatMap((s) => s.steps.map((x) => x[key]));
  const metrics = {
    p50_ms: round(median(ms('check')), 0),
    p95_ms: round(percentile(ms('check'), 95), 0),
    max_ms: Math.max(...ms('check')),
    count: samples.check.length,
    history_p50_ms: round(median(history('check')), 0),
    history_p95_ms: round(percentile(history('check'), 95), 0),
    stalled_p50_ms: round(median(ms('stalled')), 0),
    stalled_p95_ms: round(percentile(ms('stalled'), 95), 0),
    stalled_max_ms: Math.max(...ms('stalled')),
    stalled_count: samples.stalled.length,
    stalled_spread_p50_ms: round(median(samples.stalled.map((s) => s.spreadMs)), 0),
    // Where a check-path rollback goes, per Deployment patched back (3 per sample).
    step_workflow_task_p50_ms: round(median(steps('check', 'wft')), 0),
    step_schedule_to_start_p50_ms: round(median(steps('check', 'queue')), 0),
    step_run_p50_ms: round(median(steps('check', 'run')), 0),
  };
  progress(`check path: ${ms('check').join(', ')} ms; stalled path: ${ms('stalled').join(', ')} ms`);
  return metrics;
}
