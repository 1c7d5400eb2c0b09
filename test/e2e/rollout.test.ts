// The rollout workflow end to end on the stack: real Temporal, kube-apiserver, controllers and
// KWOK. A rebuilt image goes through staging (canary wave, checks) and, once approved,
// production; a broken image or a failing check rolls staging back and leaves production alone.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decideUpdate, rolloutStatusQuery, rolloutWorkflowId } from '../../workflows/rollout-messages.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
let health: Server;
let healthUrl: string;
let healthy = true;

beforeAll(async () => {
  health = createServer((_req, res) => {
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(healthy ? 'ok' : 'down');
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/healthz`;
});
afterAll(() => new Promise<void>((r) => health.close(() => r())));

describe('rollout: happy path', () => {
  let fx: RolloutFixture;
  beforeAll(async () => {
    fx = await createRolloutFixture(stack, {
      interval: '1s',
      approval: '{ required: true, timeout: 1h, approvers: [alice] }',
      stagingHealth: `{ rolloutTimeout: 60s, soak: 2s, checks: [ { name: app-up, http: { url: "${healthUrl}", bodyMatch: "^ok$" } }, { name: no-errors, prometheus: { url: "${stack.prometheus.url}", query: "vector(0)", max: 0.01, interval: 1s } } ] }`,
    });
  });
  afterAll(() => fx?.close());

  it('detects a rebuild, rolls out staging with a canary, waits for approval, then production', async () => {
    const before = {
      staging: await fx.generations(fx.staging),
      production: await fx.generations(fx.production),
    };
    const rebuilt = await fx.push();
    const id = rolloutWorkflowId(fx.pipeline, fx.image, rebuilt.digest, fx.config.temporal.instance);
    const handle = fx.client.workflow.getHandle(id);

    const waiting = await waitFor(
      'the rollout to wait for approval of production',
      async () => {
        const st = await handle.query(rolloutStatusQuery);
        return st.phase === 'awaiting-approval' ? st : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(waiting.approval).toMatchObject({ stage: 'production', approvers: ['alice'] });
    expect(Object.values(await fx.images(fx.staging))).toEqual(fx.deployments.map(() => rebuilt.reference));
    expect(await fx.allComplete(fx.staging)).toBe(true);
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => fx.baseline.reference),
    );
    expect(waiting.checks.map((c) => [c.name, c.ok])).toEqual([
      ['app-up', true],
      ['no-errors', true],
    ]);

    // Operators find it by search attributes, and the metric counts it.
    const listed = await waitFor('the rollout in a search by phase', async () => {
      const found: string[] = [];
      const query = `FreshetPipeline = '${fx.pipeline}' AND FreshetPhase = 'awaiting-approval'`;
      for await (const wf of fx.client.workflow.list({ query })) found.push(wf.workflowId);
      return found.length > 0 ? found : undefined;
    });
    expect(listed).toEqual([id]);
    await fx.daemon.refreshFreshness();
    const metrics = await scrape(fx.daemon.url);
    expect(
      sampleValue(metrics, 'freshet_approvals_pending', { pipeline: fx.pipeline, stage: 'production' }),
    ).toBe(1);
    const description = await handle.describe();
    expect(await description.staticSummary()).toContain(`${fx.repository}:1.0`);

    // Canary first: the first update's readiness is awaited before the other two start.
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.flatMap((e, i) =>
      e.activityTaskScheduledEventAttributes
        ? [[i, e.activityTaskScheduledEventAttributes.activityType?.name]]
        : [],
    ) as [number, string][];
    const updates = scheduled.filter(([, n]) => n === 'updateDeploymentImage').map(([i]) => i);
    const awaits = scheduled.filter(([, n]) => n === 'awaitDeploymentReady').map(([i]) => i);
    expect(updates.length).toBe(3);
    expect(awaits[0]).toBeLessThan(updates[1] as number);

    const refused = await handle
      .executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: 'bob' }] })
      .then(
        () => undefined,
        (err: Error) => err,
      );
    expect((refused?.cause as Error | undefined)?.message).toBe(
      '"bob" may not decide on stage production (approvers: alice)',
    );
    expect((await handle.query(rolloutStatusQuery)).phase).toBe('awaiting-approval');
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', by: 'alice', comment: 'ship it' }],
    });

    const result = await fx.result(id);
    expect(result.outcome).toBe('succeeded');
    expect(result.decisions).toMatchObject([
      { stage: 'production', decision: 'approve', by: 'alice', comment: 'ship it' },
    ]);
    for (const ns of [fx.staging, fx.production]) {
      expect(Object.values(await fx.images(ns))).toEqual(fx.deployments.map(() => rebuilt.reference));
      await waitFor(`every Deployment in ${ns} available`, () => fx.allComplete(ns));
    }
    // One spec change per Deployment: nothing was patched twice.
    const after = {
      staging: await fx.generations(fx.staging),
      production: await fx.generations(fx.production),
    };
    for (const d of fx.deployments) {
      expect(after.staging[d]).toBe((before.staging[d] ?? 0) + 1);
      expect(after.production[d]).toBe((before.production[d] ?? 0) + 1);
    }
    const dep = await fx.kube.apps.readNamespacedDeployment({ name: 'web-2', namespace: fx.production });
    expect(dep.metadata?.annotations).toMatchObject({
      'freshet.dev/rollout-id': id,
      'freshet.dev/previous-image': fx.baseline.reference,
    });
    expect(dep.metadata?.annotations?.['kubernetes.io/change-cause']).toContain(rebuilt.digest);
    const final = await scrape(fx.daemon.url);
    expect(
      sampleValue(final, 'freshet_rollouts_total', { pipeline: fx.pipeline, outcome: 'succeeded' }),
    ).toBe(1);
    expect(sampleValue(final, 'freshet_time_to_production_seconds_count', { pipeline: fx.pipeline })).toBe(1);
  });
});

describe('rollout: automatic rollback in staging', () => {
  it('rolls back a broken build and leaves production untouched', async () => {
    const fx = await createRolloutFixture(stack, { stagingHealth: '{ rolloutTimeout: 15s }' });
    try {
      const before = await fx.generations(fx.production);
      const broken = await fx.push({ broken: true });
      const result = await fx.result(await fx.request(broken));
      expect(result.outcome).toBe('rolled_back');
      expect(result.reason).toMatch(/stage staging: .*web-1 not ready after 15s.*ImagePullBackOff/);
      expect(result.reason).toContain('rolled back 1 workload');
      expect(result.targets.find((t) => t.deployment === 'web-1')?.state).toBe('rolled_back');
      expect(Object.values(await fx.images(fx.staging))).toEqual(
        fx.deployments.map(() => fx.baseline.reference),
      );
      await waitFor('staging healthy again', () => fx.allComplete(fx.staging));
      expect(await fx.generations(fx.production)).toEqual(before);
      const metrics = await scrape(fx.daemon.url);
      expect(
        sampleValue(metrics, 'freshet_rollbacks_total', {
          pipeline: fx.pipeline,
          stage: 'staging',
          reason: 'not_ready',
        }),
      ).toBe(1);
    } finally {
      await fx.close();
    }
  });

  it('rolls back when an HTTP check fails after the canary', async () => {
    const fx = await createRolloutFixture(stack, {
      stagingHealth: `{ rolloutTimeout: 60s, checks: [ { name: app-up, http: { url: "${healthUrl}", timeout: 2s } } ] }`,
    });
    healthy = false;
    try {
      const result = await fx.result(await fx.request(await fx.push()));
      expect(result.outcome).toBe('rolled_back');
      expect(result.reason).toMatch(/check "app-up" failed after wave 1\/2: .*503, expected 200/);
      expect(Object.values(await fx.images(fx.staging))).toEqual(
        fx.deployments.map(() => fx.baseline.reference),
      );
      expect(Object.values(await fx.images(fx.production))).toEqual(
        fx.deployments.map(() => fx.baseline.reference),
      );
    } finally {
      healthy = true;
      await fx.close();
    }
  });

  it("rolls back when a Prometheus check breaks its bound on the stack's Prometheus", async () => {
    const fx = await createRolloutFixture(stack, {
      stagingHealth: `{ rolloutTimeout: 60s, checks: [ { name: error-rate, prometheus: { url: "${stack.prometheus.url}", query: "vector(0.25)", max: 0.01 } } ] }`,
    });
    try {
      const result = await fx.result(await fx.request(await fx.push()));
      expect(result.outcome).toBe('rolled_back');
      expect(result.reason).toMatch(/check "error-rate" failed after wave 1\/2: .*0\.25.*0\.01/);
      expect(Object.values(await fx.images(fx.staging))).toEqual(
        fx.deployments.map(() => fx.baseline.reference),
      );
      await waitFor('staging healthy again', () => fx.allComplete(fx.staging));
    } finally {
      await fx.close();
    }
  });
});
