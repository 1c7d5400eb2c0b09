// Rollout metrics. Workflows cannot touch prom-client, so the rollout reports its milestones
// through this activity to the worker that runs it; Prometheus sums across workers. An activity
// may run twice after a worker crash, so a count can rarely be one too high; it is never lost.

/** The rollout metrics this activity feeds, as prom-client's Counter, Histogram and Gauge have them. */
export interface RolloutMetrics {
  stageDuration: { observe(labels: Record<string, string>, value: number): void };
  rollbacks: { inc(labels: Record<string, string>): void };
  rollouts: { inc(labels: Record<string, string>): void };
  timeToProduction: { observe(labels: Record<string, string>, value: number): void };
  rollbackStuck: { set(labels: Record<string, string>, value: number): void };
}

export type RolloutEvent =
  | { kind: 'stage'; pipeline: string; stage: string; outcome: string; seconds: number }
  | { kind: 'rollback'; pipeline: string; stage: string; reason: string }
  | { kind: 'outcome'; pipeline: string; outcome: string; timeToProductionSeconds?: number }
  | { kind: 'rollback-stuck'; pipeline: string; stage: string; stuck: boolean };

export function createRolloutReportActivities(metrics: RolloutMetrics) {
  return {
    async reportRolloutEvent(event: RolloutEvent): Promise<void> {
      switch (event.kind) {
        case 'stage':
          metrics.stageDuration.observe(
            { pipeline: event.pipeline, stage: event.stage, outcome: event.outcome },
            event.seconds,
          );
          return;
        case 'rollback':
          metrics.rollbacks.inc({ pipeline: event.pipeline, stage: event.stage, reason: event.reason });
          return;
        case 'rollback-stuck':
          metrics.rollbackStuck.set({ pipeline: event.pipeline, stage: event.stage }, event.stuck ? 1 : 0);
          return;
        case 'outcome':
          metrics.rollouts.inc({ pipeline: event.pipeline, outcome: event.outcome });
          if (event.timeToProductionSeconds !== undefined)
            metrics.timeToProduction.observe({ pipeline: event.pipeline }, event.timeToProductionSeconds);
          return;
      }
    },
  };
}

export type RolloutReportActivities = ReturnType<typeof createRolloutReportActivities>;
