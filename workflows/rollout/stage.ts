// One stage, forward: plan, then each wave (safe point, update, checks), then the soak.

import { patched } from '@temporalio/workflow';
import type { StageSpec } from '../rollout-messages.ts';
import { defaultMaxParallel, splitIntoWaves } from '../rollout-waves.ts';
import { runChecks } from './checks.ts';
import { notifyStarted } from './notify.ts';
import { planStage } from './plan.ts';
import { safePoint } from './safe-point.ts';
import { soak } from './soak.ts';
import { type Compensation, type RolloutState, StageStop, setPhase } from './state.ts';
import { runWave } from './wave.ts';

/** Waves that do not say how many targets roll at once roll defaultMaxParallel (before it: all). */
export const boundedWavesPatch = 'bounded-wave-parallelism';

export async function runStage(
  state: RolloutState,
  stage: StageSpec,
  compensations: Compensation[],
): Promise<'succeeded' | 'superseded'> {
  const { status } = state;
  const updates = await planStage(state, stage);
  notifyStarted(state, stage.name);
  // A wave without maxParallel used to roll every target at once; 1,000 targets, 1,000 activities.
  const waves = splitIntoWaves(
    updates,
    stage.waves,
    patched(boundedWavesPatch) ? defaultMaxParallel : undefined,
  );
  for (const wave of waves) {
    const next = await safePoint(state, stage.windows);
    if (next === 'aborted') throw new StageStop('aborted', 'aborted', `aborted by ${state.abortedBy}`);
    // Before the first wave a newer digest waits its turn, unless this rollout is held anyway.
    if (next === 'superseded' && (wave.index > 0 || status.paused)) return 'superseded';
    status.wave = { index: wave.index, total: waves.length };
    setPhase(state, 'rolling-out');
    await runWave(state, stage, wave, compensations);
    setPhase(state, 'checking');
    await runChecks(state, stage, `after wave ${wave.index + 1}/${waves.length}`);
  }
  if (waves.length === 0) await runChecks(state, stage, 'with every target already on the digest');
  if (stage.soakMs > 0 && waves.length > 0) {
    const soaked = await soak(state, stage);
    if (soaked === 'superseded') return 'superseded';
  }
  delete status.wave;
  return 'succeeded';
}
