// A GitOps controller that puts the old image back during a rollout, as Argo CD's self-heal does:
// a second writer, under field manager argocd-controller, restores the baseline on the canary
// while Freshet waits for a build that never becomes ready. The rollout ends `reverted` within
// seconds (not after its 5 minute rollout timeout), names that manager, leaves the canary to it,
// rolls back its sibling and never reaches production. The plan warned of the Argo CD owner,
// and Events on both Deployments say what Freshet did.
import { EventsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rolloutStatusQuery } from '../../workflows/rollout-messages.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');

describe('a GitOps controller reverts the image during a rollout', () => {
  let fx: RolloutFixture;

  beforeAll(async () => {
    fx = await createRolloutFixture(stack, {
      deployments: 2,
      replicas: 1,
      waves: '[ { percent: 100 } ]',
      stagingHealth: '{ rolloutTimeout: 5m }',
    });
    // web-1 is an Argo CD Application's, tracked by annotation (Argo CD 3's default).
    await fx.kube.apps.patchNamespacedDeployment({
      namespace: fx.staging,
      name: 'web-1',
      body: [
        {
          op: 'add',
          path: '/metadata/annotations/argocd.argoproj.io~1tracking-id',
          value: `shop:apps/Deployment:${fx.staging}/web-1`,
        },
      ],
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('ends reverted naming argocd-controller, rolls the sibling back, and warned at plan time', async () => {
    const broken = await fx.push({ broken: true });
    const id = await fx.request(broken);
    await waitFor('both staging Deployments on the broken build', async () => {
      const images = await fx.images(fx.staging);
      return images['web-1'] === broken.reference && images['web-2'] === broken.reference;
    });
    const reverted = Date.now();
    await fx.kube.apps.patchNamespacedDeployment({
      namespace: fx.staging,
      name: 'web-1',
      fieldManager: 'argocd-controller',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: fx.baseline.reference }],
    });
    const result = await fx.result(id);
    const took = Date.now() - reverted;

    expect(result.outcome, result.reason).toBe('reverted');
    expect(took).toBeLessThan(20_000);
    expect(result.reason).toContain(
      `${fx.staging}/web-1 container web-1 was set to ${fx.baseline.reference} by field manager argocd-controller (Argo CD)`,
    );
    expect(result.reason).toMatch(/rolled back 1 workload$/);
    expect(result.targets.map((t) => [t.stage, t.deployment, t.state])).toEqual([
      ['staging', 'web-1', 'reverted'],
      ['staging', 'web-2', 'rolled_back'],
    ]);
    expect(result.stages.map((s) => s.name)).toEqual(['staging']);
    expect(Object.values(await fx.images(fx.staging))).toEqual([
      fx.baseline.reference,
      fx.baseline.reference,
    ]);
    expect(Object.values(await fx.images(fx.production))).toEqual([
      fx.baseline.reference,
      fx.baseline.reference,
    ]);

    // The plan's warning: in the status query and in the daemon's metrics.
    const status = await fx.client.workflow.getHandle(id).query(rolloutStatusQuery);
    expect(status.warnings).toHaveLength(1);
    expect(status.warnings?.[0]).toContain(
      `stage staging: ${fx.staging}/web-1 is managed by Argo CD (Application shop, annotation argocd.argoproj.io/tracking-id)`,
    );
    const metrics = await scrape(fx.daemon.url);
    expect(
      sampleValue(metrics, 'freshet_gitops_managed_targets_total', { pipeline: fx.pipeline, tool: 'argocd' }),
    ).toBe(1);
    expect(
      sampleValue(metrics, 'freshet_rollouts_total', { pipeline: fx.pipeline, outcome: 'reverted' }),
    ).toBe(1);

    // Events: both updated, only the sibling rolled back.
    const events = fx.kube.config.makeApiClient(EventsV1Api);
    const seen = await waitFor('the Freshet Events', async () => {
      const items = (await events.listNamespacedEvent({ namespace: fx.staging })).items
        .filter((e) => e.reportingController === 'freshet.dev/freshet')
        .map((e) => `${e.regarding?.name} ${e.reason}`)
        .sort();
      return items.length === 3 ? items : undefined;
    });
    expect(seen).toEqual(['web-1 FreshetUpdated', 'web-2 FreshetRolledBack', 'web-2 FreshetUpdated']);
    expect(
      sampleValue(metrics, 'freshet_kubernetes_events_total', {
        cluster: 'local',
        reason: 'FreshetUpdated',
        outcome: 'recorded',
      }),
    ).toBe(2);
  });
});
