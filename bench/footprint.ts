// `npm run bench -- footprint`: what the daemon costs while nothing happens. `freshet start` runs
// as a user runs it (a child process, `node worker/cli/main.ts start -c FILE`) with 200 watched
// images on a registry of the run's own and 1,000 targets (Deployments on the stack's KWOK
// cluster), hour-long poll intervals. Once it is ready and settled: RSS (/proc/PID/status VmRSS,
// VmHWM for the peak) and CPU (utime + stime of /proc/PID/stat) over 60 idle seconds, then the
// time of /metrics scrapes. Baselines in the same window: a Node process running only the
// Temporal SDK (connection + worker with Freshet's workflow bundle, no activities, the same
// young generation as freshet start; bench/footprint-baseline.ts) and a bare Node process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { configSchema } from '../config/schema.ts';
import type { Endpoints } from '../stack/layout.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { createNamespace, deploymentManifest } from '../test/support/kube.ts';
import { startTestRegistry } from '../test/support/registry-process.ts';
import { defaultSemiSpaceMb, semiSpaceFlag } from '../worker/cli/young-generation.ts';
import { watchGroups } from '../worker/watches.ts';
import { watchWorkflowId } from '../workflows/watch-messages.ts';
import { type Progress, progressFor, runSuffix } from './harness.ts';
import { kubeClients, removeNamespaces } from './rollout-setup.ts';
import { median, percentile, round } from './stats.ts';

const images = 200;
const targetsPerImage = 5;
const idleWindowMs = 60_000;
const rssSampleEveryMs = 2_000;
const scrapes = 20;
/** After the first freshness collection: a few more cycles, so start-up garbage is collected. */
const settleMs = 20_000;
const pushConcurrency = 8;
const createConcurrency = 10;
const tag = '1';
const cli = fileURLToPath(new URL('../worker/cli/main.ts', import.meta.url));
const baselineScript = fileURLToPath(new URL('./footprint-baseline.ts', import.meta.url));
/** USER_HZ: the unit of utime and stime in /proc/PID/stat (100 on every Linux build we run on). */
const clockTicksPerSecond = 100;

export async function footprint(stack: Endpoints): Promise<Record<string, number>> {
  const progress = progressFor('footprint');
  const suffix = runSuffix();
  const instance = `freshet-bench-fp-${suffix}`;
  const namespace = `fp-${suffix}`;
  const dir = mkdtempSync(join(tmpdir(), 'freshet-footprint-'));
  const cacheDir = join(dir, 'cache');
  const kube = kubeClients(stack.kubernetes.kubeconfig);
  const registry = await startTestRegistry();
  const children: Proc[] = [];
  let namespaceCreated = false;
  let config: ReturnType<typeof configSchema.parse> | undefined;
  try {
    progress(`registry ${registry.url}; pushing ${images} images, ${pushConcurrency} at a time`);
    const references = await inParallel(pushConcurrency, images, async (i) => {
      const pushed = await pushImage({ registryUrl: registry.url, repository: repository(suffix, i), tag });
      return pushed.reference;
    });
    progress(`creating ${images * targetsPerImage} Deployments in ${namespace}`);
    await createNamespace(kube, namespace);
    namespaceCreated = true;
    await inParallel(createConcurrency, images * targetsPerImage, async (n) => {
      const i = Math.floor(n / targetsPerImage);
      const body = deploymentManifest({
        name: target(i, n % targetsPerImage),
        image: references[i] ?? '',
        replicas: 1,
      });
      await kube.apps.createNamespacedDeployment({ namespace, body });
    });

    const raw = {
      temporal: { address: stack.temporal.address, namespace: stack.temporal.namespace, taskQueue: instance },
      registries: [{ name: `fp-${suffix}`, url: registry.url }],
      clusters: { local: { kubeconfig: stack.kubernetes.kubeconfig, context: stack.kubernetes.context } },
      images: Array.from({ length: images }, (_, i) => ({
        name: `fp${i}`,
        registry: `fp-${suffix}`,
        repository: repository(suffix, i),
        track: { tag },
        interval: '1h',
        pipeline: `p${i}`,
      })),
      pipelines: Object.fromEntries(
        Array.from({ length: images }, (_, i) => [
          `p${i}`,
          {
            stages: [
              {
                name: 'prod',
                cluster: 'local',
                targets: Array.from({ length: targetsPerImage }, (_, j) => ({
                  namespace,
                  deployment: target(i, j),
                })),
              },
            ],
          },
        ]),
      ),
    };
    config = configSchema.parse(raw);
    const configPath = join(dir, 'freshet.yaml');
    writeFileSync(configPath, JSON.stringify(raw, null, 2));
    const env = { ...process.env, FRESHET_CACHE_DIR: cacheDir };
    const startArgs = [cli, 'start', '-c', configPath, '--listen', '127.0.0.1:0', '--json-logs'];

    // First start: an empty cache, so it bundles; its peak is what bundling costs.
    progress('cold start (empty bundle cache)');
    const cold = startProcess('freshet start (cold)', startArgs, env, (line) => /"msg":"ready: /.test(line));
    children.push(cold);
    await cold.ready;
    const coldPeak = memory(cold.pid).hwmMb;
    const coldReadyMs = cold.readyMs();
    const coldBundle = logField(cold.output(), 'workflow bundle built', 'ms');
    progress(`cold: ready in ${coldReadyMs} ms (bundle built in ${coldBundle} ms), peak ${coldPeak} MB`);
    await cold.stop();

    progress('warm start (bundle cached)');
    const daemon = startProcess('freshet start', startArgs, env, (line) => /"msg":"ready: /.test(line));
    children.push(daemon);
    await daemon.ready;
    const url = /"url":"(http:[^"]+)"/.exec(daemon.output())?.[1];
    if (!url) throw new Error('freshet start logged no url');
    const reusedMs = logField(daemon.output(), 'workflow bundle reused', 'ms');
    const bundlePath = /"path":"([^"]+)","ms":\d+,"msg":"workflow bundle reused"/.exec(daemon.output())?.[1];
    if (!bundlePath)
      throw new Error(`the warm start did not reuse the bundle:\n${daemon.output().slice(-3_000)}`);
    progress(`warm: ready in ${daemon.readyMs()} ms (bundle reused in ${reusedMs} ms)`);

    const sdkOnly = startProcess(
      'baseline (SDK worker)',
      // The young generation freshet start gives itself (worker/cli/young-generation.ts), so the
      // difference is what Freshet's code and state cost, not a V8 setting.
      [
        `${semiSpaceFlag}=${defaultSemiSpaceMb}`,
        baselineScript,
        stack.temporal.address,
        stack.temporal.namespace,
        `${instance}-baseline`,
        bundlePath,
      ],
      process.env,
      (line) => line === 'ready',
    );
    children.push(sdkOnly);
    const bareNode = startProcess(
      'baseline (node)',
      ['-e', 'console.log("ready"); setInterval(() => {}, 1 << 30)'],
      process.env,
      (line) => line === 'ready',
    );
    children.push(bareNode);
    await Promise.all([sdkOnly.ready, bareNode.ready]);

    const settled = await settle(url, progress);
    progress(`settled: ${settled.upToDate} targets up to date, ${settled.series} freshness series`);
    await new Promise((r) => setTimeout(r, settleMs));

    progress(
      `idle for ${idleWindowMs / 1000} s: RSS every ${rssSampleEveryMs / 1000} s, CPU over the window`,
    );
    const watched = [daemon, sdkOnly, bareNode];
    const cpuBefore = watched.map((p) => cpuTicks(p.pid));
    const t0 = performance.now();
    const rss: number[][] = watched.map(() => []);
    while (performance.now() - t0 < idleWindowMs) {
      for (const [k, p] of watched.entries()) rss[k]?.push(memory(p.pid).rssMb);
      await new Promise((r) => setTimeout(r, rssSampleEveryMs));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuPct = watched.map(
      (p, k) => ((cpuTicks(p.pid) - (cpuBefore[k] ?? 0)) / clockTicksPerSecond / seconds) * 100,
    );
    const daemonMemory = memory(daemon.pid);
    const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
    progress(`load average ${loadavg}`);

    progress(
      `idle: RSS ${median(rss[0] ?? []).toFixed(1)} MB (baseline ${median(rss[1] ?? []).toFixed(1)} MB), ` +
        `CPU ${cpuPct[0]?.toFixed(2)} % (baseline ${cpuPct[1]?.toFixed(2)} %), peak ${daemonMemory.hwmMb.toFixed(1)} MB`,
    );

    const scrapeMs: number[] = [];
    let bodyBytes = 0;
    for (let i = 0; i < scrapes; i++) {
      const s0 = performance.now();
      const res = await fetch(`${url}/metrics`).catch((err: unknown) => {
        throw new Error(
          `scrape ${i + 1} failed (${String(err)}); daemon output:\n${daemon.output().slice(-3_000)}`,
        );
      });
      const body = await res.text();
      scrapeMs.push(performance.now() - s0);
      if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
      bodyBytes = Buffer.byteLength(body);
      await new Promise((r) => setTimeout(r, 250));
    }
    const idleRss = median(rss[0] ?? []);
    const baselineRss = median(rss[1] ?? []);
    const nodeRss = median(rss[2] ?? []);
    const result = {
      images,
      targets: images * targetsPerImage,
      idle_rss_mb: round(idleRss),
      idle_rss_anon_mb: round(daemonMemory.anonMb),
      idle_cpu_pct: round(cpuPct[0] ?? Number.NaN, 2),
      scrape_ms: round(median(scrapeMs), 1),
      scrape_p95_ms: round(percentile(scrapeMs, 95), 1),
      scrape_bytes: bodyBytes,
      peak_rss_mb: round(daemonMemory.hwmMb),
      threads: daemonMemory.threads,
      baseline_rss_mb: round(baselineRss),
      baseline_peak_rss_mb: round(memory(sdkOnly.pid).hwmMb),
      baseline_cpu_pct: round(cpuPct[1] ?? Number.NaN, 2),
      node_rss_mb: round(nodeRss),
      ours_rss_mb: round(idleRss - baselineRss),
      rss_ratio_vs_baseline: round(idleRss / baselineRss, 2),
      cold_start_peak_rss_mb: round(coldPeak),
      cold_ready_ms: coldReadyMs,
      warm_ready_ms: daemon.readyMs(),
      bundle_build_ms: coldBundle,
      bundle_reuse_ms: reusedMs,
      up_to_date_targets: settled.upToDate,
      loadavg_1m: Number(loadavg.split(' ')[0]),
    };
    progress(
      `idle RSS ${result.idle_rss_mb} MB (SDK baseline ${result.baseline_rss_mb} MB, node ${result.node_rss_mb} MB), ` +
        `CPU ${result.idle_cpu_pct} % (baseline ${result.baseline_cpu_pct} %), scrape p50 ${result.scrape_ms} ms ` +
        `(${Math.round(bodyBytes / 1024)} KiB)`,
    );
    return result;
  } finally {
    for (const child of children.reverse()) await child.stop();
    if (config) await terminateWatches(stack, instance, [...watchGroups(config).keys()]);
    if (namespaceCreated) await removeNamespaces(kube, [namespace], progress);
    await registry.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

const repository = (suffix: string, i: number) => `fp-${suffix}/app${i}`;
const target = (i: number, j: number) => `app${i}-${j}`;

/** Runs `count` tasks, `concurrency` at a time; results in task order. */
async function inParallel<T>(
  concurrency: number,
  count: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) results[i] = await task(i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

interface Proc {
  pid: number;
  ready: Promise<void>;
  readyMs(): number;
  output(): string;
  stop(): Promise<void>;
}

function startProcess(
  what: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  isReady: (line: string) => boolean,
): Proc {
  const spawnedAt = performance.now();
  let readyAt = Number.NaN;
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const before = output.length;
      output += chunk.toString();
      const fresh = output.slice(output.lastIndexOf('\n', before) + 1);
      if (fresh.split('\n').some((line) => isReady(line.trim()))) {
        readyAt = performance.now();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${output.slice(-3_000)}`)));
  });
  ready.catch(() => undefined);
  return {
    pid: child.pid ?? 0,
    ready,
    readyMs: () => Math.round(readyAt - spawnedAt),
    output: () => output,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return {
    rssMb: kb('VmRSS') / 1024,
    hwmMb: kb('VmHWM') / 1024,
    anonMb: kb('RssAnon') / 1024,
    threads: kb('Threads'),
  };
}

/** utime + stime, in clock ticks (fields 14 and 15, counted after the command name's ")"). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** A number field of the first JSON log line with this message. */
function logField(output: string, message: string, field: string): number {
  const line = output.split('\n').find((l) => l.includes(`"msg":"${message}"`));
  if (!line) return Number.NaN;
  return Number((JSON.parse(line) as Record<string, unknown>)[field]);
}

/** Waits until every target has a freshness series and two scrapes in a row agree. */
async function settle(url: string, progress: Progress) {
  const deadline = Date.now() + 300_000;
  let last = '';
  let reported = -1;
  while (Date.now() < deadline) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const lines = text.split('\n').filter((l) => l.startsWith('freshet_image_up_to_date{'));
    const upToDate = lines.filter((l) => l.endsWith(' 1')).length;
    const summary = `${lines.length}/${upToDate}`;
    if (lines.length !== reported) progress(`freshness series: ${lines.length}, up to date: ${upToDate}`);
    reported = lines.length;
    if (lines.length === images * targetsPerImage && upToDate === lines.length && summary === last)
      return { series: lines.length, upToDate };
    last = summary;
    await new Promise((r) => setTimeout(r, 5_000));
  }
  throw new Error(`freshness did not settle within 5 min (series/up to date: ${last})`);
}

async function terminateWatches(stack: Endpoints, instance: string, groups: string[]) {
  const connection = await Connection.connect({ address: stack.temporal.address });
  try {
    const client = new Client({ connection, namespace: stack.temporal.namespace });
    for (const group of groups)
      await client.workflow
        .getHandle(watchWorkflowId(instance, group))
        .terminate('benchmark over')
        .catch(() => undefined);
  } finally {
    await connection.close();
  }
}
