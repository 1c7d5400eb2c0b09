// The Freshet daemon: a Temporal worker running the watch and rollout workflows, the HTTP
// server (/metrics, /healthz, /readyz, /webhooks/<source>), the freshness collector, and the
// reconciliation of watch workflows with the config.
import { VersionApi } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createFreezeActivities, freezeChangedEvent, logFreezeChange } from '../activities/freeze/index.ts';
import { createHealthActivities } from '../activities/health/index.ts';
import { createKubernetesActivities } from '../activities/kubernetes/index.ts';
import { notificationEventTypes } from '../activities/notify/events.ts';
import { createNotifyActivities } from '../activities/notify/index.ts';
import { createNotificationSender } from '../activities/notify/send.ts';
import { createRolloutReportActivities } from '../activities/rollout/report.ts';
import { createRolloutRequestActivities } from '../activities/rollout/request.ts';
import { createWatchActivities } from '../activities/watch/check-images.ts';
import { createWindowActivities } from '../activities/windows/index.ts';
import type { Config } from '../config/schema.ts';
import { resolveSecret } from '../config/secrets.ts';
import { buildClusterClients, closeClusterClients } from './clusters.ts';
import { foreignWorkflowProblem, foreignWorkflows } from './foreign-workflows.ts';
import { publishFreezes } from './freezes.ts';
import { collectTargets, publishFreshness } from './freshness.ts';
import { type HttpServer, startHttpServer } from './http.ts';
import { publishInventory } from './inventory.ts';
import { createInventoryTracker } from './inventory-tracker.ts';
import { kubernetesObservers } from './kubernetes-observers.ts';
import { createMetrics, type Metrics, scrapeCache } from './metrics.ts';
import { buildRegistryClients, registryHostIndex } from './registries.ts';
import { countPendingApprovals, hasSearchAttributes } from './rollouts.ts';
import { createStaleTracker, sendWithRetries } from './stale-notifications.ts';
import { temporalConnectionOptions } from './temporal-connection.ts';
import { dispatchHints, reconcileWatches, watchStatuses } from './watches.ts';
import { createWebhookMetrics } from './webhooks/metrics.ts';
import { type LogSink, silentLogSink } from './webhooks/types.ts';
import { resolveWorkflowBundle } from './workflow-bundle.ts';
import type { ForeignWorkflow } from './workflow-owner.ts';
import { workflowsPath } from './workflows-path.ts';

export { workflowsPath };

export interface DaemonOptions {
  config: Config;
  logger?: LogSink;
  /** Override config.metrics.listen (tests use 127.0.0.1:0). */
  listen?: string;
  /** How often the freshness gauges are recomputed; default 15 s. */
  freshnessIntervalMs?: number;
  /** Workflow code from `freshet bundle-workflows`; default: the cached bundle (built once). */
  workflowBundlePath?: string;
  /** Where bundles are cached; default $FRESHET_CACHE_DIR, $XDG_CACHE_HOME/freshet or ~/.cache/freshet. */
  workflowBundleCacheDir?: string;
  batchWindowMs?: number;
  /** Watches continue as new after this many events (tests lower it). */
  maxHistoryEvents?: number;
  /** Carried bytes per watch before a group runs as parts (worker/watch-parts.ts; tests lower it). */
  watchPartBudgetBytes?: number;
  /** How long in-flight activities get to finish on shutdown; default 10 s. */
  shutdownGraceMs?: number;
  /** The Temporal SDK's own Prometheus endpoint, appended to /metrics. */
  sdkMetricsUrl?: string;
}

export interface Daemon {
  url: string;
  client: Client;
  /** temporal.instance: the name its watch, pipeline and rollout ids carry. */
  instance: string;
  metrics: Metrics;
  refreshFreshness(): Promise<void>;
  close(): Promise<void>;
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config } = options;
  const log = options.logger ?? silentLogSink;
  const metrics = createMetrics();
  const scrape = scrapeCache(metrics.registry);
  initRolloutSeries(metrics, config);
  const registries = buildRegistryClients(config, metrics);
  const clusters = buildClusterClients(config, {
    watches: {
      onError: ({ cluster, kind, namespace, error }) => {
        metrics.kubernetesWatchErrors.inc({ cluster, resource: kind });
        log.warn({ cluster, kind, namespace, error }, 'Kubernetes watch failed; retrying');
      },
    },
  });
  const inventory = config.inventory ? createInventoryTracker(config, config.inventory, clusters) : undefined;
  const discovered = () => inventory?.discovered() ?? [];
  const temporal = config.temporal;
  const connectionOptions = temporalConnectionOptions(config);
  const nativeConnection = await NativeConnection.connect(connectionOptions);
  const connection = await Connection.connect(connectionOptions);
  const client = new Client({ connection, namespace: temporal.namespace });

  const notifications = createNotificationSender({
    config,
    metrics: { inc: (labels) => metrics.notifications.inc(labels) },
  });
  // Every sink's series from 0, so increase() sees its first failure.
  for (const sink of config.notifications.sinks)
    for (const event of sink.events ?? notificationEventTypes)
      for (const result of ['sent', 'failed', 'refused'])
        metrics.notifications.inc({ sink: sink.name, event, result }, 0);
  const staleTracker = createStaleTracker(config.notifications.staleAfter);
  const searchAttributes = await hasSearchAttributes(client, temporal.namespace);
  if (!searchAttributes) {
    log.warn(
      { namespace: temporal.namespace },
      'Freshet search attributes are not registered; rollouts run without them (see README: search attributes)',
    );
  }

  const { bundle } = await resolveWorkflowBundle({
    workflowsPath,
    log,
    ...(options.workflowBundlePath ? { given: options.workflowBundlePath } : {}),
    ...(options.workflowBundleCacheDir ? { cacheDir: options.workflowBundleCacheDir } : {}),
  });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    workflowBundle: bundle,
    activities: {
      ...createWatchActivities({
        registries,
        registryForHost: registryHostIndex(config),
        imagesOnRegistry: (registry) =>
          [...config.images, ...discovered()].filter((i) => i.registry === registry).length,
        onCheckFailure: (registry, image, error, reason) => {
          metrics.watchErrors.inc({ registry });
          metrics.imageLookupFailures.inc({ image, reason });
          log.warn({ registry, image, error }, 'image check failed');
        },
      }),
      ...createRolloutRequestActivities({ client, config, searchAttributes }),
      ...createKubernetesActivities({ clusters, config, ...kubernetesObservers(metrics, log) }),
      ...createHealthActivities({ config }),
      ...createRolloutReportActivities(metrics),
      ...createNotifyActivities({ sender: notifications, logger: log }),
      ...createWindowActivities(),
      ...createFreezeActivities({
        client,
        taskQueue: temporal.taskQueue,
        instance: temporal.instance,
        log,
        // Logged, then sent in the background: a sink that is down never delays telling the rollouts.
        sendFreezeNotification: async (change) => {
          await logFreezeChange(log)(change);
          void sendWithRetries(notifications, freezeChangedEvent(change), log);
        },
      }),
    },
    shutdownGraceTime: options.shutdownGraceMs ?? 10_000,
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    // A poll holds a slot it may fill: never more polls than slots, as the SDK's own default.
    activityTaskPollerBehavior: {
      type: 'simple-maximum',
      maximum: Math.min(config.worker.activityTaskPollers, config.worker.maxConcurrentActivities),
    },
    workflowTaskPollerBehavior: {
      type: 'simple-maximum',
      maximum: Math.min(config.worker.workflowTaskPollers, config.worker.maxConcurrentWorkflowTasks),
    },
    maxEagerActivityReservationsPerWorkflowTask: config.worker.eagerActivities,
    // A workflow task waits this long on the sticky queue of a worker that died (SIGKILL, lost
    // machine) before another worker gets it: 10 s by default. A miss costs a replay of the history.
    stickyQueueScheduleToStartTimeout: '1 second',
  });
  const running = worker.run();

  const refreshFreshness = async () => {
    const statuses = await watchStatuses(client, config);
    const targets = await collectTargets(config, clusters, statuses);
    publishFreshness(metrics, config, targets, statuses);
    // Not awaited: a sink that is down holds no collection.
    for (const event of staleTracker.observe(targets, Date.now()))
      void sendWithRetries(notifications, event, log);
    publishInventory(metrics, inventory?.entries(statuses) ?? [], statuses, inventory?.scans() ?? new Map());
    const pendingApprovals = await countPendingApprovals(client, temporal.taskQueue, searchAttributes);
    metrics.approvalsPending.reset();
    for (const p of pendingApprovals)
      metrics.approvalsPending.set({ pipeline: p.pipeline, stage: p.stage }, p.count);
    await scrape.refresh();
    await publishFreezes(metrics, client, config);
  };
  let freshnessTimer: NodeJS.Timeout | undefined;
  const scheduleFreshness = () => {
    freshnessTimer = setTimeout(async () => {
      await refreshFreshness().catch((err: unknown) =>
        log.warn({ error: String(err) }, 'freshness collection failed'),
      );
      scheduleFreshness();
    }, options.freshnessIntervalMs ?? 15_000);
  };

  const webhookMetrics = createWebhookMetrics(metrics.registry);
  const webhookSecrets = new Map<string, string>();
  for (const r of config.registries) {
    if (!r.webhook) continue;
    webhookSecrets.set(
      r.webhook.source,
      resolveSecret(
        { env: r.webhook.tokenEnv, file: r.webhook.tokenFile },
        `registries (${r.name}).webhook.token`,
      ),
    );
  }

  const [host = '0.0.0.0', port = '9464'] = splitHostPort(options.listen ?? config.metrics.listen);
  // Logged once per workflow, however often /readyz finds it again.
  const reportedForeign = new Set<string>();
  const reportForeign = (found: readonly ForeignWorkflow[]) => {
    for (const f of found) {
      if (reportedForeign.has(f.workflowId)) continue;
      reportedForeign.add(f.workflowId);
      log.error(
        {
          workflowId: f.workflowId,
          taskQueue: temporal.taskQueue,
          otherTaskQueue: f.taskQueue,
          instance: temporal.instance,
        },
        `workflow ${f.workflowId} of this Freshet ${foreignWorkflowProblem(config, f)}`,
      );
    }
  };

  const reconcile = () =>
    reconcileWatches(client, config, {
      ...(options.batchWindowMs ? { batchWindowMs: options.batchWindowMs } : {}),
      ...(options.maxHistoryEvents ? { maxHistoryEvents: options.maxHistoryEvents } : {}),
      ...(options.watchPartBudgetBytes ? { partBudgetBytes: options.watchPartBudgetBytes } : {}),
      discovered: discovered(),
    });
  const scanInventory = async () => {
    if (!inventory) return false;
    const { changed, problems } = await inventory.scan();
    if (problems.length > 0) log.warn({ problems: problems.slice(0, 20) }, 'inventory: workloads left out');
    return changed;
  };
  let inventoryTimer: NodeJS.Timeout | undefined;
  const scheduleInventory = () => {
    if (!inventory) return;
    inventoryTimer = setTimeout(async () => {
      await scanInventory()
        .then(async (changed) => {
          if (changed) reportForeign((await reconcile()).foreign);
        })
        .catch((err: unknown) => log.warn({ error: String(err) }, 'inventory scan failed'));
      scheduleInventory();
    }, inventory.inventory.scanInterval);
  };

  let http: HttpServer | undefined;
  try {
    // The watches get the inventory's images from their first configure: a watch told of fewer
    // images would drop what it knows of the others.
    await scanInventory().catch(async (err: unknown) => {
      log.warn({ error: String(err) }, 'inventory scan failed; keeping the images the watches follow');
      inventory?.adopt(await watchStatuses(client, config));
    });
    const reconciled = await reconcile();
    reportForeign(reconciled.foreign);
    if (reconciled.stopped.length > 0) log.info({ stopped: reconciled.stopped }, 'stopped watches');
    http = await startHttpServer({
      host,
      port: Number(port),
      logger: log,
      routes: {
        metrics: async () => ({
          contentType: metrics.registry.contentType,
          body: (await scrape.render()) + (await sdkMetrics(options.sdkMetricsUrl)),
        }),
        healthz: async () => true,
        readyz: async () => {
          const checks: Record<string, string> = {};
          await client.workflowService
            .getSystemInfo({})
            .then(() => {
              checks.temporal = 'ok';
            })
            .catch((err: unknown) => {
              checks.temporal = `unreachable: ${err instanceof Error ? err.message : String(err)}`;
            });
          for (const [name, c] of clusters) {
            // GET /version: open to any authenticated client, so least-privilege RBAC passes it.
            await c.config
              .makeApiClient(VersionApi)
              .getCode()
              .then(() => {
                checks[`cluster ${name}`] = 'ok';
              })
              .catch((err: unknown) => {
                checks[`cluster ${name}`] =
                  `unreachable: ${err instanceof Error ? err.message : String(err)}`;
              });
          }
          if (checks.temporal === 'ok') {
            const foreign = await foreignWorkflows(client, config, options.watchPartBudgetBytes);
            reportForeign(foreign);
            for (const f of foreign) checks[`workflow ${f.workflowId}`] = foreignWorkflowProblem(config, f);
          }
          return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
        },
        webhooks: {
          secretFor: (source) => webhookSecrets.get(source),
          onHints: (hints) =>
            dispatchHints(client, config, hints, discovered(), options.watchPartBudgetBytes),
          onRefused: webhookMetrics.refused,
          logger: log,
        },
      },
    });
  } catch (err) {
    worker.shutdown();
    await running.catch(() => undefined);
    await closeClusterClients(clusters);
    throw err;
  }
  scheduleFreshness();
  scheduleInventory();
  log.info(
    { url: http.url, taskQueue: temporal.taskQueue, instance: temporal.instance },
    'freshet daemon started',
  );

  return {
    url: http.url,
    client,
    instance: temporal.instance,
    metrics,
    refreshFreshness,
    async close() {
      clearTimeout(freshnessTimer);
      clearTimeout(inventoryTimer);
      await http?.close();
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
      await closeClusterClients(clusters);
    },
  };
}

function splitHostPort(listen: string): [string, string] {
  const at = listen.lastIndexOf(':');
  return [listen.slice(0, at).replace(/^\[|\]$/g, ''), listen.slice(at + 1)];
}

/** The SDK's metrics (Core's own exporter), so one scrape gets both; empty when unavailable. */
async function sdkMetrics(url: string | undefined): Promise<string> {
  if (!url) return '';
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? `\n${await res.text()}` : '';
  } catch {
    return '';
  }
}

const outcomes = [
  'succeeded',
  'rolled_back',
  'rejected',
  'approval_timed_out',
  'aborted',
  'superseded',
  'reverted',
  'failed',
];
const rollbackReasons = ['not_ready', 'check_failed', 'drift', 'reverted', 'aborted', 'error'];

/**
 * Rollout series exist from the start at 0, so increase() counts the first rollout and the first
 * rollback too (a counter that appears at 1 looks like no change).
 */
function initRolloutSeries(metrics: Metrics, config: Config): void {
  for (const [pipeline, p] of Object.entries(config.pipelines)) {
    for (const outcome of outcomes) metrics.rollouts.inc({ pipeline, outcome }, 0);
    metrics.timeToProduction.zero({ pipeline });
    for (const stage of p.stages) {
      for (const reason of rollbackReasons) metrics.rollbacks.inc({ pipeline, stage: stage.name, reason }, 0);
      metrics.rollbackStuck.set({ pipeline, stage: stage.name }, 0);
    }
    metrics.freezeActive.set({ pipeline }, 0);
  }
}
