// Freshet's Prometheus metrics. Names are part of the interface (DESIGN.md); labels stay
// bounded: config names, namespaces and Deployment names, never digests except on *_info.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics(registry = new Registry()) {
  const targetLabels = ['pipeline', 'stage', 'namespace', 'deployment', 'container', 'image'] as const;
  // Bounded by the fleet: in_pipeline is "true" or "false", image is one per distinct tag.
  const workloadLabels = [
    'cluster',
    'namespace',
    'kind',
    'workload',
    'container',
    'image',
    'in_pipeline',
  ] as const;
  return {
    registry,
    imageUpToDate: new Gauge({
      name: 'freshet_image_up_to_date',
      help: '1 when the target runs the newest digest of its image, else 0',
      labelNames: targetLabels,
      registers: [registry],
    }),
    imageBehindSince: new Gauge({
      name: 'freshet_image_behind_since_timestamp_seconds',
      help: 'When the newest digest this target does not run was first seen (staleness = time() - value)',
      labelNames: targetLabels,
      registers: [registry],
    }),
    runningCreated: new Gauge({
      name: 'freshet_image_running_created_timestamp_seconds',
      help: 'Build time of the image the target runs, when known',
      labelNames: targetLabels,
      registers: [registry],
    }),
    baseBehind: new Gauge({
      name: 'freshet_base_image_behind',
      help: "1 when the image's base tag now resolves to a newer digest than the one it was built on (lineage from annotations, provenance or layers; see base_from on freshet_image_info)",
      labelNames: ['image'],
      registers: [registry],
    }),
    baseBehindSince: new Gauge({
      name: 'freshet_base_image_behind_since_timestamp_seconds',
      help: 'When the base image was first seen to have moved on',
      labelNames: ['image'],
      registers: [registry],
    }),
    imageInfo: new Gauge({
      name: 'freshet_image_info',
      help: 'The newest digest of each watched image and its base, with how the base was found: annotation, provenance or layers (always 1)',
      labelNames: ['image', 'tag', 'digest', 'base_name', 'base_from'],
      registers: [registry],
    }),
    registryRequests: new Counter({
      name: 'freshet_registry_requests_total',
      help: 'Registry HTTP requests by registry, method and status code (or network/timeout)',
      labelNames: ['registry', 'method', 'code'],
      registers: [registry],
    }),
    registryDuration: new Histogram({
      name: 'freshet_registry_request_duration_seconds',
      help: 'Registry HTTP request latency',
      labelNames: ['registry', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    registryRateLimitRemaining: new Gauge({
      name: 'freshet_registry_ratelimit_remaining',
      help: "Requests left in the registry's rate-limit window, from its ratelimit-remaining header (Docker Hub counts manifest GETs)",
      labelNames: ['registry'],
      registers: [registry],
    }),
    registryRateLimitLimit: new Gauge({
      name: 'freshet_registry_ratelimit_limit',
      help: "Requests the registry's rate-limit window allows, from its ratelimit-limit header",
      labelNames: ['registry'],
      registers: [registry],
    }),
    watchErrors: new Counter({
      name: 'freshet_watch_errors_total',
      help: 'Image checks that failed, by registry',
      labelNames: ['registry'],
      registers: [registry],
    }),
    imageCheckFailing: new Gauge({
      name: 'freshet_image_check_failing',
      help: "1 while the image's last check (or rollout hand-off) failed, the reason in the watch's watchStatus query; else 0",
      labelNames: ['image'],
      registers: [registry],
    }),
    watchLastSuccess: new Gauge({
      name: 'freshet_watch_last_success_timestamp_seconds',
      help: 'Last time every due image of the registry was checked without error',
      labelNames: ['registry'],
      registers: [registry],
    }),
    rollouts: new Counter({
      name: 'freshet_rollouts_total',
      help: 'Finished rollouts by pipeline and outcome',
      labelNames: ['pipeline', 'outcome'],
      registers: [registry],
    }),
    rollbacks: new Counter({
      name: 'freshet_rollbacks_total',
      help: 'Stage rollbacks by pipeline, stage and reason (not_ready, check_failed, drift, reverted, aborted, error)',
      labelNames: ['pipeline', 'stage', 'reason'],
      registers: [registry],
    }),
    stageDuration: new Histogram({
      name: 'freshet_rollout_stage_duration_seconds',
      help: 'Time a rollout spent in a stage, approval wait included, by outcome',
      labelNames: ['pipeline', 'stage', 'outcome'],
      buckets: [5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 14_400, 86_400],
      registers: [registry],
    }),
    timeToProduction: new Histogram({
      name: 'freshet_time_to_production_seconds',
      help: 'From first seeing a digest to the end of its last stage, for successful rollouts',
      labelNames: ['pipeline'],
      buckets: [30, 60, 300, 600, 1_800, 3_600, 14_400, 43_200, 86_400, 259_200, 604_800],
      registers: [registry],
    }),
    rollbackStuck: new Gauge({
      name: 'freshet_rollback_stuck',
      help: 'A rollback of this pipeline and stage cannot patch a target back and keeps trying (1) or not (0)',
      labelNames: ['pipeline', 'stage'],
      registers: [registry],
    }),
    kubernetesWatchErrors: new Counter({
      name: 'freshet_kubernetes_watch_errors_total',
      help: 'Failures of the shared Kubernetes watches (one per cluster, namespace and kind) by cluster and resource; each is retried with backoff, and reads go to the apiserver directly meanwhile',
      labelNames: ['cluster', 'resource'],
      registers: [registry],
    }),
    kubernetesEvents: new Counter({
      name: 'freshet_kubernetes_events_total',
      help: 'Kubernetes Events Freshet wrote on the workloads it changed, by cluster, reason (FreshetUpdated, FreshetRolledBack) and outcome (recorded, failed); a failed one never fails the change',
      labelNames: ['cluster', 'reason', 'outcome'],
      registers: [registry],
    }),
    gitOpsManagedTargets: new Counter({
      name: 'freshet_gitops_managed_targets_total',
      help: 'Targets planned for an update that a GitOps controller manages (tool: argocd, flux), which may put the old image back',
      labelNames: ['pipeline', 'tool'],
      registers: [registry],
    }),
    workloadUpToDate: new Gauge({
      name: 'freshet_workload_up_to_date',
      help: "Inventory: 1 when every pod of the workload runs the newest digest of the container's image tag, else 0",
      labelNames: workloadLabels,
      registers: [registry],
    }),
    workloadBehindSince: new Gauge({
      name: 'freshet_workload_behind_since_timestamp_seconds',
      help: 'Inventory: when the first build this container does not run was seen (staleness = time() - value)',
      labelNames: workloadLabels,
      registers: [registry],
    }),
    workloadImageCreated: new Gauge({
      name: 'freshet_workload_image_created_timestamp_seconds',
      help: 'Inventory: build time of the image the container runs, when known',
      labelNames: workloadLabels,
      registers: [registry],
    }),
    imageLookupFailures: new Counter({
      name: 'freshet_image_lookup_failures_total',
      help: 'Image checks that failed, by image and reason (absent: 404 upstream, unauthorized, rate_limited, unreachable, server_error, error)',
      labelNames: ['image', 'reason'],
      registers: [registry],
    }),
    imageAbsent: new Gauge({
      name: 'freshet_image_absent',
      help: "1 while the image's tag answers 404 upstream (deleted or never pushed), else 0",
      labelNames: ['image'],
      registers: [registry],
    }),
    imageLastCheck: new Gauge({
      name: 'freshet_image_last_check_timestamp_seconds',
      help: 'When the image was last checked, successfully or not',
      labelNames: ['image'],
      registers: [registry],
    }),
    inventoryLastScan: new Gauge({
      name: 'freshet_inventory_last_scan_timestamp_seconds',
      help: "Inventory: when the cluster's workloads were last listed without error",
      labelNames: ['cluster'],
      registers: [registry],
    }),
    approvalsPending: new Gauge({
      name: 'freshet_approvals_pending',
      help: 'Rollouts waiting for an approval, by pipeline and stage (from Temporal visibility)',
      labelNames: ['pipeline', 'stage'],
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'freshet_notifications_total',
      help: 'Notification deliveries by sink and event type: result sent, failed (retried) or refused (4xx, given up)',
      labelNames: ['sink', 'event', 'result'],
      registers: [registry],
    }),
    freezeActive: new Gauge({
      name: 'freshet_freeze_active',
      help: 'A freeze (freshet freeze) holds this pipeline: its own or one of every pipeline (1) or not (0)',
      labelNames: ['pipeline'],
      registers: [registry],
    }),
    freezeSince: new Gauge({
      name: 'freshet_freeze_since_timestamp_seconds',
      help: 'When the freeze that holds this pipeline began; absent while none does',
      labelNames: ['pipeline'],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The gauges only a collection writes (publishFreshness, publishInventory, the pending
 * approvals): thousands of series for a large fleet, and unchanged between collections.
 */
export const collectedGauges = [
  'freshet_image_up_to_date',
  'freshet_image_behind_since_timestamp_seconds',
  'freshet_image_running_created_timestamp_seconds',
  'freshet_base_image_behind',
  'freshet_base_image_behind_since_timestamp_seconds',
  'freshet_image_info',
  'freshet_image_check_failing',
  'freshet_watch_last_success_timestamp_seconds',
  'freshet_workload_up_to_date',
  'freshet_workload_behind_since_timestamp_seconds',
  'freshet_workload_image_created_timestamp_seconds',
  'freshet_image_absent',
  'freshet_image_last_check_timestamp_seconds',
  'freshet_inventory_last_scan_timestamp_seconds',
  'freshet_approvals_pending',
] as const;

/**
 * A scrape renders the counters live and the collected gauges from the text their last
 * collection left: rendering 1,000 targets' series on every scrape cost more than the rest
 * of the answer. Before the first collection, everything is rendered live.
 */
export function scrapeCache(registry: Registry) {
  const texts = new Map<string, string>();
  return {
    /** Renders the collected gauges once; call after a collection has published them. */
    async refresh(): Promise<void> {
      const next = await Promise.all(
        collectedGauges.map(async (name) => [name, await registry.getSingleMetricAsString(name)] as const),
      );
      for (const [name, text] of next) texts.set(name, text);
    },
    /** The whole registry in the text format, as `registry.metrics()` writes it. */
    async render(): Promise<string> {
      const parts = await Promise.all(
        registry
          .getMetricsAsArray()
          .map((m) => texts.get(m.name) ?? registry.getSingleMetricAsString(m.name)),
      );
      return `${parts.join('\n\n')}\n`;
    },
  };
}
