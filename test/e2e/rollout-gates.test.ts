// Operator gates end to end: reject, an approval that times out, an abort mid-wave, and a newer
// digest superseding a waiting rollout. After each, every target runs either the new digest
// (with its checks passed) or its previous image, and never both rollouts at once.
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  abortSignal,
  approveSignal,
  pauseSignal,
  rejectSignal,
  resumeSignal,
  rolloutStatusQuery,
} from '../../workflows/rollout-messages.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
let fx: RolloutFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function phaseOf(f: RolloutFixture, id: string, phase: string, timeoutMs = 60_000) {
  return waitFor(
    `${id} to reach ${phase}`,
    async () => {
      const st = await f.client.workflow.getHandle(id).query(rolloutStatusQuery);
      return st.phase === phase ? st : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

describe('rollout gates', () => {
  it('a rejection stops before production; staging keeps the checked digest', async () => {
    fx = await createRolloutFixture(stack, { approval: '{ timeout: 1h }' });
    const rebuilt = await fx.push();
    const id = await fx.request(rebuilt);
    await phaseOf(fx, id, 'awaiting-approval');
    await fx.client.workflow.getHandle(id).signal(rejectSignal, { by: 'dana', comment: 'freeze week' });
    const result = await fx.result(id);
    expect(result.outcome).toBe('rejected');
    expect(result.reason).toBe('stage production: stage production rejected by dana: freeze week');
    expect(Object.values(await fx.images(fx.staging))).toEqual(fx.deployments.map(() => rebuilt.reference));
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => fx?.baseline.reference),
    );
  });

  it('an approval that times out promotes nothing', async () => {
    fx = await createRolloutFixture(stack, { approval: '{ timeout: 3s, approvers: [erin] }' });
    const rebuilt = await fx.push();
    const id = await fx.request(rebuilt);
    await phaseOf(fx, id, 'awaiting-approval');
    // A signal from someone not on the list is refused and recorded, not obeyed.
    await fx.client.workflow.getHandle(id).signal(approveSignal, { by: 'mallory' });
    const result = await fx.result(id);
    expect(result.outcome).toBe('approval_timed_out');
    expect(result.reason).toContain('stage production was not approved within 3s; nothing was promoted');
    expect(result.decisions).toEqual([]);
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => fx?.baseline.reference),
    );
  });

  it('abort in the middle of a wave cancels the wait and rolls the stage back', async () => {
    // A broken build never becomes ready: the canary wave is stuck until the abort.
    fx = await createRolloutFixture(stack, { stagingHealth: '{ rolloutTimeout: 5m }' });
    const broken = await fx.push({ broken: true });
    const id = await fx.request(broken);
    const handle = fx.client.workflow.getHandle(id);
    await waitFor(
      'the canary to be patched',
      async () => (await fx?.images(fx.staging))?.['web-1'] === broken.reference,
    );
    // Pause holds only at safe points; an abort still interrupts the wave.
    await handle.signal(pauseSignal);
    const started = Date.now();
    await handle.signal(abortSignal, { by: 'frank' });
    const result = await fx.result(id);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.outcome).toBe('aborted');
    expect(result.reason).toMatch(/^stage staging: aborted by frank; rolled back 1 workload$/);
    expect(Object.values(await fx.images(fx.staging))).toEqual(
      fx.deployments.map(() => fx?.baseline.reference),
    );
    await waitFor('staging healthy again', () => fx?.allComplete(fx.staging) ?? Promise.resolve(false));
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => fx?.baseline.reference),
    );
  });

  it('cancelling the workflow (as from the UI) works like abort', async () => {
    fx = await createRolloutFixture(stack, { stagingHealth: '{ rolloutTimeout: 5m }' });
    const broken = await fx.push({ broken: true });
    const id = await fx.request(broken);
    await waitFor(
      'the canary to be patched',
      async () => (await fx?.images(fx.staging))?.['web-1'] === broken.reference,
    );
    await fx.client.workflow.getHandle(id).cancel();
    const result = await fx.result(id);
    expect(result.outcome).toBe('aborted');
    expect(result.reason).toBe('stage staging: aborted by cancellation; rolled back 1 workload');
    expect(Object.values(await fx.images(fx.staging))).toEqual(
      fx.deployments.map(() => fx?.baseline.reference),
    );
  });

  it('ends reverted, leaving alone a Deployment someone changed mid-rollout, and says who', async () => {
    fx = await createRolloutFixture(stack, { stagingHealth: '{ rolloutTimeout: 5m }' });
    const broken = await fx.push({ broken: true });
    const hotfix = await fx.push();
    const id = await fx.request(broken);
    await waitFor(
      'the canary to be patched',
      async () => (await fx?.images(fx.staging))?.['web-1'] === broken.reference,
    );
    // An operator fixes the canary by hand while Freshet waits for it.
    await fx.kube.apps.patchNamespacedDeployment({
      namespace: fx.staging,
      name: 'web-1',
      fieldManager: 'kubectl-edit',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: hotfix.reference }],
    });
    const result = await fx.result(id);
    expect(result.outcome).toBe('reverted');
    expect(result.reason).toContain(
      `${fx.staging}/web-1 container web-1 was set to ${hotfix.reference} by field manager kubectl-edit`,
    );
    expect(result.targets.find((t) => t.deployment === 'web-1')?.state).toBe('reverted');
    expect((await fx.images(fx.staging))['web-1']).toBe(hotfix.reference);
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => fx?.baseline.reference),
    );
  });

  it('the first failure in a wave stops the waits of the others and rolls the wave back together', async () => {
    fx = await createRolloutFixture(stack, {
      stagingHealth: '{ rolloutTimeout: 5m }',
      waves: '[ { percent: 100 } ]',
    });
    // web-2 gives up on its own within seconds; web-1 and web-3 would wait out the 5 minutes.
    await fx.kube.apps.patchNamespacedDeployment({
      namespace: fx.staging,
      name: 'web-2',
      body: [{ op: 'replace', path: '/spec/progressDeadlineSeconds', value: 1 }],
    });
    const broken = await fx.push({ broken: true });
    const started = Date.now();
    const result = await fx.result(await fx.request(broken));
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(result.reason).toMatch(/^stage staging: \S+\/web-2 not ready/);
    expect(result.reason).toContain('rolled back 3 workloads');
    // The siblings were stopped and put back. web-2 itself is back on its previous image too, but
    // with a 1 s progress deadline it may count as unhealthy again on a slow machine ("failed").
    expect(['rolled_back', 'failed']).toContain(result.outcome);
    for (const name of ['web-1', 'web-3'])
      expect(result.targets.find((t) => t.deployment === name)?.state, name).toBe('rolled_back');
    if (result.outcome === 'failed') expect(result.reason).toMatch(/web-2 rolled back but is not healthy/);
    expect(Object.values(await fx.images(fx.staging))).toEqual(
      fx.deployments.map(() => fx?.baseline.reference),
    );
  });

  it('pause holds between waves until resume', async () => {
    fx = await createRolloutFixture(stack, { waves: '[ { count: 1 }, { count: 1 }, { percent: 100 } ]' });
    const rebuilt = await fx.push();
    const id = await fx.request(rebuilt);
    const handle = fx.client.workflow.getHandle(id);
    await waitFor('the rollout to start', () => handle.describe().catch(() => undefined));
    await handle.signal(pauseSignal);
    const paused = await phaseOf(fx, id, 'paused');
    const images = await fx.images(fx.staging);
    // Held at a safe point: not every staging target has moved.
    expect(Object.values(images).filter((i) => i === rebuilt.reference).length).toBeLessThan(3);
    expect(paused.paused).toBe(true);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await fx.images(fx.staging)).toEqual(images);
    await handle.signal(resumeSignal);
    const result = await fx.result(id);
    expect(result.outcome).toBe('succeeded');
  });

  it('a newer digest supersedes a rollout waiting for approval; the two never run at once', async () => {
    fx = await createRolloutFixture(stack, { approval: '{ timeout: 1h }' });
    const first = await fx.push();
    const firstId = await fx.request(first);
    await phaseOf(fx, firstId, 'awaiting-approval');
    const second = await fx.push();
    const secondId = await fx.request(second);
    const firstResult = await fx.result(firstId);
    expect(firstResult.outcome).toBe('superseded');
    expect(firstResult.reason).toContain(`superseded by ${secondId}`);

    await phaseOf(fx, secondId, 'awaiting-approval');
    const firstEnd =
      (await fx.client.workflow.getHandle(firstId).describe()).closeTime?.getTime() ?? Infinity;
    const secondStart = (await fx.client.workflow.getHandle(secondId).describe()).startTime.getTime();
    expect(secondStart).toBeGreaterThanOrEqual(firstEnd);
    await fx.client.workflow.getHandle(secondId).signal(approveSignal, { by: 'gina' });
    const secondResult = await fx.result(secondId);
    expect(secondResult.outcome).toBe('succeeded');
    for (const ns of [fx.staging, fx.production])
      expect(Object.values(await fx.images(ns))).toEqual(fx.deployments.map(() => second.reference));
  });
});
