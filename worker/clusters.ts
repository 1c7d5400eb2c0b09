// Kubernetes API clients per configured cluster.
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ClusterConfig, Config } from '../config/schema.ts';

export interface ClusterClients {
  name: string;
  config: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
}

export function kubeConfigFor(cluster: ClusterConfig): KubeConfig {
  const kc = new KubeConfig();
  if (cluster.inCluster) kc.loadFromCluster();
  else if (cluster.kubeconfig) kc.loadFromFile(cluster.kubeconfig);
  else kc.loadFromDefault();
  if (cluster.context) kc.setCurrentContext(cluster.context);
  return kc;
}

export function buildClusterClients(config: Config): Map<string, ClusterClients> {
  const out = new Map<string, ClusterClients>();
  for (const [name, cluster] of Object.entries(config.clusters)) {
    const kc = kubeConfigFor(cluster);
    out.set(name, { name, config: kc, apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) });
  }
  return out;
}
