// Recorded rollouts that fail in staging and roll back: a broken build in the second of two
// waves, the first failure of a wave while its siblings still wait, failed checks after a wave
// and during the soak, and a Deployment someone else changed before the rollback reached it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RolloutResult } from '../../../workflows/rollout-messages.ts';
import type { RolloutFixture } from '../rollout-fixture.ts';
import { waitFor } from '../wait.ts';
import {
  expectOutcome,
  historyOf,
  patchDeployment,
  type Scenario,
  waitForImage,
  waitForPhase,
  withFixture,
} from './recording.ts';

function expectReason(branch: string, result: RolloutResult, pattern: RegExp) {
  if (!pattern.test(result.reason))
    throw new Error(`${branch}: unexpected reason "${result.reason}" (wanted ${pattern}); nothing saved`);
}

async function allBaseline(fx: RolloutFixture, namespace: string) {
  await waitFor(`${namespace} back on its baseline and healthy`, async () => {
    const images = Object.values(await fx.images(namespace));
    return images.every((i) => i === fx.baseline.reference) && (await fx.allComplete(namespace));
  });
}

export const multiwaveRollback: Scenario = {
  branch: 'multiwave-rollback',
  summary:
    'four staging targets in two waves of two; the second wave runs a broken build, so both waves are rolled back, newest first',
  stems: ['rollout-multiwave-rollback'],
  record: (ctx) =>
    withFixture(
      ctx,
      {
        deployments: 4,
        waves: '[ { count: 2 }, { percent: 100 } ]',
        stagingHealth: '{ rolloutTimeout: 15s }',
        // Scaled to zero, the first wave is ready with any image: the broken build fails only in
        // the second wave, after the first wave's patches are in.
        prepare: async (fx) => {
          for (const name of ['web-1', 'web-2'])
            await patchDeployment(fx, fx.staging, name, [
              { op: 'replace', path: '/spec/replicas', value: 0 },
            ]);
          await waitFor('the scaled-down canaries', () => fx.allComplete(fx.staging));
        },
      },
      async (fx) => {
        const id = await fx.request(await fx.push({ broken: true }));
        const result = await fx.result(id);
        expectOutcome('multiwave-rollback', result.outcome, 'rolled_back');
        expectReason('multiwave-rollback', result, /web-[34] not ready.*rolled back 4 workloads/);
        await allBaseline(fx, fx.staging);
        return [await historyOf(ctx, 'rollout-multiwave-rollback', id)];
      },
    ),
};

export const firstFailureCancel: Scenario = {
  branch: 'first-failure-cancel',
  summary:
    'one wave of three with a broken build; web-2 fails within seconds (1 s progress deadline) while web-1 and web-3 still wait',
  stems: ['rollout-first-failure-cancel'],
  record: (ctx) =>
    withFixture(
      ctx,
      {
        waves: '[ { percent: 100 } ]',
        stagingHealth: '{ rolloutTimeout: 15s }',
        prepare: (fx) =>
          patchDeployment(fx, fx.staging, 'web-2', [
            { op: 'replace', path: '/spec/progressDeadlineSeconds', value: 1 },
          ]),
      },
      async (fx) => {
        const id = await fx.request(await fx.push({ broken: true }));
        const result = await fx.result(id);
        // web-2's own 1 s deadline may flag it again after its rollback on a slow machine.
        expectOutcome('first-failure-cancel', result.outcome, 'rolled_back', 'failed');
        expectReason('first-failure-cancel', result, /not ready.*rolled back 3 workloads/);
        return [await historyOf(ctx, 'rollout-first-failure-cancel', id)];
      },
    ),
};

export const checkFailedAfterWave: Scenario = {
  branch: 'check-failed-after-wave',
  summary: 'a Prometheus check over its bound after the canary wave rolls the canary back',
  stems: ['rollout-check-failed-after-wave'],
  record: (ctx) =>
    withFixture(
      ctx,
      {
        stagingHealth: `{ rolloutTimeout: 30s, checks: [ { name: error-rate, prometheus: { url: "${ctx.stack.prometheus.url}", query: "vector(0.25)", max: 0.01 } } ] }`,
      },
      async (fx) => {
        const id = await fx.request(await fx.push());
        const result = await fx.result(id);
        expectOutcome('check-failed-after-wave', result.outcome, 'rolled_back');
        expectReason('check-failed-after-wave', result, /check "error-rate" failed after wave 1\/2/);
        return [await historyOf(ctx, 'rollout-check-failed-after-wave', id)];
      },
    ),
};

export const checkFailedInSoak: Scenario = {
  branch: 'check-failed-in-soak',
  summary: 'an HTTP check that passes after the wave and fails during the soak rolls the stage back',
  stems: ['rollout-check-failed-in-soak'],
  async record(ctx) {
    let healthy = true;
    const server = createServer((_req, res) => {
      res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'down');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    try {
      return await withFixture(
        ctx,
        {
          deployments: 2,
          waves: '[ { percent: 100 } ]',
          // checks run every 15 s by default; a Prometheus check's interval sets the soak's pace.
          stagingHealth: `{ rolloutTimeout: 30s, soak: 60s, checks: [ { name: app-up, http: { url: "${url}", timeout: 2s } }, { name: errors, prometheus: { url: "${ctx.stack.prometheus.url}", query: "vector(0)", max: 0.01, interval: 1s } } ] }`,
        },
        async (fx) => {
          const id = await fx.request(await fx.push());
          await waitForPhase(fx, id, 'soaking');
          healthy = false;
          const result = await fx.result(id);
          expectOutcome('check-failed-in-soak', result.outcome, 'rolled_back');
          expectReason('check-failed-in-soak', result, /check "app-up" failed during the 1m soak/);
          return [await historyOf(ctx, 'rollout-check-failed-in-soak', id)];
        },
      );
    } finally {
      server.close();
    }
  },
};

export const drift: Scenario = {
  branch: 'drift',
  summary:
    'an operator puts another image on the canary while it waits; the rollout ends reverted and leaves that Deployment alone',
  stems: ['rollout-drift'],
  record: (ctx) =>
    withFixture(ctx, { stagingHealth: '{ rolloutTimeout: 60s }' }, async (fx) => {
      const broken = await fx.push({ broken: true });
      const hotfix = await fx.push();
      const id = await fx.request(broken);
      await waitForImage(fx, fx.staging, 'web-1', broken.reference);
      await patchDeployment(fx, fx.staging, 'web-1', [
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: hotfix.reference },
      ]);
      const result = await fx.result(id);
      // Before image-reverted-outcome: failed, "web-1 drifted to …; left alone".
      expectOutcome('drift', result.outcome, 'reverted');
      expectReason('drift', result, /web-1 container web-1 was set to .* by field manager /);
      return [await historyOf(ctx, 'rollout-drift', id)];
    }),
};
