// The activities a rollout calls, with the timeouts and retries each kind of call needs.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { FreezeActivities } from '../../activities/freeze/index.ts';
import type { HealthActivities } from '../../activities/health/index.ts';
import type { KubernetesActivities } from '../../activities/kubernetes/index.ts';
import type { RolloutReportActivities } from '../../activities/rollout/report.ts';
import type { WindowActivities } from '../../activities/windows/index.ts';

export const kube = proxyActivities<KubernetesActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '20 seconds', maximumAttempts: 10 },
});
// One read and one patch each: a short timeout, so the work of a worker that died moves on soon.
export const kubeWrite = proxyActivities<KubernetesActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 20 },
});
// A rollback patch retried until it succeeds (every failure counted as retryable by the activity
// when `persistent`): server-side retries add nothing to the history, however long they take.
export const persistentRollback = proxyActivities<KubernetesActivities>({
  startToCloseTimeout: '15 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    // No maximumAttempts: retried until it succeeds.
  },
});
export const health = proxyActivities<HealthActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
});
export const report = proxyActivities<RolloutReportActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/** The freeze in force when a rollout starts; a failure after the retries counts as no freeze. */
export const freezes = proxyActivities<FreezeActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '5 seconds', maximumAttempts: 5 },
});
/** Pure computation on the worker, recorded in the history (time-zone data stays out of replay). */
export const windows = proxyLocalActivities<WindowActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['InvalidWindow'] },
});

/** The wait for a Deployment to be ready, bounded by the stage's rollout timeout. */
export function awaitDeploymentReadyFor(rolloutTimeoutMs: number) {
  return proxyActivities<KubernetesActivities>({
    startToCloseTimeout: rolloutTimeoutMs + 60_000,
    heartbeatTimeout: '15 seconds',
    retry: {
      initialInterval: '1 second',
      maximumInterval: '10 seconds',
      maximumAttempts: 5,
      nonRetryableErrorTypes: ['DeploymentNotReady'],
    },
  }).awaitDeploymentReady;
}
