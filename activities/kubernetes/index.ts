// The Kubernetes activities of the rollout workflow, bound to the configured clusters. Each takes
// the cluster by name from its input, so the workflow's history says where every change went.
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterClients } from '../../worker/clusters.ts';
import { awaitDeploymentReady } from './await.ts';
import { planStage } from './plan.ts';
import { rollbackDeployment } from './rollback.ts';
import type {
  AwaitInput,
  AwaitResult,
  PlanStageInput,
  PlanStageResult,
  RollbackInput,
  RollbackResult,
  UpdateInput,
  UpdateResult,
} from './types.ts';
import { updateDeploymentImage } from './update.ts';

export interface KubernetesActivityDeps {
  clusters: ReadonlyMap<string, ClusterClients>;
}

export function createKubernetesActivities(deps: KubernetesActivityDeps) {
  const cluster = (name: string): ClusterClients => {
    const clients = deps.clusters.get(name);
    if (clients) return clients;
    const known = [...deps.clusters.keys()].join(', ') || 'none';
    throw ApplicationFailure.nonRetryable(
      `unknown cluster "${name}" (configured: ${known})`,
      'UnknownCluster',
    );
  };
  return {
    planStage: async (input: PlanStageInput): Promise<PlanStageResult> =>
      planStage(cluster(input.cluster), input),
    updateDeploymentImage: async (input: UpdateInput): Promise<UpdateResult> =>
      updateDeploymentImage(cluster(input.ref.cluster), input),
    awaitDeploymentReady: async (input: AwaitInput): Promise<AwaitResult> =>
      awaitDeploymentReady(cluster(input.ref.cluster), input),
    rollbackDeployment: async (input: RollbackInput): Promise<RollbackResult> => {
      try {
        return await rollbackDeployment(cluster(input.ref.cluster), input);
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
