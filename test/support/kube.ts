// Kubernetes clients and fixtures for end-to-end tests against the stack's apiserver.
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { waitFor } from './wait.ts';

export interface Kube {
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
}

export function kubeClients(kubeconfig: string): Kube {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    batch: config.makeApiClient(BatchV1Api),
  };
}

/** Creates a namespace and waits for its default ServiceAccount, without which pods are refused. */
export async function createNamespace(kube: Kube, name: string): Promise<void> {
  await kube.core.createNamespace({ body: { metadata: { name, labels: { 'freshet.dev/test': 'true' } } } });
  await waitFor(`ServiceAccount default in ${name}`, async () => {
    await kube.core.readNamespacedServiceAccount({ name: 'default', namespace: name });
    return true;
  });
}

export async function deleteNamespace(kube: Kube, name: string): Promise<void> {
  await kube.core.deleteNamespace({ name }).catch(() => undefined);
}

export function deploymentManifest(opts: {
  name: string;
  image: string;
  replicas?: number;
  progressDeadlineSeconds?: number;
}): V1Deployment {
  const labels = { app: opts.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: opts.name, labels },
    spec: {
      replicas: opts.replicas ?? 3,
      progressDeadlineSeconds: opts.progressDeadlineSeconds ?? 600,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels },
        spec: {
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: opts.name,
              image: opts.image,
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

/** The deployment controller's own verdict: the newest ReplicaSet is fully rolled out and available. */
export function rolloutComplete(d: V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  if (!s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return false;
  return (
    (s.updatedReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want &&
    (s.readyReplicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want
  );
}

export function condition(d: V1Deployment, type: string) {
  return d.status?.conditions?.find((c) => c.type === type);
}
