// Recorded rollouts held by a change window or a freeze, and the freeze workflow that set, lifted
// and expired the freezes: the histories of the commands behind the stage-change-windows and
// freeze-holds-at-safe-points patches.
import { requestRollout } from '../../../activities/rollout/request.ts';
import { freezeCommand, unfreezeCommand } from '../../../worker/cli/freeze.ts';
import { freezeWorkflowId } from '../../../workflows/freeze-messages.ts';
import { withStagingWindows } from '../rollout-fixture.ts';
import { expectOutcome, historyOf, type Scenario, waitForPhase, withFixture } from './recording.ts';

const utcClock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export const waitedForWindow: Scenario = {
  branch: 'waited-for-window',
  summary:
    'the staging window opens 20 s after the request: the first wave waits on a timer, then both stages run',
  stems: ['rollout-waited-for-window'],
  record: (ctx) =>
    withFixture(ctx, {}, async (fx) => {
      const pushed = await fx.push();
      const opensAt = Math.ceil((Date.now() + 20_000) / 1_000) * 1_000;
      const { config } = withStagingWindows(
        ctx.stack,
        fx,
        `[ { from: "${utcClock(opensAt)}", to: "${utcClock(opensAt + 3_600_000)}", timeZone: UTC } ]`,
      );
      const { rolloutId: id } = await requestRollout(
        { client: fx.client, config, searchAttributes: true },
        {
          pipeline: fx.pipeline,
          image: fx.image,
          registry: config.registries[0]?.name ?? '',
          repository: fx.repository,
          tag: pushed.tag,
          digest: pushed.digest,
          trigger: 'manual',
          detectedAt: new Date().toISOString(),
        },
      );
      await waitForPhase(fx, id, 'waiting-for-window');
      expectOutcome('waited-for-window', (await fx.result(id)).outcome, 'succeeded');
      return [await historyOf(ctx, 'rollout-waited-for-window', id)];
    }),
};

export const frozenDuringSoak: Scenario = {
  branch: 'frozen-during-soak',
  summary:
    'frozen during the staging soak, held, unfrozen; then a pipeline freeze with until holds the next rollout before its first wave until it expires',
  stems: ['rollout-frozen-during-soak', 'rollout-frozen-at-start', 'freeze-set-lifted-expired'],
  record: (ctx) =>
    withFixture(ctx, { stagingHealth: '{ rolloutTimeout: 30s, soak: 10s }' }, async (fx) => {
      const first = await fx.request(await fx.push());
      await waitForPhase(fx, first, 'soaking');
      await freezeCommand(fx.client, fx.config, { reason: 'incident 42', by: 'oncall' });
      await waitForPhase(fx, first, 'frozen');
      await new Promise((r) => setTimeout(r, 1_000));
      await unfreezeCommand(fx.client, fx.config, { by: 'oncall' });
      expectOutcome('frozen-during-soak', (await fx.result(first)).outcome, 'succeeded');

      await freezeCommand(fx.client, fx.config, {
        pipeline: fx.pipeline,
        reason: 'release week',
        by: 'lead',
        until: '5s',
      });
      const second = await fx.request(await fx.push());
      await waitForPhase(fx, second, 'frozen');
      expectOutcome('frozen-during-soak', (await fx.result(second)).outcome, 'succeeded');
      return [
        await historyOf(ctx, 'rollout-frozen-during-soak', first),
        await historyOf(ctx, 'rollout-frozen-at-start', second),
        await historyOf(ctx, 'freeze-set-lifted-expired', freezeWorkflowId(fx.config.temporal.instance)),
      ];
    }),
};
