// The worker's config is the authority (invariant 12): anyone who can start a workflow in the
// namespace may start rolloutWorkflow with any input, but a real daemon's Kubernetes activities
// refuse every cluster, Deployment and image repository its config does not contain, and nothing
// is patched.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pipelineSpec, registryHost } from '../../activities/rollout/pipeline-spec.ts';
import type { RolloutInput, RolloutResult, StageSpec } from '../../workflows/rollout-messages.ts';
import { uniqueSuffix } from '../support/daemon.ts';
import { deploymentManifest } from '../support/kube.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';

const stack = inject('stack');
let fx: RolloutFixture;

/** What an outsider with the Temporal client would send: a plausible rollout, edited. */
function forged(edit: (input: RolloutInput, stage: StageSpec) => void, digest: string): RolloutInput {
  const spec = pipelineSpec(fx.pipeline, fx.config.pipelines[fx.pipeline]!);
  const stage = spec.stages[1]!;
  const input: RolloutInput = {
    request: {
      pipeline: fx.pipeline,
      image: fx.image,
      registry: `reg-${fx.suffix}`,
      registryHost: registryHost(fx.config, `reg-${fx.suffix}`),
      repository: fx.repository,
      tag: '1.0',
      digest,
      trigger: 'manual',
      detectedAt: new Date().toISOString(),
    },
    spec: { ...spec, stages: [stage] },
  };
  edit(input, stage);
  return input;
}

async function runForged(input: RolloutInput): Promise<RolloutResult> {
  const handle = await fx.client.workflow.start('rolloutWorkflow', {
    workflowId: `forged-rollout-${uniqueSuffix()}`,
    taskQueue: fx.config.temporal.taskQueue,
    args: [input],
  });
  return (await handle.result()) as RolloutResult;
}

async function deploymentNow(name: string) {
  const d = await fx.kube.apps.readNamespacedDeployment({ namespace: fx.production, name });
  return {
    image: d.spec?.template.spec?.containers[0]?.image,
    generation: d.metadata?.generation,
    rolloutId: d.metadata?.annotations?.['freshet.dev/rollout-id'],
  };
}

describe("the worker's config is the authority over a rollout started by anyone", () => {
  beforeAll(async () => {
    fx = await createRolloutFixture(stack, { deployments: 1, replicas: 1 });
    const intruder = deploymentManifest({ name: 'intruder', image: fx.baseline.reference, replicas: 1 });
    await fx.kube.apps.createNamespacedDeployment({ namespace: fx.production, body: intruder });
  });
  afterAll(() => fx?.close());

  it('refuses a Deployment the config does not contain, and patches nothing', async () => {
    const rebuilt = await fx.push();
    const before = await deploymentNow('intruder');
    const result = await runForged(
      forged((_input, stage) => {
        stage.targets = [{ namespace: fx.production, deployment: 'intruder' }];
      }, rebuilt.digest),
    );
    expect(result.outcome).toBe('failed');
    expect(result.reason).toBe(
      `stage production: refused: Deployment ${fx.production}/intruder on cluster local is not a target of pipeline ` +
        `"${fx.pipeline}" on that cluster; configure it under pipelines.${fx.pipeline}.stages[].targets`,
    );
    expect(await deploymentNow('intruder')).toEqual(before);
  });

  it('refuses an image repository the config does not contain, and patches nothing', async () => {
    const before = await deploymentNow('web-1');
    const host = registryHost(fx.config, `reg-${fx.suffix}`);
    const result = await runForged(
      forged(
        (input) => {
          input.request.repository = `evil-${fx.suffix}/miner`;
        },
        `sha256:${'e'.repeat(64)}`,
      ),
    );
    expect(result.outcome).toBe('failed');
    expect(result.reason).toBe(
      `stage production: refused: image ${host}/evil-${fx.suffix}/miner is not an image of pipeline "${fx.pipeline}" ` +
        `(its images: ${host}/${fx.repository}); configure it under images with pipeline: ${fx.pipeline}`,
    );
    expect(await deploymentNow('web-1')).toEqual(before);
    expect(before.rolloutId).toBeUndefined();
  });

  it('refuses a cluster the config does not contain, and patches nothing', async () => {
    const rebuilt = await fx.push();
    const before = await deploymentNow('web-1');
    const result = await runForged(
      forged((_input, stage) => {
        stage.cluster = 'mars';
      }, rebuilt.digest),
    );
    expect(result.outcome).toBe('failed');
    expect(result.reason).toBe(
      `stage production: refused: cluster "mars" is not in this Freshet's config (clusters: local); configure it under clusters`,
    );
    expect(await deploymentNow('web-1')).toEqual(before);
  });
});
