// The health activities the rollout workflow calls after each wave and while it soaks.
import { runHttpCheck } from './http-check.ts';
import { runPrometheusCheck } from './prometheus-check.ts';
import { runSoak, type SoakInput, type SoakResult } from './soak.ts';
import type { CheckOutcome, CheckSpec } from './types.ts';

export { checkSpecsFromConfig } from './check-specs.ts';
export { runHttpCheck } from './http-check.ts';
export { PrometheusUnavailableError, runPrometheusCheck } from './prometheus-check.ts';
export type { CheckOutcome, CheckSpec, HttpCheckSpec, PrometheusCheckSpec } from './types.ts';

export interface HealthActivityOptions {
  /** Replaces the global fetch, e.g. to route checks through a proxy-aware dispatcher. */
  fetch?: typeof fetch;
}

export function createHealthActivities(opts: HealthActivityOptions = {}) {
  const fetchImpl = opts.fetch ?? fetch;
  /** An observation: failures are outcomes with ok:false; only an unreachable Prometheus throws. */
  const runHealthCheck = async (spec: CheckSpec): Promise<CheckOutcome> => {
    switch (spec.kind) {
      case 'http':
        return runHttpCheck(spec.http, fetchImpl);
      case 'prometheus':
        return runPrometheusCheck(spec.prometheus, fetchImpl);
    }
  };
  return {
    runHealthCheck,
    /** The stage's soak: every check each interval until the deadline, or until one fails. */
    runSoak: (input: SoakInput): Promise<SoakResult> => runSoak(runHealthCheck, input),
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;
