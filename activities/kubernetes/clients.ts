// The Kubernetes API calls the activities make, as a narrow interface: the daemon passes its
// clients per cluster, tests pass their own, and nothing here depends on how the daemon builds them.
import type { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { SharedWatches } from './shared-watches.ts';

export interface KubernetesClients {
  /** The cluster's name in the config, for messages. */
  name: string;
  /** Connection settings, for watches. */
  config: KubeConfig;
  apps: Pick<
    AppsV1Api,
    | 'readNamespacedDeployment'
    | 'listNamespacedDeployment'
    | 'patchNamespacedDeployment'
    | 'listNamespacedReplicaSet'
    | 'readNamespacedStatefulSet'
    | 'listNamespacedStatefulSet'
    | 'patchNamespacedStatefulSet'
    | 'readNamespacedDaemonSet'
    | 'listNamespacedDaemonSet'
    | 'patchNamespacedDaemonSet'
  >;
  batch: Pick<
    BatchV1Api,
    'readNamespacedCronJob' | 'listNamespacedCronJob' | 'patchNamespacedCronJob' | 'listNamespacedJob'
  >;
  core: Pick<CoreV1Api, 'listNamespacedPod' | 'deleteNamespacedPod'>;
  /** One watch per namespace and kind for every wait in flight; without it each wait watches alone. */
  watches?: SharedWatches;
}
