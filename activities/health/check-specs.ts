// From a stage's `health.checks` config to the specs the health activity runs. Pure, with type
// imports only, so a workflow or the code that starts one can use it as well as the worker.
import type { CheckConfig } from '../../config/schema.ts';
import type { CheckSource, CheckSpec } from './types.ts';

/** Longest query text in a generated check name; names appear in status lines and reports. */
const queryNameLimit = 60;

/**
 * Every check gets a name a person can find in a report: its own, or one built from what it
 * checks. With `source`, the activity looks the check up by pipeline, stage and name. Only names
 * and URLs go into a spec; credentials stay in the config, where the activity reads them.
 */
export function checkSpecsFromConfig(checks: readonly CheckConfig[], source?: CheckSource): CheckSpec[] {
  const specs = uniqueNames(checks.map(toSpec));
  return source ? specs.map((spec) => ({ ...spec, source: { ...source } })) : specs;
}

/** The name a check has in status and reports. */
export function checkName(spec: CheckSpec): string {
  return spec.kind === 'http' ? spec.http.name : spec.prometheus.name;
}

/** Status and reports key checks by name, so two generated names that collide get a number. */
function uniqueNames(specs: CheckSpec[]): CheckSpec[] {
  const seen = new Map<string, number>();
  return specs.map((spec) => {
    const body = spec.kind === 'http' ? spec.http : spec.prometheus;
    const n = (seen.get(body.name) ?? 0) + 1;
    seen.set(body.name, n);
    if (n === 1) return spec;
    const name = `${body.name} #${n}`;
    return spec.kind === 'http'
      ? { kind: 'http', http: { ...spec.http, name } }
      : { kind: 'prometheus', prometheus: { ...spec.prometheus, name } };
  });
}

function toSpec(check: CheckConfig): CheckSpec {
  if (check.http) {
    const { url, expectStatus, bodyMatch, timeout } = check.http;
    return {
      kind: 'http',
      http: {
        name: check.name ?? `http ${hostAndPath(url)}`,
        url,
        expectStatus,
        ...(bodyMatch === undefined ? {} : { bodyMatch }),
        timeoutMs: timeout,
      },
    };
  }
  if (check.prometheus) {
    const { url, query, max, min } = check.prometheus;
    return {
      kind: 'prometheus',
      prometheus: {
        name: check.name ?? `prometheus ${shorten(query.replace(/\s+/g, ' ').trim(), queryNameLimit)}`,
        url,
        query,
        ...(max === undefined ? {} : { max }),
        ...(min === undefined ? {} : { min }),
      },
    };
  }
  // The config schema rejects this; reaching it means the config skipped validation.
  throw new TypeError(`check ${check.name ?? '(unnamed)'} is neither http nor prometheus`);
}

/** Host and path only: a URL's credentials and query may hold secrets, and names are shown everywhere. */
function hostAndPath(url: string): string {
  try {
    const { host, pathname } = new URL(url);
    return `${host}${pathname === '/' ? '' : pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function shorten(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}
