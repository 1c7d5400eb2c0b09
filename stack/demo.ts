// `npm run demo`: Freshet's main job on the local stack. Starts the stack, deploys demo/web:1.0
// to a staging and a production namespace, starts Freshet with config/examples/demo.yaml,
// pushes a rebuild and narrates what happens: detection, the staging canary and checks, the
// approval gate (approve from the Temporal UI or the CLI), production, and freshness before and
// after. --broken pushes a build that never becomes ready, to show the automatic rollback.
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfigFile } from '../config/load.ts';
import { pushImage } from '../test/support/image-pusher.ts';
import { deploymentManifest } from '../test/support/kube.ts';
import { freshnessCommand } from '../worker/cli/freshness.ts';
import { startDaemon } from '../worker/daemon.ts';
import {
  approveSignal,
  pipelineWorkflowId,
  type RolloutStatus,
  rolloutStatusQuery,
  rolloutWorkflowId,
} from '../workflows/rollout-messages.ts';
import { watchWorkflowId } from '../workflows/watch-messages.ts';
import { StackError } from './process.ts';
import { startStack, stopStack } from './stack.ts';

const help = `Usage: npm run demo [-- --broken] [-- --approve] [-- --exit]

Runs Freshet's main job on the local stack: deploys demo/web:1.0 to the "staging" and
"production" namespaces, starts Freshet (config/examples/demo.yaml), pushes a rebuilt image and
shows the rollout: detection, the staging canary, health checks, the approval gate, production,
and the freshness of every target before and after. Ctrl-C stops everything it started.

  --broken    push a build that never becomes ready: staging rolls back by itself
  --approve   approve production without waiting for you (for scripts)
  --exit      stop after the rollout instead of waiting for Ctrl-C`;

const configFile = fileURLToPath(new URL('../config/examples/demo.yaml', import.meta.url));
const scrapeFile = (dir: string) => join(dir, 'freshet-demo.json');
const step = (m: string) => console.log(`[demo] ${m}`);

async function resetNamespaces(kubeconfig: string, image: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const layout = { staging: ['web', 'api', 'worker'], production: ['web', 'api', 'worker'] };
  for (const [namespace, names] of Object.entries(layout)) {
    await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
    for (let i = 0; i < 60; i++) {
      const ok = await core.readNamespacedServiceAccount({ name: 'default', namespace }).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await sleep(500);
    }
    for (const name of names) {
      await apps.deleteNamespacedDeployment({ name, namespace }).catch(() => undefined);
      const body = deploymentManifest({ name, image, replicas: 2 });
      // Pipelines select the demo's Deployments by this label.
      body.metadata = { ...body.metadata, labels: { app: name, 'app.kubernetes.io/part-of': 'demo' } };
      for (let i = 0; i < 20; i++) {
        const created = await apps.createNamespacedDeployment({ namespace, body }).then(
          () => true,
          () => false,
        );
        if (created) break;
        await sleep(500); // the previous one is still being deleted
      }
    }
  }
}

/** Prints what changed in the rollout since the last look: phase, targets, checks. */
function narrator() {
  const seen = new Map<string, string>();
  return (s: RolloutStatus) => {
    const say = (key: string, value: string, text: string) => {
      if (seen.get(key) === value) return;
      seen.set(key, value);
      step(text);
    };
    const where = s.stage
      ? ` in ${s.stage}${s.wave ? ` (wave ${s.wave.index + 1}/${s.wave.total})` : ''}`
      : '';
    say('phase', `${s.phase}${where}`, `phase: ${s.phase}${where}`);
    for (const t of s.targets) {
      const key = `${t.stage}/${t.namespace}/${t.deployment}`;
      say(
        key,
        t.state,
        `  ${t.stage}: ${t.namespace}/${t.deployment} ${t.state}${t.detail ? ` (${t.detail})` : ''}`,
      );
    }
    for (const c of s.checks)
      say(`check ${c.name}`, `${c.ok}`, `  check "${c.name}": ${c.ok ? 'passing' : 'FAILING'} — ${c.detail}`);
  };
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(help);
    return 0;
  }
  const broken = args.includes('--broken');
  step('starting the local stack (about 20 s once built)');
  const state = await startStack((m) => step(m));
  const endpoints = state.endpoints;
  // Activity failures are part of the story (a broken build); the narration says them once.
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const app = createServer((_req, res) => res.end('ok\n'));
  await new Promise<void>((r) => app.listen(Number(process.env.DEMO_APP_PORT ?? 18080), '127.0.0.1', r));
  let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
  try {
    // demo.yaml reads the stack's endpoints from these (the stack may run with a port offset).
    process.env.FRESHET_STACK_WEBHOOK_TOKEN = endpoints.registry.webhookToken;
    process.env.TEMPORAL_ADDRESS = endpoints.temporal.address;
    process.env.FRESHET_STACK_REGISTRY_URL = endpoints.registry.url;
    process.env.FRESHET_STACK_PROMETHEUS_URL = endpoints.prometheus.url;
    const baseline = await pushImage({
      registryUrl: endpoints.registry.url,
      repository: 'demo/web',
      tag: '1.0',
    });
    step(`pushed ${baseline.reference}`);
    await resetNamespaces(endpoints.kubernetes.kubeconfig, baseline.reference);
    step('deployed it to staging (web, api, worker) and production (web, api, worker)');
    const config = loadConfigFile(configFile);
    await clearLeftovers(endpoints.temporal.address, config.temporal);
    // Listen where the stack's registry sends its push notifications.
    const listen = new URL(endpoints.registry.webhookUrl).host;
    daemon = await startDaemon({ config, listen, freshnessIntervalMs: 5_000, batchWindowMs: 100 });
    step(`Freshet is running: metrics and webhooks on ${daemon.url}, config ${configFile}`);
    // The stack's Prometheus scrapes Freshet, so the Prometheus health check reads real values.
    writeFileSync(
      scrapeFile(endpoints.prometheus.targetsDir),
      JSON.stringify([{ targets: [new URL(daemon.url).host], labels: { job: 'freshet' } }]),
    );
    const client = daemon.client;
    // The watch records the running build as its baseline before the rebuild lands.
    for (let i = 0; i < 60; i++) {
      const text = await freshnessCommand(client, config, true).catch(() => '[]');
      if ((JSON.parse(text) as { latestDigest?: string }[]).some((t) => t.latestDigest)) break;
      await sleep(500);
    }
    console.log(`\nFreshness before:\n${await freshnessCommand(client, config, false)}\n`);

    const rebuilt = await pushImage({
      registryUrl: endpoints.registry.url,
      repository: 'demo/web',
      tag: '1.0',
      ...(broken ? { broken: true } : {}),
    });
    step(`pushed a rebuild${broken ? ' that will never become ready' : ''}: ${rebuilt.reference}`);
    const id = rolloutWorkflowId('web', 'web', rebuilt.digest, config.temporal.instance);
    const handle = client.workflow.getHandle(id);
    const pushedAt = Date.now();
    await waitUntil(() =>
      handle.describe().then(
        () => true,
        () => false,
      ),
    );
    step(`detected after ${Date.now() - pushedAt} ms (registry webhook); rollout ${id}`);
    step(`follow it in the Temporal UI: ${endpoints.temporal.ui}/namespaces/default/workflows/${id}`);

    const narrate = narrator();
    let prompted = false;
    const result = handle.result();
    let finished = false;
    void result.finally(() => {
      finished = true;
    });
    while (!finished) {
      const s = await handle.query(rolloutStatusQuery).catch(() => undefined);
      if (s) narrate(s);
      if (s?.phase === 'awaiting-approval' && !prompted) {
        prompted = true;
        console.log(
          `\nProduction waits for your approval. Either:\n` +
            `  - in the Temporal UI, open ${endpoints.temporal.ui}/namespaces/default/workflows/${id}\n` +
            `    and send the Signal "approve" with {"by": "you", "comment": "looks good"}, or\n` +
            `  - run: FRESHET_CONFIG=config/examples/demo.yaml npm run -s freshet -- approve ${id} --by you\n`,
        );
        if (args.includes('--approve'))
          await handle.signal(approveSignal, { by: 'demo', comment: '--approve' });
      }
      await sleep(500);
    }
    const outcome = (await result) as { outcome: string; reason: string };
    step(`rollout ${outcome.outcome}: ${outcome.reason}`);
    await daemon.refreshFreshness();
    console.log(`\nFreshness after:\n${await freshnessCommand(client, config, false)}\n`);
    if (!args.includes('--exit')) {
      step(
        `still running: Temporal UI ${endpoints.temporal.ui}, metrics ${daemon.url}/metrics; Ctrl-C stops`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    return outcome.outcome === (broken ? 'rolled_back' : 'succeeded') ? 0 : 1;
  } finally {
    step('stopping');
    await daemon?.close();
    rmSync(scrapeFile(endpoints.prometheus.targetsDir), { force: true });
    app.close();
    if (!state.reused) await stopStack(step);
  }
}

/** Earlier demo runs (or anything else on the stack) may have left the demo's workflows running. */
async function clearLeftovers(
  address: string,
  temporal: { taskQueue: string; instance: string },
): Promise<void> {
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const ids = [pipelineWorkflowId(temporal.instance, 'web'), watchWorkflowId(temporal.instance, 'local')];
  const query = `ExecutionStatus = 'Running' AND (${ids.map((id) => `WorkflowId = '${id}'`).join(' OR ')} OR TaskQueue = '${temporal.taskQueue}')`;
  for await (const wf of client.workflow.list({ query })) {
    await client.workflow
      .getHandle(wf.workflowId)
      .terminate('a new demo run starts')
      .catch(() => undefined);
  }
  await connection.close();
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error('timed out waiting for the rollout to start (is port 9464 free for the webhook?)');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof StackError ? err.message : err);
    process.exit(1);
  },
);
