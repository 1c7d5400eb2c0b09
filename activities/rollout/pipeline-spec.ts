// Turns the configured pipeline into the plain, secret-free snapshot a rollout runs with: checks
// travel as names and URLs, and the health activity reads their credentials from its own config.

import { ed25519PublicKey, readEd25519PublicKeyFile } from '../../config/approver-keys.ts';
import type { Config, PipelineConfig } from '../../config/schema.ts';
import type { PipelineSpec, StageSpec } from '../../workflows/rollout-messages.ts';
import { checkSpecsFromConfig } from '../health/index.ts';
import { canonicalHost } from '../watch/image-reference.ts';

const defaultCheckIntervalMs = 15_000;

export function pipelineSpec(name: string, pipeline: PipelineConfig): PipelineSpec {
  return {
    name,
    onNewerDigest: pipeline.onNewerDigest,
    stages: pipeline.stages.map((s) => {
      const intervals = s.health.checks.flatMap((c) => (c.prometheus ? [c.prometheus.interval] : []));
      return {
        name: s.name,
        cluster: s.cluster,
        targets: s.targets.map((t) => ({ ...t })),
        waves: s.waves.map((w) => ({ ...w })),
        rolloutTimeoutMs: s.health.rolloutTimeout,
        soakMs: s.health.soak,
        checkIntervalMs: intervals.length > 0 ? Math.min(...intervals) : defaultCheckIntervalMs,
        checks: checkSpecsFromConfig(s.health.checks, { pipeline: name, stage: s.name }),
        ...(s.approval?.required ? { approval: approvalSpec(s.approval) } : {}),
        ...(s.windows ? { windows: s.windows.map((w) => ({ ...w, days: [...w.days] })) } : {}),
      };
    }),
  };
}

type ApprovalConfig = NonNullable<PipelineConfig['stages'][number]['approval']>;

/** Names, keys and rules of a gate; keys travel as raw base64 so the input stays small. */
function approvalSpec(approval: ApprovalConfig): NonNullable<StageSpec['approval']> {
  const approvers = approval.approvers ?? [];
  const keys = approvers.flatMap((a) => {
    if (typeof a === 'string') return [];
    const publicKey = a.publicKey
      ? ed25519PublicKey(a.publicKey)
      : readEd25519PublicKeyFile(a.publicKeyFile ?? '');
    return [{ name: a.name, publicKey }];
  });
  return {
    timeoutMs: approval.timeout,
    ...(approvers.length ? { approvers: approvers.map((a) => (typeof a === 'string' ? a : a.name)) } : {}),
    ...(keys.length ? { keys } : {}),
    ...(approval.requireSignature ? { requireSignature: true } : {}),
  };
}

/** The registry host as image references in Deployments spell it. */
export function registryHost(config: Config, registry: string): string {
  const r = config.registries.find((x) => x.name === registry);
  if (!r) throw new Error(`no registry named "${registry}"`);
  return canonicalHost(new URL(r.url).host);
}
