// The activities a rollout calls, with the timeouts and retries each kind of call needs.
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { FreezeActivities } from '../../activities/freeze/index.ts';
import type { HealthActivities } from '../../activities/health/index.ts';
import type { KubernetesActivities } from '../../activities/kubernetes/index.ts';
import type { RolloutReportActivities } from '../../activities/rollout/report.ts';
import type { WindowActivities } from '../../activities/windows/index.ts';

// The plan (reads only) heartbeats too: a plan on a worker that died is taken over after 5 s.
export const kube = proxyActivities<KubernetesActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '20 seconds', maximumAttempts: 10 },
});
// One read and one patch each. The activity heartbeats while it works, so the write of a worker
// that died is retried elsewhere after `writeHeartbeatTimeout`, not after the start-to-close
// (the bound of a slow but live write). A retry reads first and patches only what is still old.
const writeHeartbeatTimeout = '3 seconds';
export const kubeWrite = proxyActivities<KubernetesActivities>({
  startToCloseTimeout: '15 seconds',
  heartbeatTimeout: writeHeartbeatTimeout,
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 20 },
});
// A rollback patch retried until it succeeds (every failure counted as retryable by the activity
// when `persistent`): server-side retries add nothing to the history, however long they take.
export const persistentRollback = proxyActivities<KubernetesActivities>({
  startToCloseTimeout: '15 seconds',
  heartbeatTimeout: writeHeartbeatTimeout,
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

/**
 * The wait for a Deployment to be ready, bounded by the stage's rollout timeout. It heartbeats
 * twice a second whatever the Deployment does, so a wait on a dead worker is taken over soon.
 */
export function awaitDeploymentReadyFor(rolloutTimeoutMs: number) {
  return proxyActivities<KubernetesActivities>({
    startToCloseTimeout: rolloutTimeoutMs + 60_000,
    heartbeatTimeout: '5 seconds',
    retry: {
      initialInterval: '1 second',
      maximumInterval: '10 seconds',
      maximumAttempts: 5,
      nonRetryableErrorTypes: ['DeploymentNotReady'],
    },
  }).awaitDeploymentReady;
}
