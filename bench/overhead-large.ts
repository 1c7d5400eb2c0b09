// The `n1000_*` keys of `npm run bench -- overhead` (FRESHET_BENCH_OVERHEAD_SIZES=10,100,1000): one stage
// of 1,000 Deployments rolls out in one wave with bounded parallelism (maxParallel, default 100),
// then its check fails and the stage rolls back, against the benchmark doing the same directly:
// the same 1,000 patches, at most the same number in flight, wait until all are rolled out, then
// the patches back, and the wait again. Once each (a run takes minutes); apiserver requests are
// counted over each variant as for N = 100.
import { requestRollout } from '../activities/rollout/request.ts';
import type { Config } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { type Daemon, startDaemon } from '../worker/daemon.ts';
import { hasSearchAttributes } from '../worker/rollouts.ts';
import { pipelineWorkflowId, type RolloutResult, rolloutWorkflowId } from '../workflows/rollout-messages.ts';
import { type Progress, runSuffix, warningsTo } from './harness.ts';
import {
  allRolledOut,
  apiserverRequests,
  createDeployments,
  imageOf,
  kubeClients,
  type NamespaceWatch,
  removeNamespaces,
  requestsBetween,
  rolledOut,
  rolloutConfig,
  rolloutResult,
  setImage,
  terminateAll,
  timelineOf,
  watchNamespace,
  workerSettings,
} from './rollout-setup.ts';
import { round } from './stats.ts';

const n = 1_000;
const tag = '1';
const selector = { 'freshet.dev/bench': 'overhead-large' };
const timeoutMs = 1_200_000;

/** At most `max` of `work` at a time, in order. */
async function bounded(items: readonly string[], max: number, work: (item: string) => Promise<void>) {
  let next = 0;
  const run = async () => {
    for (let item = items[next++]; item !== undefined; item = items[next++]) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(max, items.length) }, run));
}

export async function overheadLarge(stack: Endpoints, progress: Progress): Promise<Record<string, number>> {
  const maxParallel = Number(process.env.FRESHET_BENCH_OVERHEAD_N1000_PARALLEL ?? '100');
  if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 1_000) {
    throw new Error(`FRESHET_BENCH_OVERHEAD_N1000_PARALLEL must be 1..1000, got ${maxParallel}`);
  }
  const suffix = runSuffix();
  const kube = kubeClients(stack.kubernetes.kubeconfig);
  const registry = `bench-ovl-${suffix}`;
  const repository = `bench-ovl-${suffix}/web`;
  const image = `web-${suffix}`;
  const pipeline = `ovl-${suffix}`;
  const namespaces = { freshet: `ovl-${suffix}-freshet`, direct: `ovl-${suffix}-direct` };
  const config: Config = rolloutConfig(stack, {
    registry,
    taskQueue: `freshet-bench-overhead-large-${suffix}`,
    images: [{ name: image, repository, tag, pipeline }],
    ...workerSettings(progress),
    pipelines: {
      [pipeline]: {
        stages: [
          {
            name: 'all',
            cluster: 'local',
            targets: [{ namespace: namespaces.freshet, selector }],
            waves: [{ percent: 100, maxParallel }],
            health: {
              rolloutTimeout: `${timeoutMs}ms`,
              // Fails at the first check after the wave: the stage then rolls back all 1,000.
              checks: [
                { name: 'fails', prometheus: { url: stack.prometheus.url, query: 'vector(1)', max: 0 } },
              ],
            },
          },
        ],
      },
    },
  });
  const names = Array.from({ length: n }, (_, i) => `web-${String(i).padStart(4, '0')}`);
  const baseline = await pushImage({ registryUrl: stack.registry.url, repository, tag });
  const pushed = await pushImage({ registryUrl: stack.registry.url, repository, tag });
  const watches: NamespaceWatch[] = [];
  let daemon: Daemon | undefined;
  let rolloutId: string | undefined;
  try {
    progress(`N=${n}: creating 2 × ${n} Deployments (replicas 1); maxParallel ${maxParallel}`);
    for (const ns of Object.values(namespaces)) {
      await createDeployments(kube, ns, names, baseline.reference, { labels: selector, concurrency: 20 });
    }
    const watch = {
      freshet: await watchNamespace(kube, namespaces.freshet),
      direct: await watchNamespace(kube, namespaces.direct),
    };
    watches.push(watch.freshet, watch.direct);
    for (const w of watches) await allRolledOut(w, names, () => baseline.reference, timeoutMs);
    daemon = await startDaemon({
      config,
      listen: '127.0.0.1:0',
      logger: warningsTo(progress),
      freshnessIntervalMs: 3_600_000,
    });
    const client = daemon.client;
    const searchAttributes = await hasSearchAttributes(client, config.temporal.namespace);
    progress(`N=${n}: every Deployment available; daemon up`);

    // Direct: the same patches with the same bound, each phase waited for like Freshet's.
    const directBefore = await apiserverRequests(kube);
    const d0 = Date.now();
    await bounded(names, maxParallel, (name) => setImage(kube, namespaces.direct, name, pushed.reference));
    await allRolledOut(watch.direct, names, () => pushed.reference, timeoutMs);
    const directOut = Date.now() - d0;
    const d1 = Date.now();
    await bounded(names, maxParallel, (name) => setImage(kube, namespaces.direct, name, baseline.reference));
    await allRolledOut(watch.direct, names, () => baseline.reference, timeoutMs);
    const directBack = Date.now() - d1;
    const directRequests = requestsBetween(directBefore, await apiserverRequests(kube)).total;
    progress(`N=${n} direct: out ${round(directOut / 1000, 1)} s, back ${round(directBack / 1000, 1)} s`);

    const before = await apiserverRequests(kube);
    rolloutId = rolloutWorkflowId(pipeline, image, pushed.digest, config.temporal.instance);
    const t0 = Date.now();
    await requestRollout(
      { client, config, searchAttributes },
      {
        pipeline,
        image,
        registry,
        repository,
        tag,
        digest: pushed.digest,
        trigger: 'manual',
        detectedAt: new Date(t0).toISOString(),
      },
    );
    const result = await rolloutResult<RolloutResult>(client, rolloutId, timeoutMs);
    const reverted = result.targets.filter((t) => t.image === baseline.reference).length;
    if (result.outcome !== 'rolled_back' || reverted !== n) {
      throw new Error(`${rolloutId}: ${result.outcome} with ${reverted}/${n} rolled back: ${result.reason}`);
    }
    await allRolledOut(watch.freshet, names, () => baseline.reference, timeoutMs);
    const freshetRequests = requestsBetween(before, await apiserverRequests(kube)).total;
    const tl = await timelineOf(client, rolloutId);
    const check = tl.activities.find((a) => a.type === 'runHealthCheck');
    if (check?.completed === undefined) throw new Error(`${rolloutId}: no completed runHealthCheck`);
    const seen = (test: (name: string) => number | undefined) =>
      Math.max(
        ...names.map((name) => {
          const at = test(name);
          if (at === undefined) throw new Error(`${rolloutId}: ${name} was not seen`);
          return at;
        }),
      );
    const lastOut = seen((name) => watch.freshet.firstSeen(name, (x) => rolledOut(x, pushed.reference), t0));
    const lastBack = seen((name) => {
      const out = watch.freshet.firstSeen(name, (x) => imageOf(x) === pushed.reference, t0);
      return out === undefined
        ? undefined
        : watch.freshet.firstSeen(name, (x) => rolledOut(x, baseline.reference), out);
    });
    const firstPatch = Math.min(
      ...names.map((name) => watch.freshet.firstSeen(name, (x) => imageOf(x) === pushed.reference, t0) ?? t0),
    );
    const freshetOut = lastOut - t0;
    const freshetBack = lastBack - check.completed;
    const activities = tl.activities.length;
    progress(
      `N=${n} freshet: out ${round(freshetOut / 1000, 1)} s (first patch +${firstPatch - t0} ms), check failed ` +
        `+${round((check.completed - t0) / 1000, 1)} s, back ${round(freshetBack / 1000, 1)} s after it; ` +
        `${activities} activities; apiserver requests ${freshetRequests} vs direct ${directRequests}`,
    );
    return {
      n1000_n: n,
      n1000_max_parallel: maxParallel,
      n1000_freshet_rollout_s: round(freshetOut / 1000, 2),
      n1000_direct_rollout_s: round(directOut / 1000, 2),
      n1000_rollout_ratio_vs_direct: round(freshetOut / directOut, 3),
      n1000_freshet_rollback_s: round(freshetBack / 1000, 2),
      n1000_direct_rollback_s: round(directBack / 1000, 2),
      n1000_rollback_ratio_vs_direct: round(freshetBack / directBack, 3),
      n1000_freshet_first_patch_s: round((firstPatch - t0) / 1000, 2),
      n1000_freshet_apiserver_requests: freshetRequests,
      n1000_direct_apiserver_requests: directRequests,
      n1000_apiserver_requests_ratio: round(freshetRequests / directRequests, 3),
    };
  } finally {
    for (const w of watches) w.close();
    if (daemon) {
      await terminateAll(
        daemon.client,
        [...(rolloutId ? [rolloutId] : []), pipelineWorkflowId(config.temporal.instance, pipeline)],
        'benchmark over',
      );
      await daemon.close();
    }
    await removeNamespaces(kube, Object.values(namespaces), progress);
  }
}
