// The Kubernetes activities of the rollout workflow, bound to the configured clusters. Each takes
// the cluster by name from its input, so the workflow's history says where every change went,
// and checks that input against the daemon's own config first (invariant 12), whoever started
// the workflow.
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../../config/schema.ts';
import { kubernetesAuthority } from './authority.ts';
import { awaitDeploymentReady } from './await.ts';
import type { KubernetesClients } from './clients.ts';
import { notInConfig } from './errors.ts';
import { type EventObserver, eventRecorder } from './events.ts';
import { heartbeating } from './heartbeat.ts';
import { parseAwaitInput, parsePlanStageInput, parseRollbackInput, parseUpdateInput } from './inputs.ts';
import { planStage } from './plan.ts';
import { rollbackDeployment } from './rollback.ts';
import type {
  AwaitInput,
  AwaitResult,
  PlanStageInput,
  PlanStageResult,
  PlanWarning,
  RollbackInput,
  RollbackResult,
  UpdateInput,
  UpdateResult,
} from './types.ts';
import { updateDeploymentImage } from './update.ts';

export interface KubernetesActivityDeps {
  clusters: ReadonlyMap<string, KubernetesClients>;
  /** The daemon's loaded config: what it does not contain is refused. */
  config: Config;
  /** Told of each Kubernetes Event recorded or not (metrics, log); an Event never fails a write. */
  events?: EventObserver;
  /** Told of each plan-time warning, such as a target that a GitOps controller manages. */
  onPlanWarning?: (w: { pipeline: string; cluster: string; warning: PlanWarning }) => void;
}

export function createKubernetesActivities(deps: KubernetesActivityDeps) {
  const authority = kubernetesAuthority(deps.config);
  const recordEvent = eventRecorder(authority.instance, deps.events);
  const cluster = (name: string): KubernetesClients => {
    const clients = deps.clusters.get(name);
    const refused = authority.clusterRefusal(name);
    if (refused || !clients) throw notInConfig(refused ?? `cluster "${name}" has no API client`);
    return clients;
  };
  return {
    planStage: async (raw: PlanStageInput): Promise<PlanStageResult> => {
      const input = parsePlanStageInput(raw);
      const refused = authority.planRefusal(input);
      if (refused) throw notInConfig(refused);
      const plan = await heartbeating(() => planStage(cluster(input.cluster), input, authority.instance));
      for (const warning of plan.warnings ?? [])
        deps.onPlanWarning?.({ pipeline: input.pipeline, cluster: input.cluster, warning });
      return plan;
    },
    updateDeploymentImage: async (raw: UpdateInput): Promise<UpdateResult> => {
      const input = parseUpdateInput(raw);
      // Heartbeats let the workflow retry a dead worker's write within seconds; the retry compares first.
      return heartbeating(() =>
        updateDeploymentImage(cluster(input.ref.cluster), input, authority, recordEvent),
      );
    },
    // Read-only: any configured cluster.
    awaitDeploymentReady: async (raw: AwaitInput): Promise<AwaitResult> => {
      const input = parseAwaitInput(raw);
      return awaitDeploymentReady(cluster(input.ref.cluster), input);
    },
    // Any configured cluster: undoing what this rollout set needs no consent of the current config.
    rollbackDeployment: async (raw: RollbackInput): Promise<RollbackResult> => {
      // A malformed input stays malformed: never worth waiting out.
      const input = parseRollbackInput(raw);
      try {
        return await heartbeating(() => rollbackDeployment(cluster(input.ref.cluster), input, recordEvent));
      } catch (err) {
        if (!input.persistent || !(err instanceof ApplicationFailure) || !err.nonRetryable) throw err;
        // A broken image still runs: what a person can fix (RBAC, credentials, config) is waited out.
        const { type, details } = err;
        throw ApplicationFailure.create({
          message: err.message,
          ...(type ? { type } : {}),
          ...(details ? { details } : {}),
          cause: err,
        });
      }
    },
  };
}

export type KubernetesActivities = ReturnType<typeof createKubernetesActivities>;
