// Recorded histories of real runs must replay against today's workflow code: a change that
// would break running watches, pipelines or rollouts (non-determinism) fails here, with no
// server needed. The corpus has one history per outcome and branch; record a missing one with
// `node test/support/record-corpus.ts BRANCH` (README: "Recording a workflow history").
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowsPath } from '../../../worker/daemon.ts';
import { listHistoryFiles, readHistoryFile } from '../../support/corpus/history-files.ts';

const dir = fileURLToPath(new URL('../../fixtures/histories/', import.meta.url));
const files = listHistoryFiles(dir);

/** Every branch of the four workflows, as recorded by the code that introduced it or later. */
const requiredHistories = [
  // rollout: outcomes
  'rollout-succeeded-after-approval',
  'rollout-check-failed-after-wave',
  'rollout-superseded-at-approval',
  'rollout-superseded-between-waves',
  'rollout-aborted-during-wave',
  'rollout-cancelled',
  'rollout-paused-resumed',
  'rollout-rejected',
  'rollout-approval-timed-out',
  'rollout-drift',
  // rollout: recorded with the patches of the rollback by wave, the bounded waves, the soak in one
  // activity and the pause that yields (the 0.1.0 recordings of these branches cannot replay:
  // test/fixtures/histories-0.1.0-grouped-rollback/README.md)
  'rollout-succeeded-after-approval-patched',
  'rollout-multiwave-rollback-patched',
  'rollout-first-failure-cancel-patched',
  'rollout-check-failed-in-soak-patched',
  'rollout-paused-resumed-patched',
  'rollout-aborted-during-wave-patched',
  'rollout-drift-patched',
  // rollout: recorded with the reverted outcome (an image put back by another field manager)
  'rollout-drift-image-reverted-outcome',
  // rollout: recorded with the notifications (patch "notifications")
  'rollout-succeeded-after-approval-notifications',
  'rollout-multiwave-rollback-notifications',
  'rollout-rejected-notifications',
  'rollout-approval-timed-out-notifications',
  // rollout: recorded with change windows and freezes (stage-change-windows, freeze-holds-at-safe-points)
  'rollout-waited-for-window',
  'rollout-frozen-during-soak',
  'rollout-frozen-at-start',
  // freeze: set, lifted, and expired at its until
  'freeze-set-lifted-expired',
  // rollout: recorded before one rollback group per wave and cancelled siblings
  'rollout-multiwave-rollback-a49db5e',
  'rollout-first-failure-cancel-a49db5e',
  // pipeline
  'pipeline-supersede',
  'pipeline-queue',
  'pipeline-continue-as-new',
  // watch
  'watch-rebuild-detected',
  'watch-continue-as-new',
  // watch: recorded with the pacing to a registry's pull budget
  'watch-paced-by-budget',
  // older recordings, kept for workflows started by older code
  'watch-rebuild',
  'watch-pipeline',
  'pipeline',
  'rollout-succeeded',
  'rollout-rolled-back',
];

describe('workflow replay', () => {
  let code: string;
  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    // Bundled once for every history: bundling per replay would cost seconds each.
    ({ code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') }));
  }, 60_000);

  it('has a recorded history for every outcome and branch', () => {
    const stems = new Set(files.map((f) => f.stem));
    expect(requiredHistories.filter((stem) => !stems.has(stem))).toEqual([]);
  });

  it.each(files.map((f) => f.file))(
    'replays %s',
    async (file) => {
      const history = JSON.parse(readHistoryFile(dir, file)) as { events: unknown[] };
      expect(history.events.length).toBeGreaterThanOrEqual(5);
      await Worker.runReplayHistory({ workflowBundle: { code } }, history);
    },
    30_000,
  );
});
