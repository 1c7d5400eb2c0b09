// The health activities the rollout workflow calls after each wave and while it soaks. A check
// runs only when the daemon's config has it, with the credentials that config names.
import { ApplicationFailure } from '@temporalio/common';
import { SecretError } from '../../config/secrets.ts';
import { createCheckAuthority, type HealthConfig } from './authority.ts';
import { checkName } from './check-specs.ts';
import { type CheckCredentials, resolveCheckCredentials } from './credentials.ts';
import { runHttpCheck } from './http-check.ts';
import { runPrometheusCheck } from './prometheus-check.ts';
import { type CheckRunner, runSoak, type SoakInput, type SoakResult } from './soak.ts';
import type { CheckOutcome, CheckSpec } from './types.ts';

export type { CheckAuthority, HealthConfig } from './authority.ts';
export { createCheckAuthority } from './authority.ts';
export { checkName, checkSpecsFromConfig } from './check-specs.ts';
export { runHttpCheck } from './http-check.ts';
export { PrometheusUnavailableError, runPrometheusCheck } from './prometheus-check.ts';
export type {
  CheckOutcome,
  CheckSource,
  CheckSpec,
  HttpCheckSpec,
  PrometheusCheckSpec,
} from './types.ts';

export interface HealthActivityOptions {
  /** The daemon's loaded config: the only checks that run are the ones it has. */
  config: HealthConfig;
  /** Replaces the global fetch, e.g. to route checks through a proxy-aware dispatcher. */
  fetch?: typeof fetch;
  /** Where `…Env` references are read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export type { CheckRunner } from './soak.ts';

/**
 * The check runner behind runHealthCheck, for activities that run checks themselves (a soak
 * runs many inside one activity). Throws a non-retryable ApplicationFailure for a check the
 * config does not have (`CheckNotInConfig`) or whose credentials do not resolve
 * (`CheckCredentialsUnavailable`); PrometheusUnavailableError when Prometheus cannot answer.
 */
export function createCheckRunner(opts: HealthActivityOptions): CheckRunner {
  const authority = createCheckAuthority(opts.config);
  const fetchImpl = opts.fetch ?? fetch;
  const env = opts.env ?? process.env;
  return async (spec) => {
    const check = authority.authorize(spec);
    let credentials: CheckCredentials;
    try {
      credentials = resolveCheckCredentials(check.auth, `check "${checkName(spec)}" (${check.where})`, env);
    } catch (err) {
      if (!(err instanceof SecretError)) throw err;
      throw ApplicationFailure.nonRetryable(err.message, 'CheckCredentialsUnavailable');
    }
    const request = { fetch: fetchImpl, credentials };
    switch (spec.kind) {
      case 'http':
        return runHttpCheck(spec.http, request);
      case 'prometheus':
        return runPrometheusCheck(spec.prometheus, request);
    }
  };
}

export function createHealthActivities(opts: HealthActivityOptions) {
  const runCheck = createCheckRunner(opts);
  return {
    /**
     * An observation: failures are outcomes with ok:false. Throws only when Prometheus cannot
     * answer (retried), or when the config does not have the check or its credentials (not).
     */
    runHealthCheck: (spec: CheckSpec): Promise<CheckOutcome> => runCheck(spec),
    /** The stage's soak: every check each interval until the deadline, or until one fails. */
    runSoak: (input: SoakInput): Promise<SoakResult> => runSoak(runCheck, input),
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;
