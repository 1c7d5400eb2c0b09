// StatefulSet, DaemonSet and CronJob manifests for e2e tests, with the same restricted pod
// template as deploymentManifest, and a check of each controller's own "rolled out" verdict.
import type { V1CronJob, V1DaemonSet, V1PodSpec, V1StatefulSet } from '@kubernetes/client-node';
import type { Kube } from './kube.ts';

const labelsFor = (name: string) => ({ app: name, 'app.kubernetes.io/part-of': 'shop' });

function podSpec(name: string, image: string, extra: Partial<V1PodSpec> = {}): V1PodSpec {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name,
        image,
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
    ...extra,
  };
}

export function statefulSetManifest(opts: { name: string; image: string; replicas?: number }): V1StatefulSet {
  const labels = labelsFor(opts.name);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: opts.name, labels },
    spec: {
      replicas: opts.replicas ?? 2,
      serviceName: opts.name,
      selector: { matchLabels: { app: opts.name } },
      template: { metadata: { labels }, spec: podSpec(opts.name, opts.image) },
    },
  };
}

export function daemonSetManifest(opts: { name: string; image: string }): V1DaemonSet {
  const labels = labelsFor(opts.name);
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: opts.name, labels },
    spec: {
      selector: { matchLabels: { app: opts.name } },
      // An agent runs on every node, whatever taints it carries.
      template: {
        metadata: { labels },
        spec: podSpec(opts.name, opts.image, { tolerations: [{ operator: 'Exists' }] }),
      },
    },
  };
}

export function cronJobManifest(opts: { name: string; image: string; schedule?: string }): V1CronJob {
  const labels = { app: opts.name };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: opts.name, labels },
    spec: {
      schedule: opts.schedule ?? '* * * * *',
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels },
            spec: podSpec(opts.name, opts.image, { restartPolicy: 'Never' }),
          },
        },
      },
    },
  };
}

/** Every replica on the update revision and ready, as the StatefulSet controller says. */
export async function statefulSetRolledOut(kube: Kube, namespace: string, name: string): Promise<boolean> {
  const s = await kube.apps.readNamespacedStatefulSet({ namespace, name });
  const st = s.status;
  const want = s.spec?.replicas ?? 1;
  return (
    (st?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0) &&
    st?.currentRevision === st?.updateRevision &&
    st?.updatedReplicas === want &&
    st?.readyReplicas === want
  );
}

/** Every scheduled node runs the updated pod and it is available, as the DaemonSet controller says. */
export async function daemonSetRolledOut(kube: Kube, namespace: string, name: string): Promise<boolean> {
  const d = await kube.apps.readNamespacedDaemonSet({ namespace, name });
  const st = d.status;
  return (
    (st?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (st?.desiredNumberScheduled ?? 0) > 0 &&
    st?.updatedNumberScheduled === st?.desiredNumberScheduled &&
    st?.numberAvailable === st?.desiredNumberScheduled
  );
}
