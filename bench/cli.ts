// `npm run bench -- cli`: how long a freshet command takes from spawn to exit, and its peak
// memory, against `node -e 0` spawned the same way in the same run, with the CLI's compile cache
// warm and (`*_nocache`) turned off. Commands: --help,
// validate-config of an example config, status and approve against the stack, where a daemon
// of the run's own holds one rollout waiting for approval (status lists and queries it; approve
// by a name that is not among the approvers is refused by the workflow's Update validator, a
// full round trip through the worker; one rejection by the approver closes the run).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestRollout } from '../activities/rollout/request.ts';
import { configSchema } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { waitFor } from '../test/support/wait.ts';
import { type Daemon, startDaemon } from '../worker/daemon.ts';
import { hasSearchAttributes } from '../worker/rollouts.ts';
import { pipelineWorkflowId, rolloutStatusQuery } from '../workflows/rollout-messages.ts';
import { installQuietRuntime, progressFor, runSuffix, warningsTo } from './harness.ts';
import { terminateAll } from './rollout-setup.ts';
import { percentile, round } from './stats.ts';

const rounds = 15;
const repo = fileURLToPath(new URL('../', import.meta.url));
const cli = join(repo, 'worker/cli/main.ts');
const exampleConfig = join(repo, 'config/examples/full.yaml');

/**
 * Loaded into every spawned process, the baseline too: writes its peak RSS (VmHWM, KiB) to
 * $FRESHET_BENCH_PEAK_FILE at exit. Plain JavaScript, so no TypeScript stripping is charged.
 * Not resourceUsage().maxRSS: Linux carries that over exec from the forked parent, so every
 * child would report at least the benchmark process's own peak.
 */
const peakHook = `data:text/javascript,${encodeURIComponent(
  'import { readFileSync, writeFileSync } from "node:fs";' +
    'process.on("exit", () => writeFileSync(process.env.FRESHET_BENCH_PEAK_FILE,' +
    ' /VmHWM:\\s*(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]));',
)}`;

interface Sample {
  ms: number;
  peakMb: number;
}

interface Variant {
  name: string;
  args: string[];
  /** Runs with the compile cache off: what the first run after an install or upgrade costs. */
  cold?: boolean;
  /** Throws unless the run did what the command should. */
  check(code: number, stdout: string, stderr: string): void;
}

export async function cliStart(stack: Endpoints): Promise<Record<string, number>> {
  const progress = progressFor('cli');
  installQuietRuntime();
  const suffix = runSuffix();
  const dir = mkdtempSync(join(tmpdir(), 'freshet-bench-cli-'));
  const pipeline = `cli-${suffix}`;
  const image = `web-${suffix}`;
  const registry = `bench-cli-${suffix}`;
  const repository = `bench-cli-${suffix}/web`;
  // A one-stage pipeline whose gate comes first: the rollout waits for alice before it plans,
  // so nothing in the cluster is touched and the target namespace need not exist.
  const raw = {
    temporal: {
      address: stack.temporal.address,
      namespace: stack.temporal.namespace,
      taskQueue: `freshet-bench-cli-${suffix}`,
    },
    registries: [{ name: registry, url: stack.registry.url }],
    images: [{ name: image, registry, repository, track: { tag: '1' }, pipeline, interval: '1h' }],
    clusters: { local: { kubeconfig: stack.kubernetes.kubeconfig, context: stack.kubernetes.context } },
    pipelines: {
      [pipeline]: {
        stages: [
          {
            name: 'production',
            cluster: 'local',
            approval: { timeout: '1h', approvers: ['alice'] },
            targets: [{ namespace: `cli-${suffix}`, deployment: 'web' }],
          },
        ],
      },
    },
  };
  const config = configSchema.parse(raw);
  // JSON is YAML: the CLI reads the same config the daemon runs.
  const configFile = join(dir, 'freshet.yaml');
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
  let daemon: Daemon | undefined;
  const workflowIds: string[] = [];
  try {
    progress('starting a daemon and a rollout that waits for approval');
    daemon = await startDaemon({
      config,
      listen: '127.0.0.1:0',
      logger: warningsTo(progress),
      freshnessIntervalMs: 3_600_000,
    });
    const client = daemon.client;
    const pushed = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    const { rolloutId } = await requestRollout(
      { client, config, searchAttributes: await hasSearchAttributes(client, config.temporal.namespace) },
      {
        pipeline,
        image,
        registry,
        repository,
        tag: '1',
        digest: pushed.digest,
        trigger: 'manual',
        detectedAt: new Date().toISOString(),
      },
    );
    workflowIds.push(pipelineWorkflowId(config.temporal.instance, pipeline), rolloutId);
    const rollout = client.workflow.getHandle(rolloutId);
    await waitFor(
      `${rolloutId} to wait for approval`,
      async () =>
        (await rollout.describe().catch(() => undefined)) &&
        (await rollout.query(rolloutStatusQuery)).approval !== undefined,
      { timeoutMs: 60_000, intervalMs: 200 },
    );

    const variants: Variant[] = [
      { name: 'baseline', args: ['-e', '0'], check: expectExit(0) },
      { name: 'help', args: [cli, '--help'], check: expectExit(0, 'Usage: freshet COMMAND') },
      {
        name: 'help_nocache',
        args: [cli, '--help'],
        cold: true,
        check: expectExit(0, 'Usage: freshet COMMAND'),
      },
      {
        name: 'validate',
        args: [cli, 'validate-config', exampleConfig],
        check: expectExit(0, 'full.yaml: OK'),
      },
      { name: 'status', args: [cli, 'status', '-c', configFile], check: expectExit(0, rolloutId) },
      {
        name: 'status_nocache',
        args: [cli, 'status', '-c', configFile],
        cold: true,
        check: expectExit(0, rolloutId),
      },
      {
        name: 'approve',
        args: [cli, 'approve', rolloutId, '--by', 'mallory', '-c', configFile],
        check: expectExit(1, '"mallory" may not decide'),
      },
    ];
    const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
    const loadStart = loadavg()[0] ?? 0;
    progress(
      `warm-up round, then ${rounds} rounds of ${variants.length} commands (load ${loadStart.toFixed(2)})`,
    );
    for (const v of variants) await runOnce(v, dir);
    for (let r = 0; r < rounds; r++) {
      // The order rotates every round, so a slow spell of the machine hits every command alike.
      for (let i = 0; i < variants.length; i++) {
        const v = variants[(r + i) % variants.length] as Variant;
        samples.get(v.name)?.push(await runOnce(v, dir));
      }
    }
    // One decision the workflow accepts: a rejection by alice, the same Update as an approval,
    // after which the rollout ends without touching the cluster.
    const accepted = await runOnce(
      {
        name: 'reject',
        args: [cli, 'reject', rolloutId, '--by', 'alice', '-c', configFile],
        check: expectExit(0),
      },
      dir,
    );
    const loadEnd = loadavg()[0] ?? 0;
    progress(`done (load ${loadEnd.toFixed(2)})`);

    const metrics: Record<string, number> = {};
    const p50 = (name: string) => percentile(ms(samples.get(name)), 50);
    for (const { name } of variants) {
      const s = samples.get(name) ?? [];
      metrics[`${name}_ms`] = round(percentile(ms(s), 50));
      metrics[`${name}_p95_ms`] = round(percentile(ms(s), 95));
      metrics[`${name}_peak_mb`] = round(Math.max(...s.map((x) => x.peakMb)));
      if (name !== 'baseline') metrics[`${name}_vs_baseline`] = round(p50(name) / p50('baseline'), 2);
    }
    metrics.reject_accepted_ms = round(accepted.ms);
    metrics.rounds = rounds;
    metrics.load_start = round(loadStart, 2);
    metrics.load_end = round(loadEnd, 2);
    return metrics;
  } finally {
    if (daemon) await terminateAll(daemon.client, workflowIds, 'benchmark over');
    await daemon?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (samples: Sample[] | undefined) => (samples ?? []).map((s) => s.ms);

function expectExit(code: number, output?: string): Variant['check'] {
  return (got, stdout, stderr) => {
    if (got !== code || (output !== undefined && !`${stdout}${stderr}`.includes(output))) {
      throw new Error(
        `expected exit ${code}${output ? ` and "${output}"` : ''}, got exit ${got}: ${stdout}${stderr}`,
      );
    }
  };
}

/** Spawn → exit of one process, and its peak RSS as it reported it at exit. */
function runOnce(variant: Variant, dir: string): Promise<Sample> {
  const peakFile = join(dir, `peak-${variant.name}`);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const { NODE_COMPILE_CACHE: _, NODE_DISABLE_COMPILE_CACHE: __, ...env } = process.env;
    const child = spawn(process.execPath, ['--import', peakHook, ...variant.args], {
      env: {
        ...env,
        // The CLI's compile cache goes to the run's directory: the warm-up round fills it.
        XDG_CACHE_HOME: dir,
        ...(variant.cold ? { NODE_DISABLE_COMPILE_CACHE: '1' } : {}),
        FRESHET_BENCH_PEAK_FILE: peakFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    let elapsed = 0;
    child.on('error', reject);
    child.on('exit', () => {
      elapsed = performance.now() - t0;
    });
    // 'close' comes after 'exit', once the output is all read.
    child.on('close', (code) => {
      try {
        variant.check(code ?? -1, stdout, stderr);
        resolve({ ms: elapsed, peakMb: Number(readFileSync(peakFile, 'utf8')) / 1024 });
      } catch (err) {
        reject(new Error(`${variant.name}: ${(err as Error).message}`));
      }
    });
  });
}
