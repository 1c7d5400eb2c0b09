// The daemon's config decides which checks run: a spec names a check (pipeline, stage, name) and
// a URL, and the activity runs it only when the loaded config has that check with that URL (and
// that query, for Prometheus). Whoever can start a workflow cannot point Freshet, and the
// credentials it holds, at another URL.
import { ApplicationFailure } from '@temporalio/common';
import type { CheckConfig } from '../../config/schema.ts';
import { checkName, checkSpecsFromConfig } from './check-specs.ts';
import type { CheckAuthConfig } from './credentials.ts';
import type { CheckSpec } from './types.ts';

/** The part of the config the health activities read: each stage's checks. */
export interface HealthConfig {
  pipelines: Record<
    string,
    { stages: readonly { name: string; health: { checks: readonly CheckConfig[] } }[] }
  >;
}

export interface AuthorizedCheck {
  /** Where the config defines it, for messages: `pipeline web, stage staging`. */
  where: string;
  auth: CheckAuthConfig;
}

interface Entry extends AuthorizedCheck {
  pipeline: string;
  stage: string;
  spec: CheckSpec;
}

export interface CheckAuthority {
  /** The configured check behind `spec`; throws a non-retryable `CheckNotInConfig` otherwise. */
  authorize(spec: CheckSpec): AuthorizedCheck;
}

export function createCheckAuthority(config: HealthConfig): CheckAuthority {
  const entries: Entry[] = [];
  for (const [pipeline, p] of Object.entries(config.pipelines)) {
    for (const stage of p.stages) {
      const specs = checkSpecsFromConfig(stage.health.checks, { pipeline, stage: stage.name });
      stage.health.checks.forEach((check, i) => {
        const spec = specs[i];
        const body = check.http ?? check.prometheus;
        if (!spec || !body) return;
        entries.push({
          pipeline,
          stage: stage.name,
          spec,
          where: `pipeline ${pipeline}, stage ${stage.name}`,
          auth: { headers: body.headers, basicAuth: body.basicAuth, bearer: body.bearer },
        });
      });
    }
  }
  return {
    authorize(spec) {
      const named = spec.source
        ? entries.find(
            (e) =>
              e.pipeline === spec.source?.pipeline &&
              e.stage === spec.source.stage &&
              checkName(e.spec) === checkName(spec),
          )
        : undefined;
      if (named && sameRequest(named.spec, spec)) return named;
      // A check renamed since the rollout was requested, or a spec from before specs named their
      // source, still runs when the config has its URL; the stage's own checks come first.
      const sameStage = (e: Entry) => e.pipeline === spec.source?.pipeline && e.stage === spec.source.stage;
      const byUrl =
        entries.find((e) => sameStage(e) && sameRequest(e.spec, spec)) ??
        entries.find((e) => sameRequest(e.spec, spec));
      if (byUrl) return byUrl;
      throw ApplicationFailure.nonRetryable(refusal(spec, named), 'CheckNotInConfig');
    },
  };
}

/** Whether two specs fetch the same thing: the same URL, and for Prometheus the same query. */
function sameRequest(a: CheckSpec, b: CheckSpec): boolean {
  if (a.kind === 'http' && b.kind === 'http') return sameUrl(a.http.url, b.http.url);
  if (a.kind === 'prometheus' && b.kind === 'prometheus')
    return sameUrl(a.prometheus.url, b.prometheus.url) && a.prometheus.query === b.prometheus.query;
  return false;
}

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}

function refusal(spec: CheckSpec, named: Entry | undefined): string {
  const what = spec.kind === 'http' ? `GET ${shown(spec.http.url)}` : `query ${shown(spec.prometheus.url)}`;
  const where = spec.source ? ` (pipeline ${spec.source.pipeline}, stage ${spec.source.stage})` : '';
  const head = `check "${checkName(spec)}"${where}: ${what} is not a check in this Freshet's config`;
  if (named)
    return `${head}; the configured check of that name ${named.spec.kind === spec.kind ? 'asks for something else' : `is a ${named.spec.kind} check`} (the config changed since the rollout was requested?). Only checks under pipelines.<name>.stages[].health.checks run`;
  return `${head}. Only checks under pipelines.<name>.stages[].health.checks run`;
}

/** Origin and path only: a URL from a workflow input may carry anything, credentials included. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
