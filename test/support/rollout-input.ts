// Rollout inputs for workflow unit tests: one image (`acme/web` on registry.test), digests made
// from a letter, stages with the defaults a config would give. Pure data, no server.
import type { CheckSpec } from '../../activities/health/types.ts';
import type { PipelineSpec, RolloutInput, StageSpec } from '../../workflows/rollout-messages.ts';
import { ClusterModel } from './cluster-model.ts';

export const registryHost = 'registry.test';
export const repository = 'acme/web';
export const tag = '1.4';

/** `sha256:` and 64 times `letter` (a hex digit). */
export const digest = (letter: string) => `sha256:${letter.repeat(64)}`;
/** The reference Freshet sets on a container for `digest(letter)`. */
export const imageOf = (letter: string) => `${registryHost}/${repository}:${tag}@${digest(letter)}`;

/** Runs `digest('0')` before any rollout. */
export const baseline = imageOf('0');

export function stage(
  name: string,
  namespace: string,
  deployments: string[],
  extra: Partial<StageSpec> = {},
): StageSpec {
  return {
    name,
    cluster: 'local',
    targets: deployments.map((deployment) => ({ namespace, deployment, container: 'app' })),
    waves: [{ count: 1 }, { percent: 100, maxParallel: 1 }],
    rolloutTimeoutMs: 60_000,
    soakMs: 0,
    checkIntervalMs: 30_000,
    checks: [],
    ...extra,
  };
}

export function httpCheck(name: string): CheckSpec {
  return {
    kind: 'http',
    http: { name, url: `http://${name}.test/healthz`, expectStatus: 200, timeoutMs: 1_000 },
  };
}

export function rolloutInput(
  letter: string,
  stages: StageSpec[],
  opts: { pipeline?: string; onNewerDigest?: PipelineSpec['onNewerDigest'] } = {},
): RolloutInput {
  const pipeline = opts.pipeline ?? 'web';
  return {
    request: {
      pipeline,
      image: 'web',
      registry: 'test',
      registryHost,
      repository,
      tag,
      digest: digest(letter),
      trigger: 'manual',
      detectedAt: '2026-01-01T00:00:00.000Z',
    },
    spec: { name: pipeline, onNewerDigest: opts.onNewerDigest ?? 'supersede', stages },
  };
}

/** A cluster with one container `app` per Deployment, all on the baseline image. */
export function clusterWith(deployments: Record<string, string[]>): ClusterModel {
  const cluster = new ClusterModel('local');
  for (const [namespace, names] of Object.entries(deployments)) {
    for (const name of names) cluster.add({ namespace, name, containers: { app: baseline } });
  }
  return cluster;
}
