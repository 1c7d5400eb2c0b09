// `npm run bench -- overhead`: what Freshet adds to rolling one image change out to N Deployments
// in one wave (one stage, no checks, no soak, replicas 1, maxParallel N), against two baselines
// measured in the same run: the benchmark patching all N itself in parallel and watching until the
// controllers are done ("direct", the lower bound), and a sequential loop patching one Deployment
// and waiting for it before the next (what `kubectl set image` + `kubectl rollout status` in a
// shell loop does, here with client-node). Each variant has namespaces of its own.
import type { Client } from '@temporalio/client';
import { requestRollout } from '../activities/rollout/request.ts';
import type { Config } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { type Daemon, startDaemon } from '../worker/daemon.ts';
import { hasSearchAttributes } from '../worker/rollouts.ts';
import { pipelineWorkflowId, type RolloutResult, rolloutWorkflowId } from '../workflows/rollout-messages.ts';
import { installQuietRuntime, type Progress, progressFor, runSuffix, warningsTo } from './harness.ts';
import { overheadLarge } from './overhead-large.ts';
import {
  allRolledOut,
  apiserverRequests,
  auditMark,
  auditSince,
  createDeployments,
  deploymentOf,
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
import { median, percentile, round } from './stats.ts';

type Variant = 'freshet' | 'direct' | 'kubectl_loop';

interface Size {
  n: number;
  /** Prefix of this size's metric keys. */
  prefix: string;
  reps: Record<Variant, number>;
}

/**
 * Repetitions per variant. Three parallel rollouts of 100 each, so the median survives one slow
 * spell of the shared machine; the 100-Deployment loop once: it takes longer than a parallel
 * rollout and is a sum of 100 sequential steps, so one run already averages. About 8.5 minutes in
 * all on the 2-core machine, setup (330 Deployments) and cleanup included.
 */
const allSizes: Size[] = [
  { n: 10, prefix: 'n10_', reps: { freshet: 3, direct: 3, kubectl_loop: 3 } },
  { n: 100, prefix: '', reps: { freshet: 3, direct: 3, kubectl_loop: 1 } },
];
/**
 * FRESHET_BENCH_OVERHEAD_SIZES picks the sizes, from 10, 100 and 1000 (default `10,100`); 1000 is
 * the stage of 1,000 rolled out and back (bench/overhead-large.ts), minutes on its own.
 */
const chosen = (process.env.FRESHET_BENCH_OVERHEAD_SIZES ?? '10,100').split(',').map((x) => x.trim());
for (const c of chosen) {
  if (!['10', '100', '1000'].includes(c))
    throw new Error(`FRESHET_BENCH_OVERHEAD_SIZES: "${c}" is not one of 10, 100, 1000`);
}
const large = chosen.includes('1000');
const sizes = allSizes.filter((s) => chosen.includes(String(s.n)));
const variants: Variant[] = ['freshet', 'direct', 'kubectl_loop'];
const tag = '1';
const selector = { 'freshet.dev/bench': 'overhead' };
const rolloutTimeoutMs = 300_000;

interface Setup {
  size: Size;
  names: string[];
  namespaces: Record<Variant, string>;
  watches: Record<Variant, NamespaceWatch>;
  pipeline: string;
  /** The configured image the pipeline rolls out. */
  image: string;
}

/** One measured rollout; times in ms from the start of the variant. */
interface Sample {
  totalMs: number;
  firstPatchMs: number;
  lastPatchMs: number;
  lastReadyMs: number;
  /** apiserver requests during the variant (all clients; see apiserverRequests). */
  requests: number;
  /** The same per `resource VERB`. */
  byResource: Map<string, number>;
  /** Per `client verb resource`, from the audit log (empty without FRESHET_STACK_AUDIT=1). */
  byClient: Map<string, number>;
  detail: string;
}

export async function overhead(stack: Endpoints): Promise<Record<string, number>> {
  const progress = progressFor('overhead');
  installQuietRuntime();
  const metrics = sizes.length > 0 ? await overheadBySize(stack, progress) : {};
  return large ? { ...metrics, ...(await overheadLarge(stack, progress)) } : metrics;
}

async function overheadBySize(stack: Endpoints, progress: Progress): Promise<Record<string, number>> {
  const suffix = runSuffix();
  const kube = kubeClients(stack.kubernetes.kubeconfig);
  const registry = `bench-ovh-${suffix}`;
  const repository = `bench-ovh-${suffix}/web`;
  const image = `web-${suffix}`;
  const pipelineOf = (size: Size) => `ovh-${suffix}-n${size.n}`;
  const imageNameOf = (size: Size) => `${image}-n${size.n}`;
  const stage = (size: Size, namespace: string) => ({
    stages: [
      {
        name: 'all',
        cluster: 'local',
        targets: [{ namespace, selector }],
        waves: [{ percent: 100, maxParallel: size.n }],
        health: { rolloutTimeout: `${rolloutTimeoutMs}ms` },
      },
    ],
  });
  const namespacesOf = (size: Size): Record<Variant, string> => ({
    freshet: `ovh-${suffix}-${size.n}-freshet`,
    direct: `ovh-${suffix}-${size.n}-direct`,
    kubectl_loop: `ovh-${suffix}-${size.n}-loop`,
  });
  const config: Config = rolloutConfig(stack, {
    registry,
    taskQueue: `freshet-bench-overhead-${suffix}`,
    pipelines: Object.fromEntries(
      sizes.map((size) => [pipelineOf(size), stage(size, namespacesOf(size).freshet)]),
    ),
    images: sizes.map((size) => ({ name: imageNameOf(size), repository, tag, pipeline: pipelineOf(size) })),
    ...workerSettings(progress),
  });

  const push = () => pushImage({ registryUrl: stack.registry.url, repository, tag });
  const baseline = await push();
  const setups: Setup[] = [];
  const rolloutIds: string[] = [];
  let daemon: Daemon | undefined;
  try {
    progress(
      `creating ${sizes.map((s) => `3 × ${s.n}`).join(' + ')} Deployments (replicas 1) and starting the daemon`,
    );
    const starting = startDaemon({
      config,
      listen: '127.0.0.1:0',
      logger: warningsTo(progress),
      freshnessIntervalMs: 3_600_000,
    });
    for (const size of sizes) {
      const names = Array.from({ length: size.n }, (_, i) => `web-${String(i).padStart(3, '0')}`);
      const namespaces = namespacesOf(size);
      await Promise.all(
        variants.map((v) =>
          createDeployments(kube, namespaces[v], names, baseline.reference, { labels: selector }),
        ),
      );
      const watches = Object.fromEntries(
        await Promise.all(variants.map(async (v) => [v, await watchNamespace(kube, namespaces[v])] as const)),
      ) as Record<Variant, NamespaceWatch>;
      setups.push({ size, names, namespaces, watches, pipeline: pipelineOf(size), image: imageNameOf(size) });
    }
    daemon = await starting;
    const client = daemon.client;
    const searchAttributes = await hasSearchAttributes(client, config.temporal.namespace);
    for (const s of setups) {
      for (const v of variants) {
        await allRolledOut(s.watches[v], s.names, () => baseline.reference, 300_000);
      }
    }
    progress('every Deployment is available; daemon up');

    type Measured = Omit<Sample, 'requests' | 'byResource' | 'byClient'>;
    const freshet = async (s: Setup, pushed: Awaited<ReturnType<typeof push>>): Promise<Measured> => {
      const watch = s.watches.freshet;
      const rolloutId = rolloutWorkflowId(s.pipeline, s.image, pushed.digest, config.temporal.instance);
      rolloutIds.push(rolloutId);
      const t0 = Date.now();
      await requestRollout(
        { client, config, searchAttributes },
        {
          pipeline: s.pipeline,
          image: s.image,
          registry,
          repository,
          tag,
          digest: pushed.digest,
          trigger: 'manual',
          detectedAt: new Date(t0).toISOString(),
        },
      );
      const result = await rolloutResult<RolloutResult>(client, rolloutId, rolloutTimeoutMs);
      const totalMs = Date.now() - t0;
      const ready = result.targets.filter((t) => t.state === 'ready').length;
      if (result.outcome !== 'succeeded' || ready !== s.size.n) {
        throw new Error(`${rolloutId}: ${result.outcome} with ${ready}/${s.size.n} ready: ${result.reason}`);
      }
      // Freshet's own verdict said done; the benchmark's watch must agree.
      await allRolledOut(watch, s.names, () => pushed.reference, 10_000);
      const seen = observed(watch, s.names, pushed.reference, t0);
      return {
        totalMs,
        ...seen,
        detail: await freshetDetail(client, rolloutId, watch, pushed.reference, t0),
      };
    };

    const direct = async (s: Setup, pushed: Awaited<ReturnType<typeof push>>): Promise<Measured> => {
      const watch = s.watches.direct;
      const t0 = Date.now();
      await Promise.all(s.names.map((name) => setImage(kube, s.namespaces.direct, name, pushed.reference)));
      const patchedMs = Date.now() - t0;
      await allRolledOut(watch, s.names, () => pushed.reference, rolloutTimeoutMs);
      const totalMs = Date.now() - t0;
      const seen = observed(watch, s.names, pushed.reference, t0);
      return { totalMs, ...seen, detail: `all ${s.size.n} PATCH requests answered at ${patchedMs} ms` };
    };

    const loop = async (s: Setup, pushed: Awaited<ReturnType<typeof push>>): Promise<Measured> => {
      const watch = s.watches.kubectl_loop;
      const steps: number[] = [];
      const t0 = Date.now();
      for (const name of s.names) {
        const t = Date.now();
        await setImage(kube, s.namespaces.kubectl_loop, name, pushed.reference);
        await watch.until(`${name} rolled out`, (l) => rolledOut(l.get(name), pushed.reference), 120_000);
        steps.push(Date.now() - t);
      }
      const totalMs = Date.now() - t0;
      const seen = observed(watch, s.names, pushed.reference, t0);
      return {
        totalMs,
        ...seen,
        detail: `per Deployment p50 ${round(median(steps), 0)} ms, p95 ${round(percentile(steps, 95), 0)} ms`,
      };
    };

    const metrics: Record<string, number> = {};
    for (const s of setups) {
      const { size } = s;
      const samples: Record<Variant, Sample[]> = { freshet: [], direct: [], kubectl_loop: [] };
      if (s === setups[0]) {
        // The first rollout of a fresh worker loads the workflow code and opens connections.
        const warm = await freshet(s, await push());
        progress(`warm-up freshet rollout of ${size.n}: ${round(warm.totalMs / 1000, 2)} s (not counted)`);
      }
      const rounds = Math.max(...variants.map((v) => size.reps[v]));
      for (let r = 0; r < rounds; r++) {
        const pushed = await push();
        // Rotated each round, so a slow spell of the machine does not always hit the same variant.
        const order = variants.map((_, i) => variants[(i + r) % variants.length] as Variant);
        for (const v of order) {
          if (samples[v].length >= size.reps[v]) continue;
          const before = await apiserverRequests(kube);
          const mark = auditMark();
          const measured = await (v === 'freshet' ? freshet : v === 'direct' ? direct : loop)(s, pushed);
          const requests = requestsBetween(before, await apiserverRequests(kube));
          const byClient = auditSince(mark);
          const deployments = ['GET', 'LIST', 'WATCH', 'PATCH']
            .map((verb) => `${verb} ${requests.of(`deployments ${verb}`)}`)
            .join(', ');
          const sample: Sample = {
            ...measured,
            requests: requests.total,
            byResource: requests.delta,
            byClient,
            detail: `${measured.detail}; apiserver requests ${requests.total} (deployments: ${deployments}; pods LIST ${requests.of('pods LIST')})`,
          };
          samples[v].push(sample);
          progress(
            `N=${size.n} ${v} ${samples[v].length}/${size.reps[v]}: ${round(sample.totalMs / 1000, 2)} s ` +
              `(patches seen ${sample.firstPatchMs}–${sample.lastPatchMs} ms, last ready ${sample.lastReadyMs} ms; ${sample.detail})`,
          );
        }
      }
      // Freshet against direct in the same round: both saw about the same machine.
      const paired = samples.freshet.map((f, i) =>
        round(f.totalMs / (samples.direct[i]?.totalMs ?? Number.NaN), 3),
      );
      progress(`N=${size.n} freshet/direct per round: ${paired.join(', ')}`);
      progress(
        `N=${size.n} apiserver requests, freshet − direct (medians): ${requestDifference(samples, 'byResource')}`,
      );
      if (samples.freshet.some((x) => x.byClient.size > 0)) {
        progress(
          `N=${size.n} audit log, freshet − direct (medians): ${requestDifference(samples, 'byClient')}`,
        );
      }
      const seconds = (v: Variant) => median(samples[v].map((x) => x.totalMs)) / 1000;
      const at = (v: Variant, key: 'firstPatchMs' | 'lastPatchMs' | 'lastReadyMs') =>
        median(samples[v].map((x) => x[key])) / 1000;
      const p = size.prefix;
      Object.assign(metrics, {
        [`${p}n`]: size.n,
        [`${p}freshet_s`]: round(seconds('freshet'), 2),
        [`${p}direct_s`]: round(seconds('direct'), 2),
        [`${p}kubectl_loop_s`]: round(seconds('kubectl_loop'), 2),
        [`${p}ratio_vs_direct`]: round(seconds('freshet') / seconds('direct'), 3),
        [`${p}ratio_vs_kubectl_loop`]: round(seconds('freshet') / seconds('kubectl_loop'), 3),
        [`${p}freshet_first_patch_s`]: round(at('freshet', 'firstPatchMs'), 2),
        [`${p}freshet_last_patch_s`]: round(at('freshet', 'lastPatchMs'), 2),
        [`${p}freshet_last_ready_s`]: round(at('freshet', 'lastReadyMs'), 2),
        [`${p}direct_last_patch_s`]: round(at('direct', 'lastPatchMs'), 2),
        [`${p}direct_last_ready_s`]: round(at('direct', 'lastReadyMs'), 2),
        [`${p}freshet_apiserver_requests`]: round(median(samples.freshet.map((x) => x.requests)), 0),
        [`${p}direct_apiserver_requests`]: round(median(samples.direct.map((x) => x.requests)), 0),
        [`${p}apiserver_requests_ratio`]: round(
          median(samples.freshet.map((x) => x.requests)) / median(samples.direct.map((x) => x.requests)),
          3,
        ),
        ...(samples.freshet.some((x) => x.byClient.size > 0)
          ? { [`${p}freshet_own_requests`]: round(median(samples.freshet.map((x) => ownRequests(x))), 0) }
          : {}),
        [`${p}kubectl_loop_apiserver_requests`]: round(
          median(samples.kubectl_loop.map((x) => x.requests)),
          0,
        ),
        [`${p}freshet_max_s`]: round(Math.max(...samples.freshet.map((x) => x.totalMs)) / 1000, 2),
        [`${p}direct_max_s`]: round(Math.max(...samples.direct.map((x) => x.totalMs)) / 1000, 2),
        [`${p}reps`]: size.reps.freshet,
      });
    }
    // The table reads best with the 100-Deployment keys first.
    const main = Object.keys(metrics).filter((k) => !k.startsWith('n10_'));
    return Object.fromEntries(
      [...main, ...Object.keys(metrics).filter((k) => k.startsWith('n10_'))].map((k) => [
        k,
        metrics[k] ?? Number.NaN,
      ]),
    );
  } finally {
    for (const s of setups) for (const v of variants) s.watches[v].close();
    if (daemon) {
      await terminateAll(
        daemon.client,
        [...rolloutIds, ...sizes.map((s) => pipelineWorkflowId(config.temporal.instance, pipelineOf(s)))],
        'benchmark over',
      );
      await daemon.close();
    }
    await removeNamespaces(
      kube,
      sizes.flatMap((s) => Object.values(namespacesOf(s))),
      progress,
    );
  }
}

/** The requests Freshet itself sent (user agent `freshet/…`), from the audit log. */
function ownRequests(sample: Sample): number {
  let n = 0;
  for (const [key, count] of sample.byClient) if (key.startsWith('freshet ')) n += count;
  return n;
}

/** Where Freshet's requests differ from the direct baseline's: median per key, largest first. */
function requestDifference(samples: Record<Variant, Sample[]>, by: 'byResource' | 'byClient'): string {
  const keys = new Set([...samples.freshet, ...samples.direct].flatMap((x) => [...x[by].keys()]));
  const med = (v: Variant, key: string) => median(samples[v].map((x) => x[by].get(key) ?? 0));
  return [...keys]
    .map((key) => ({ key, f: med('freshet', key), d: med('direct', key) }))
    .filter((x) => x.f !== x.d)
    .sort((a, b) => Math.abs(b.f - b.d) - Math.abs(a.f - a.d))
    .slice(0, 12)
    .map((x) => `${x.key} ${x.f} vs ${x.d}`)
    .join('; ');
}

/** When the watch first saw each Deployment on `image`, and rolled out on it, in ms after t0. */
function observed(watch: NamespaceWatch, names: string[], image: string, t0: number) {
  const patched = names.map((n) => (watch.firstSeen(n, (d) => imageOf(d) === image, t0) ?? Number.NaN) - t0);
  const ready = names.map((n) => (watch.firstSeen(n, (d) => rolledOut(d, image), t0) ?? Number.NaN) - t0);
  return {
    firstPatchMs: Math.min(...patched),
    lastPatchMs: Math.max(...patched),
    lastReadyMs: Math.max(...ready),
  };
}

/** Where Freshet's time went, from its history (server clock) against what the watch saw. */
async function freshetDetail(
  client: Client,
  rolloutId: string,
  watch: NamespaceWatch,
  image: string,
  t0: number,
): Promise<string> {
  const tl = await timelineOf(client, rolloutId);
  const of = (type: string) => tl.activities.filter((a) => a.type === type);
  const plan = of('planStage')[0];
  const updates = of('updateDeploymentImage');
  const awaits = of('awaitDeploymentReady');
  const toStart = updates.map((a) => (a.started ?? Number.NaN) - a.scheduled);
  const updateRun = updates.map((a) => (a.completed ?? Number.NaN) - (a.started ?? Number.NaN));
  // How long after the watch saw a Deployment done did its await activity complete.
  const lag = awaits.flatMap((a) => {
    const name = deploymentOf(a);
    const seen = name ? watch.firstSeen(name, (x) => rolledOut(x, image), t0) : undefined;
    return seen !== undefined && a.completed !== undefined ? [a.completed - seen] : [];
  });
  const lastAwait = Math.max(...awaits.map((a) => a.completed ?? Number.NaN));
  const f = (xs: number[]) => `p50 ${round(median(xs), 0)}/max ${round(Math.max(...xs), 0)} ms`;
  return [
    `workflow started +${round(tl.started - t0, 0)} ms`,
    plan ? `plan done +${round((plan.completed ?? Number.NaN) - t0, 0)} ms` : 'no plan',
    `update schedule-to-start ${f(toStart)}, run ${f(updateRun)}`,
    `await done after watch saw ready ${f(lag)}`,
    `last await +${round(lastAwait - t0, 0)} ms, closed +${round((tl.closed ?? Number.NaN) - t0, 0)} ms`,
  ].join('; ');
}
