// Long and wide rollouts stay within Temporal's limits: a soak with checks every 100 ms costs a
// handful of history events, a wave that does not say maxParallel never has more than 10 patches
// in flight, and a retried readiness wait keeps its original deadline.
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { awaitDeploymentReady } from '../../activities/kubernetes/await.ts';
import { uniqueSuffix } from '../support/daemon.ts';
import { historyEvents, maxConcurrentActivities } from '../support/history.ts';
import { createNamespace, deleteNamespace, deploymentManifest, kubeClients } from '../support/kube.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';

const stack = inject('stack');
let fx: RolloutFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('long rollouts stay within Temporal limits', () => {
  it('a 20 s soak with checks every 100 ms adds a few events, not one per check', async () => {
    fx = await createRolloutFixture(stack, {
      stagingHealth: `{ rolloutTimeout: 60s, soak: 20s, checks: [ { name: errors, prometheus: { url: "${stack.prometheus.url}", query: "vector(0)", max: 0.01, interval: 100ms } } ] }`,
    });
    const id = await fx.request(await fx.push());
    const result = await fx.result(id);
    expect(result.outcome, result.reason).toBe('succeeded');
    const events = await historyEvents(fx.client, id);
    const soaks = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runSoak',
    );
    expect(soaks).toHaveLength(1);
    // 200 rounds of checks: the check-by-check soak wrote well over a thousand events. The soak is
    // one activity now: from its scheduling to its completion only a handful of events are written.
    const scheduled = Number(soaks[0]?.eventId);
    const completed = events.find(
      (e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? 0) === scheduled,
    );
    expect(completed, 'the soak activity completed').toBeDefined();
    expect(Number(completed?.eventId) - scheduled).toBeLessThan(10);
    // The whole rollout (two stages, notifications, freeze and window questions) stays small too.
    expect(events.length).toBeLessThan(250);
  });

  it('a wave that does not say maxParallel rolls at most 10 targets at once', async () => {
    fx = await createRolloutFixture(stack, { deployments: 12, replicas: 1, waves: '[ { percent: 100 } ]' });
    const id = await fx.request(await fx.push());
    const result = await fx.result(id);
    expect(result.outcome, result.reason).toBe('succeeded');
    const events = await historyEvents(fx.client, id);
    expect(maxConcurrentActivities(events, 'updateDeploymentImage')).toBe(10);
    expect(maxConcurrentActivities(events, 'awaitDeploymentReady')).toBeLessThanOrEqual(10);
  });
});

describe('a retried readiness wait keeps its deadline', () => {
  it('gives up at deadlineAt, however long timeoutMs is', async () => {
    const kube = kubeClients(stack.kubernetes.kubeconfig);
    const namespace = `deadline-${uniqueSuffix()}`;
    await createNamespace(kube, namespace);
    try {
      const broken = `127.0.0.1:5000/demo/web:1@sha256:bad0${'f'.repeat(60)}`;
      const body = deploymentManifest({ name: 'web', image: broken, replicas: 1 });
      await kube.apps.createNamespacedDeployment({ namespace, body });
      const started = Date.now();
      const failure = await awaitDeploymentReady(
        { name: 'local', ...kube },
        {
          ref: { cluster: 'local', namespace, deployment: 'web', container: 'web' },
          image: broken,
          timeoutMs: 120_000,
          // As if an earlier attempt had started the wait 118 s ago.
          deadlineAt: started + 2_000,
        },
      ).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect((failure as ApplicationFailure).type).toBe('DeploymentNotReady');
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await deleteNamespace(kube, namespace);
    }
  });
});
