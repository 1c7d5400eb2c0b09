// Three daemons of one deployment (one config, one task queue) as separate processes, as a
// Deployment with three replicas runs them: started at the same moment they share the watches
// (one per group, never restarted), a push reported to all of them starts one rollout, the
// rollout survives the SIGKILL of the daemon working on it without patching anything twice,
// every replica publishes the same freshness, and each replica's apiserver cost is bounded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiserverRequests, eventMs } from '../../bench/rollout-setup.ts';
import { workflowsPath } from '../../worker/daemon.ts';
import type { RolloutInput, RolloutResult } from '../../workflows/rollout-messages.ts';
import { rolloutWorkflowId, watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, uniqueSuffix } from '../support/daemon.ts';
import { type DaemonChild, startDaemonChild } from '../support/daemon-children.ts';
import { type PushedImage, pushImage } from '../support/image-pusher.ts';
import {
  createNamespace,
  deleteNamespace,
  deploymentManifest,
  kubeClients,
  rolloutComplete,
} from '../support/kube.ts';
import { scrape } from '../support/metrics.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';
import { pushPayload, sendWebhook, webhookRequest } from '../support/webhook-requests.ts';

const stack = inject('stack');
const s = uniqueSuffix();
const kube = kubeClients(stack.kubernetes.kubeconfig);
const dir = mkdtempSync(join(tmpdir(), 'freshet-several-'));
const registry = `reg-${s}`;
const image = `web-${s}`;
const repository = `mw-${s}/web`;
const fastGroup = `fast-${s}`;
const pipeline = `p-${s}`;
const namespace = `mw-${s}`;
const tag = '1';
const deployments = ['web-1', 'web-2', 'web-3', 'web-4'];
const tokenEnv = `FRESHET_TEST_WEBHOOK_TOKEN_${s}`;
const token = `token-${s}`;
/** How often each replica recomputes its freshness gauges. */
const freshnessIntervalMs = 1_000;
const childEnv = {
  [tokenEnv]: token,
  FRESHET_TEST_FRESHNESS_INTERVAL_MS: String(freshnessIntervalMs),
  FRESHET_TEST_WORKFLOW_BUNDLE: join(dir, 'workflows.js'),
};

// A health check after every wave that answers after 1.5 s: each wave takes at least that long,
// so a replica is killed while waves are left, however fast the machine.
const slowCheck = createServer((_req, res) => {
  setTimeout(() => res.end('ok'), 1_500);
});
await new Promise<void>((resolve) => slowCheck.listen(0, '127.0.0.1', resolve));
const slowCheckUrl = `http://127.0.0.1:${(slowCheck.address() as AddressInfo).port}/`;

const config = stackConfig(
  stack,
  `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}", webhook: { source: distribution, tokenEnv: ${tokenEnv} } } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: ${image}, registry: ${registry}, repository: ${repository}, track: { tag: "${tag}" }, pipeline: ${pipeline}, interval: 1h }
  - { name: base-${s}, registry: ${registry}, repository: mw-${s}/base, track: { tag: "${tag}" }, interval: 2s, watchGroup: ${fastGroup} }
pipelines:
  ${pipeline}:
    stages:
      - name: all
        cluster: local
        targets: [ { namespace: ${namespace}, selector: { app.kubernetes.io/part-of: mw } } ]
        waves: [ ${deployments.map(() => '{ count: 1 }').join(', ')} ]
        health: { rolloutTimeout: 60s, checks: [ { name: slow, http: { url: "${slowCheckUrl}", timeout: 10s } } ] }
`,
  { [tokenEnv]: token },
);
const { instance, taskQueue } = config.temporal;
const configPath = join(dir, 'config.json');
const watchIds = [watchWorkflowId(instance, registry), watchWorkflowId(instance, fastGroup)].sort();

let connection: Connection;
let client: Client;
let daemons: DaemonChild[] = [];
let baseline: PushedImage;
let rebuilt: PushedImage;
let rolloutId = '';
/** Generations before the rollout: each Deployment's spec must change exactly once. */
let generationsBefore: Record<string, number | undefined> = {};
const everyDaemon: DaemonChild[] = [];

const start = async (n: number) => {
  const started = await Promise.all(Array.from({ length: n }, () => startDaemonChild(configPath, childEnv)));
  everyDaemon.push(...started);
  return started;
};

async function list(query: string) {
  const out: { workflowId: string; runId: string; status: string }[] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ${query}` }))
    out.push({ workflowId: wf.workflowId, runId: wf.runId, status: wf.status.name });
  return out.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
}

async function historyOf(workflowId: string) {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

async function deploymentsNow() {
  return (await kube.apps.listNamespacedDeployment({ namespace })).items;
}
async function imagesNow() {
  return Object.fromEntries(
    (await deploymentsNow()).map((d) => [
      d.metadata?.name ?? '',
      d.spec?.template.spec?.containers[0]?.image,
    ]),
  );
}
async function generationsNow() {
  return Object.fromEntries(
    (await deploymentsNow()).map((d) => [d.metadata?.name ?? '', d.metadata?.generation]),
  );
}

/** The freshness gauges of this pipeline's targets as one replica publishes them, sorted. */
async function freshnessOf(d: DaemonChild): Promise<string[]> {
  const text = await scrape(d.url);
  return text
    .split('\n')
    .filter(
      (line) =>
        /^freshet_(image_up_to_date|image_behind_since_timestamp_seconds|image_running_created_timestamp_seconds|image_info|base_image_behind)\{/.test(
          line,
        ) && line.includes(`image="${image}"`),
    )
    .sort();
}

/** Waits until every replica publishes the same gauges, with every target at `upToDate`. */
async function agreedFreshness(replicas: DaemonChild[], upToDate: 0 | 1): Promise<string[][]> {
  let last: string[][] = [];
  await waitFor(
    `${replicas.length} replicas to agree on the freshness of ${deployments.length} targets`,
    async () => {
      last = await Promise.all(replicas.map(freshnessOf));
      const [first] = last;
      const targets = first?.filter((l) => l.startsWith('freshet_image_up_to_date{')) ?? [];
      return (
        targets.length === deployments.length &&
        targets.every((l) => l.endsWith(` ${upToDate}`)) &&
        last.every((x) => JSON.stringify(x) === JSON.stringify(first))
      );
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${last.map((x, i) => `replica ${i}:\n${x.join('\n')}`).join('\n')}`);
  });
  return last;
}

/**
 * Requests for Pods and Deployments over `ms` (LIST, WATCH, GET: every verb), as the apiserver
 * counts them (every client): what following the targets' freshness costs. Freshness follows
 * them with one watch per namespace and kind, so an idle replica costs next to nothing and N
 * replicas at most N times that; the control plane's controllers list once and then watch.
 */
async function requestsDuring(ms: number): Promise<number> {
  const counts = async () => {
    const out = new Map<string, number>();
    for (const [key, value] of await apiserverRequests(kube)) {
      if (key.startsWith('pods ') || key.startsWith('deployments ')) out.set(key, value);
    }
    return out;
  };
  const before = await counts();
  await sleep(ms);
  const after = await counts();
  let total = 0;
  const parts: string[] = [];
  for (const [key, value] of after) {
    const n = value - (before.get(key) ?? 0);
    total += n;
    if (n > 0) parts.push(`${key} ${n}`);
  }
  breakdowns.push(parts.join(', '));
  return total;
}
/** Per measured window, its requests by resource and verb, for the assertion's message. */
const breakdowns: string[] = [];

beforeAll(async () => {
  await connectTemporal(stack);
  connection = await Connection.connect({ address: stack.temporal.address });
  client = new Client({ connection, namespace: config.temporal.namespace });
  writeFileSync(configPath, JSON.stringify(config));
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  writeFileSync(childEnv.FRESHET_TEST_WORKFLOW_BUNDLE, code);
  baseline = await pushImage({ registryUrl: stack.registry.url, repository, tag });
  await pushImage({ registryUrl: stack.registry.url, repository: `mw-${s}/base`, tag });
  await createNamespace(kube, namespace);
  for (const name of deployments) {
    const body = deploymentManifest({ name, image: baseline.reference, replicas: 2 });
    body.metadata = { ...body.metadata, labels: { app: name, 'app.kubernetes.io/part-of': 'mw' } };
    await kube.apps.createNamespacedDeployment({ namespace, body });
  }
  await waitFor(
    'the baseline Deployments to be available',
    async () => (await deploymentsNow()).every(rolloutComplete),
    { timeoutMs: 90_000 },
  );
}, 240_000);

afterAll(async () => {
  slowCheck.close();
  for (const d of everyDaemon) await d.kill();
  if (client) {
    for (const wf of await list(`ExecutionStatus = 'Running'`).catch(() => []))
      await client.workflow
        .getHandle(wf.workflowId)
        .terminate('test over')
        .catch(() => undefined);
  }
  await connection?.close();
  await deleteNamespace(kube, namespace);
  rmSync(dir, { recursive: true, force: true });
});

describe('three daemons on one task queue', () => {
  it('start at once and share one watch per group, never restarted', async () => {
    daemons = await start(3);
    expect(new Set(daemons.map((d) => d.url)).size).toBe(3);
    const watch = client.workflow.getHandle(watchWorkflowId(instance, registry));
    await waitFor(
      'the watch to record the baseline digest',
      async () => (await watch.query(watchStatusQuery)).images[0]?.state.latest?.digest === baseline.digest,
    );
    const first = await list(`WorkflowType = 'watchWorkflow'`);
    expect(first.map((w) => w.workflowId)).toEqual(watchIds);
    expect(first.map((w) => w.status)).toEqual(['RUNNING', 'RUNNING']);

    // The fast group checks every 2 s: some cycles later, still the same two runs.
    const fast = client.workflow.getHandle(watchWorkflowId(instance, fastGroup));
    const cyclesBefore = (await fast.query(watchStatusQuery)).cycles;
    await waitFor(
      'three more cycles of the fast watch',
      async () => (await fast.query(watchStatusQuery)).cycles >= cyclesBefore + 3,
    );
    expect(await list(`WorkflowType = 'watchWorkflow'`)).toEqual(first);
    for (const id of watchIds) {
      const events = await historyOf(id);
      // Each daemon's reconciliation is one signalWithStart: one start, three configures, nothing else.
      expect(events.filter((e) => e.workflowExecutionStartedEventAttributes)).toHaveLength(1);
      expect(
        events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'configure'),
      ).toHaveLength(3);
      expect(
        events.filter((e) => e.workflowTaskFailedEventAttributes || e.activityTaskFailedEventAttributes),
      ).toEqual([]);
    }
    for (const d of daemons) expect(d.output()).not.toMatch(/already (been )?started|AlreadyStarted/i);
  }, 120_000);

  it('publish the same freshness on every replica', async () => {
    await agreedFreshness(daemons, 1);
  }, 90_000);

  it('start one rollout for a push reported to all three', async () => {
    generationsBefore = await generationsNow();
    rebuilt = await pushImage({ registryUrl: stack.registry.url, repository, tag });
    rolloutId = rolloutWorkflowId(pipeline, image, rebuilt.digest, instance);
    const body = JSON.stringify(
      pushPayload('distribution', {
        repository,
        tag,
        digest: rebuilt.digest,
        registryHost: stack.registry.host,
      }),
    );
    const answers = await Promise.all(
      daemons.map((d) => sendWebhook(d.url, webhookRequest('distribution', body, token))),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    await waitFor('the rollout to start', () =>
      client.workflow
        .getHandle(rolloutId)
        .describe()
        .catch(() => undefined),
    );
    // Whatever the replicas signalled, one digest is one rollout: give stragglers a moment.
    await sleep(2_000);
    expect((await list(`WorkflowType = 'rolloutWorkflow'`)).map((w) => w.workflowId)).toEqual([rolloutId]);
    const payload = (await historyOf(rolloutId))[0]?.workflowExecutionStartedEventAttributes?.input
      ?.payloads?.[0];
    const input = payload
      ? defaultPayloadConverter.fromPayload<RolloutInput>(
          payload as Parameters<typeof defaultPayloadConverter.fromPayload>[0],
        )
      : undefined;
    expect(input?.request.trigger).toBe('webhook');
  }, 120_000);

  it('finish the rollout without patching twice when the daemon working on it is SIGKILLed', async () => {
    await waitFor(
      'the first wave patched',
      async () => Object.values(await imagesNow()).includes(rebuilt.reference),
      { timeoutMs: 90_000, intervalMs: 50 },
    );
    // The replica whose worker runs the rollout's current activity.
    const victim = await waitFor(
      'an activity of the rollout running on a replica',
      async () => {
        const { raw } = await client.workflow.getHandle(rolloutId).describe();
        const identities = (raw.pendingActivities ?? []).map((a) => a.lastWorkerIdentity);
        return daemons.find((d) => identities.includes(d.identity));
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    await victim.kill();
    const killedAt = Date.now();
    const atKill = await imagesNow();
    expect(
      Object.values(atKill).filter((i) => i !== rebuilt.reference).length,
      'waves left when the replica was killed',
    ).toBeGreaterThan(0);
    const survivors = daemons.filter((d) => d !== victim);

    const result = (await client.workflow.getHandle(rolloutId).result()) as RolloutResult;
    expect(result.outcome).toBe('succeeded');
    expect(Object.values(await imagesNow())).toEqual(deployments.map(() => rebuilt.reference));
    const after = await generationsNow();
    for (const name of deployments)
      expect(after[name], `${name} patched once`).toBe((generationsBefore[name] ?? 0) + 1);

    // What ran after the kill ran on the survivors.
    const events = await historyOf(rolloutId);
    const startedBy = new Map<string, string>();
    for (const e of events) {
      const a = e.activityTaskStartedEventAttributes;
      if (a) startedBy.set(String(a.scheduledEventId), a.identity ?? '');
    }
    const finishedLater = events
      .filter((e) => e.activityTaskCompletedEventAttributes && eventMs(e.eventTime) > killedAt + 500)
      .map((e) => startedBy.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)));
    expect(finishedLater.length).toBeGreaterThan(0);
    for (const identity of finishedLater) expect(survivors.map((d) => d.identity)).toContain(identity);
    daemons = survivors;
  }, 240_000);

  it('agree on freshness again with a replacement replica, and cost the apiserver no more than their number', async () => {
    daemons = [...daemons, ...(await start(1))];
    await agreedFreshness(daemons, 1);

    // Each replica follows the targets with its own watches (one per namespace and kind, re-opened
    // every few minutes), and reads its freshness from them: an idle window costs each replica at
    // most the re-opening of its watches (one LIST and one WATCH per kind), whatever the
    // collection interval, and three replicas cost at most three times one.
    const windowMs = 15_000;
    const perReplica = 4;
    const three = await requestsDuring(windowMs);
    for (const d of daemons.slice(1)) await d.stop();
    await agreedFreshness([daemons[0] as DaemonChild], 1);
    const one = await requestsDuring(windowMs);
    await daemons[0]?.stop();
    const none = await requestsDuring(windowMs);
    const figures = `pod and deployment requests in ${windowMs} ms: three replicas ${three}, one ${one}, none ${none} (${breakdowns.slice(-3).join('; ')})`;
    expect(three - none, figures).toBeLessThanOrEqual(3 * Math.max(one - none, 0) + 3 * perReplica);
    // One replica's cost does not follow its collections (one per second here, 15 in the window):
    // periodic LISTs would cost two per collection.
    expect(one - none, figures).toBeLessThanOrEqual(perReplica);
  }, 180_000);
});
