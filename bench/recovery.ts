// `npm run bench -- recovery`: a daemon killed with SIGKILL mid-rollout, and a new one started at
// once. The daemon runs in a child process (test/support/daemon-process.ts) from workflow code
// bundled once by the benchmark, as a daemon started with a built bundle does; the rollout has one
// Deployment per wave, and the daemon is killed as soon as the benchmark's watch sees the second
// wave's patch. Measured: from the kill, and from the new process printing "ready", to the next
// progress in the Kubernetes API (the third wave's patch), and the spec changes beyond one per
// Deployment. The baseline of the same run is the restart itself: kill → "ready". A second
// variant, "standby", runs two daemons (two replicas) and kills the one working on the rollout:
// no restart, so its kill → progress is what Freshet's own timeouts cost.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { requestRollout } from '../activities/rollout/request.ts';
import { type Config, configSchema } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { workflowsPath } from '../worker/daemon.ts';
import { hasSearchAttributes } from '../worker/rollouts.ts';
import { pipelineWorkflowId, type RolloutResult, rolloutWorkflowId } from '../workflows/rollout-messages.ts';
import { type Progress, progressFor, runSuffix } from './harness.ts';
import {
  allRolledOut,
  createDeployments,
  deploymentOf,
  imageOf,
  kubeClients,
  type Latest,
  type NamespaceWatch,
  removeNamespaces,
  rolloutResult,
  type Timeline,
  terminateAll,
  timelineOf,
  watchNamespace,
} from './rollout-setup.ts';
import { median, percentile, round } from './stats.ts';

const reps = 5;
const names = ['web-1', 'web-2', 'web-3', 'web-4', 'web-5'];
/** Killed right after this Deployment's patch is seen; the next one's patch is the progress. */
const killAfter = 'web-2';
const progressOn = 'web-3';
const tag = '1';
const selector = { 'freshet.dev/bench': 'recovery' };
const script = fileURLToPath(new URL('../test/support/daemon-process.ts', import.meta.url));

/** Times in ms; those of the restarted process are NaN in the standby variant. */
interface Sample {
  /** New process printed "ready" → next patch seen. */
  resumeMs: number;
  /** SIGKILL sent → next patch seen. */
  killToProgressMs: number;
  /** Spawn → "ready". */
  restartMs: number;
  /** SIGKILL sent → new process "ready": the baseline, what a restart costs however fast Freshet resumes. */
  killToReadyMs: number;
  duplicates: number;
  /** Kill → the retry of the killed worker's activity started (history). */
  retryStartMs: number;
  detail: string;
}

export async function recovery(stack: Endpoints): Promise<Record<string, number>> {
  const progress = progressFor('recovery');
  const suffix = runSuffix();
  const kube = kubeClients(stack.kubernetes.kubeconfig);
  const registry = `bench-rec-${suffix}`;
  const repository = `bench-rec-${suffix}/web`;
  const image = `web-${suffix}`;
  const pipeline = `rec-${suffix}`;
  const namespace = `rec-${suffix}`;
  const config: Config = configSchema.parse({
    temporal: { address: stack.temporal.address, taskQueue: `freshet-bench-recovery-${suffix}` },
    registries: [{ name: registry, url: stack.registry.url }],
    clusters: { local: { kubeconfig: stack.kubernetes.kubeconfig, context: stack.kubernetes.context } },
    // The daemon patches only images its config gives the pipeline (invariant 12); checked
    // hourly, so only the benchmark's requests start rollouts.
    images: [{ name: image, registry, repository, track: { tag }, pipeline, interval: '1h' }],
    pipelines: {
      [pipeline]: {
        stages: [
          {
            name: 'all',
            cluster: 'local',
            targets: [{ namespace, selector }],
            waves: names.map(() => ({ count: 1 })),
            health: { rolloutTimeout: '60s' },
          },
        ],
      },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-recovery-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config));
  progress('bundling the workflow code once for every daemon process');
  const bundlePath = join(dir, 'workflows.js');
  writeFileSync(
    bundlePath,
    (await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') })).code,
  );
  const startDaemonProcess = () => startDaemonFrom(configPath, bundlePath);
  const push = () => pushImage({ registryUrl: stack.registry.url, repository, tag });
  const baseline = await push();
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const rolloutIds: string[] = [];
  let daemon: Daemon | undefined;
  let standby: Daemon | undefined;
  let watch: NamespaceWatch | undefined;
  try {
    progress(`creating ${names.length} Deployments (replicas 1) and starting the daemon process`);
    const first = startDaemonProcess();
    await createDeployments(kube, namespace, names, baseline.reference, { labels: selector });
    watch = await watchNamespace(kube, namespace);
    const w = watch;
    daemon = await first;
    progress(`daemon process up in ${daemon.readyAt - daemon.spawnedAt} ms`);
    await allRolledOut(w, names, () => baseline.reference, 120_000);
    const searchAttributes = await hasSearchAttributes(client, config.temporal.namespace);

    /** One rollout; `kill` kills a daemon once the second wave's patch is seen. */
    const rolloutWithKill = async (
      kill: (rolloutId: string) => Promise<{ killedAt: number; restarted?: Daemon }>,
    ) => {
      const before = generations(w);
      const pushed = await push();
      const rolloutId = rolloutWorkflowId(pipeline, image, pushed.digest, config.temporal.instance);
      rolloutIds.push(rolloutId);
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
      const onNew = (name: string) => (l: Latest) => {
        const d = l.get(name);
        return d !== undefined && imageOf(d) === pushed.reference;
      };
      await w.until(`${killAfter} patched`, onNew(killAfter), 120_000);
      const patchSeen = w.firstSeen(killAfter, (d) => imageOf(d) === pushed.reference, t0) ?? Number.NaN;
      const { killedAt, restarted } = await kill(rolloutId);
      await w.until(`${progressOn} patched`, onNew(progressOn), 120_000);
      const progressAt = w.firstSeen(progressOn, (d) => imageOf(d) === pushed.reference, t0) ?? Number.NaN;
      const result = await rolloutResult<RolloutResult>(client, rolloutId, 180_000);
      if (result.outcome !== 'succeeded') {
        throw new Error(`${rolloutId}: ${result.outcome}: ${result.reason}`);
      }
      await allRolledOut(w, names, () => pushed.reference, 60_000);
      const after = generations(w);
      const duplicates = names.reduce((sum, n) => sum + ((after[n] ?? 0) - (before[n] ?? 0) - 1), 0);
      const why = explain(await timelineOf(client, rolloutId), {
        patchSeen,
        killedAt,
        spawnedAt: restarted?.spawnedAt ?? Number.NaN,
        readyAt: restarted?.readyAt ?? Number.NaN,
        progressAt,
      });
      return {
        resumeMs: progressAt - (restarted?.readyAt ?? Number.NaN),
        killToProgressMs: progressAt - killedAt,
        restartMs: (restarted?.readyAt ?? Number.NaN) - (restarted?.spawnedAt ?? Number.NaN),
        killToReadyMs: (restarted?.readyAt ?? Number.NaN) - killedAt,
        duplicates,
        retryStartMs: why.retryStartMs,
        detail: why.text,
      } satisfies Sample;
    };

    // Variant "restart": the only daemon is killed and a new one started at once.
    const samples: Sample[] = [];
    for (let i = 0; i < reps; i++) {
      const sample = await rolloutWithKill(async () => {
        const killedAt = (await daemon?.kill()) ?? Number.NaN;
        daemon = undefined;
        daemon = await startDaemonProcess();
        return { killedAt, restarted: daemon };
      });
      samples.push(sample);
      progress(
        `restart ${i + 1}/${reps}: kill → progress ${sample.killToProgressMs} ms (kill → ready ${sample.killToReadyMs} ms, ` +
          `resume ${sample.resumeMs} ms after "ready", restart ${sample.restartMs} ms, duplicates ${sample.duplicates}); ` +
          sample.detail,
      );
    }

    // Variant "standby": a second daemon already runs (two replicas); the one whose worker runs
    // the rollout's current activity is killed, and the other goes on alone. A replacement is
    // started only after the sample, so its start-up does not compete with the survivor.
    progress('starting a second daemon process for the standby variant');
    standby = await startDaemonProcess();
    const standbySamples: Sample[] = [];
    for (let i = 0; i < reps; i++) {
      const pair: Daemon[] = [daemon, standby].filter((d): d is Daemon => d !== undefined);
      let victim: Daemon | undefined;
      const sample = await rolloutWithKill(async (rolloutId) => {
        victim = (await workingOn(client, rolloutId, pair)) ?? pair[0];
        return { killedAt: (await victim?.kill()) ?? Number.NaN };
      });
      standbySamples.push(sample);
      const survivor: Daemon | undefined = pair.find((d) => d !== victim);
      progress(
        `standby ${i + 1}/${reps}: kill → progress ${sample.killToProgressMs} ms (duplicates ${sample.duplicates}); ` +
          sample.detail,
      );
      daemon = survivor;
      standby = undefined;
      standby = await startDaemonProcess();
    }
    return { ...summarise(samples, progress), ...summariseStandby(standbySamples) };
  } finally {
    watch?.close();
    await daemon?.stop();
    await standby?.stop();
    await terminateAll(
      client,
      [...rolloutIds, pipelineWorkflowId(config.temporal.instance, pipeline)],
      'benchmark over',
    );
    await connection.close();
    await removeNamespaces(kube, [namespace], progress);
    rmSync(dir, { recursive: true, force: true });
  }
}

function generations(w: NamespaceWatch): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, w.latest().get(n)?.metadata.generation ?? 0]));
}

/**
 * Where the time between the kill and the next patch went, from the rollout's history: every
 * activity that ran in that window (the one running on the killed worker shows its retry: attempt
 * and why the attempt before it ended) and any workflow task that timed out. Times in ms after the
 * kill; `retryStartMs` is when the retry of the killed worker's activity started.
 */
function explain(
  tl: Timeline,
  at: { patchSeen: number; killedAt: number; spawnedAt: number; readyAt: number; progressAt: number },
): { text: string; retryStartMs: number } {
  const rel = (t: number | undefined) => (t === undefined ? '?' : `${round(t - at.killedAt, 0)}`);
  const parts = [`patch seen ${rel(at.patchSeen)}`, `spawn ${rel(at.spawnedAt)}`, `ready ${rel(at.readyAt)}`];
  const window = tl.activities.filter(
    (a) => a.scheduled <= at.progressAt && (a.completed === undefined || a.completed >= at.killedAt),
  );
  for (const a of window) {
    const retry = (a.attempt ?? 1) > 1 ? ` (attempt ${a.attempt} after ${a.lastFailure ?? '?'})` : '';
    parts.push(
      `${a.type}(${deploymentOf(a) ?? '?'}) scheduled ${rel(a.scheduled)} started ${rel(a.started)}${retry} ` +
        `${a.outcome ?? 'running'} ${rel(a.completed)}`,
    );
  }
  for (const t of tl.workflowTasks.filter((x) => x.timedOut !== undefined && x.timedOut > at.killedAt)) {
    parts.push(`workflow task timed out ${rel(t.timedOut)} (scheduled ${rel(t.scheduled)})`);
  }
  parts.push(`${progressOn} patch seen ${rel(at.progressAt)}`);
  const retried = window.find((a) => (a.attempt ?? 1) > 1);
  return {
    text: parts.join('; '),
    retryStartMs: retried?.started === undefined ? Number.NaN : round(retried.started - at.killedAt, 0),
  };
}

function summarise(samples: Sample[], progress: Progress): Record<string, number> {
  const resume = samples.map((s) => s.resumeMs);
  const killTo = samples.map((s) => s.killToProgressMs);
  const restart = samples.map((s) => s.restartMs);
  const killToReady = samples.map((s) => s.killToReadyMs);
  const retried = samples.map((s) => s.retryStartMs).filter(Number.isFinite);
  progress(`resume after "ready": ${resume.join(', ')} ms; kill → progress: ${killTo.join(', ')} ms`);
  return {
    resume_p50_ms: round(median(resume), 0),
    resume_p95_ms: round(percentile(resume, 95), 0),
    kill_to_progress_p50_ms: round(median(killTo), 0),
    kill_to_progress_p95_ms: round(percentile(killTo, 95), 0),
    kill_to_ready_p50_ms: round(median(killToReady), 0),
    kill_to_ready_p95_ms: round(percentile(killToReady, 95), 0),
    restart_p50_ms: round(median(restart), 0),
    restart_max_ms: Math.max(...restart),
    retry_start_p50_ms: retried.length > 0 ? round(median(retried), 0) : Number.NaN,
    duplicate_patches: samples.reduce((sum, s) => sum + s.duplicates, 0),
    samples: samples.length,
  };
}

function summariseStandby(samples: Sample[]): Record<string, number> {
  const killTo = samples.map((s) => s.killToProgressMs);
  const retried = samples.map((s) => s.retryStartMs).filter(Number.isFinite);
  return {
    standby_kill_to_progress_p50_ms: round(median(killTo), 0),
    standby_kill_to_progress_p95_ms: round(percentile(killTo, 95), 0),
    standby_retry_start_p50_ms: retried.length > 0 ? round(median(retried), 0) : Number.NaN,
    standby_duplicate_patches: samples.reduce((sum, s) => sum + s.duplicates, 0),
    standby_samples: samples.length,
  };
}

/** The daemon whose worker runs an activity of the rollout now (asked for up to 2 s), if any. */
async function workingOn(client: Client, rolloutId: string, daemons: Daemon[]): Promise<Daemon | undefined> {
  const deadline = Date.now() + 2_000;
  while (Date.now() < deadline) {
    const { raw } = await client.workflow.getHandle(rolloutId).describe();
    const identities = (raw.pendingActivities ?? []).map((a) => a.lastWorkerIdentity);
    const found = daemons.find((d) => identities.includes(d.identity));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

interface Daemon {
  /** The worker identity Temporal records: the SDK's default `<pid>@<hostname>`. */
  identity: string;
  spawnedAt: number;
  readyAt: number;
  /** SIGKILL; resolves with the time the signal was sent, once the process is gone. */
  kill(): Promise<number>;
  /** SIGTERM (the daemon shuts down its worker), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/** Starts the daemon in its own process and resolves once it prints "ready". */
function startDaemonFrom(configPath: string, bundlePath: string): Promise<Daemon> {
  const spawnedAt = Date.now();
  const child: ChildProcess = spawn(process.execPath, [script, configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FRESHET_TEST_WORKFLOW_BUNDLE: bundlePath },
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  let output = '';
  return new Promise<Daemon>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('ready ')) return;
      const readyAt = Date.now();
      resolve({
        identity: `${child.pid}@${hostname()}`,
        spawnedAt,
        readyAt,
        async kill() {
          const at = Date.now();
          if (!exited) child.kill('SIGKILL');
          await exit;
          return at;
        },
        async stop() {
          if (exited) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exit;
          clearTimeout(timer);
        },
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code}: ${output.slice(-2_000)}`)));
  });
}
