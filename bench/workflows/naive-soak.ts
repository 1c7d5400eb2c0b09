// The baseline of bench/soak.ts: the soak as the rollout ran it before, one timer and one round of
// check activities per interval, each round a few history events.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { HealthActivities } from '../../activities/health/index.ts';
import type { CheckSpec } from '../../activities/health/types.ts';

// The same options as the rollout's check activities.
const { runHealthCheck } = proxyActivities<HealthActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 3 },
});

export async function naiveSoakWorkflow(
  checks: CheckSpec[],
  soakMs: number,
  intervalMs: number,
): Promise<number> {
  const end = Date.now() + soakMs;
  let rounds = 0;
  while (Date.now() < end) {
    await sleep(Math.min(intervalMs, end - Date.now()));
    await Promise.all(checks.map((c) => runHealthCheck(c)));
    rounds++;
  }
  return rounds;
}
