// What the Kubernetes activities tell the daemon: Events recorded or not, and plan-time
// warnings such as a target that Argo CD or Flux manages, as metrics and log lines.
import type { KubernetesActivityDeps } from '../activities/kubernetes/index.ts';
import type { Metrics } from './metrics.ts';
import type { LogSink } from './webhooks/types.ts';

export function kubernetesObservers(
  metrics: Metrics,
  log: LogSink,
): Pick<KubernetesActivityDeps, 'events' | 'onPlanWarning'> {
  return {
    events: {
      recorded: ({ cluster, reason }) =>
        metrics.kubernetesEvents.inc({ cluster, reason, outcome: 'recorded' }),
      failed: ({ cluster, reason, target, error }) => {
        metrics.kubernetesEvents.inc({ cluster, reason, outcome: 'failed' });
        log.warn(
          { cluster, target, reason, error },
          'Kubernetes Event not recorded (needs create on events.k8s.io events); the change itself went through',
        );
      },
    },
    onPlanWarning: ({ pipeline, cluster, warning }) => {
      for (const tool of warning.tools) metrics.gitOpsManagedTargets.inc({ pipeline, tool });
      log.warn({ pipeline, cluster, target: warning.target, tools: warning.tools }, warning.message);
    },
  };
}
