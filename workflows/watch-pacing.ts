// How often a watch may check images on a registry that announces a request budget (Docker
// Hub's ratelimit-remaining, in pulls per window). Pure, so the watch's decision is a function of
// the recorded check result: deterministic on replay.
//
// A check is one HEAD, which Docker Hub does not count; a check that finds a new digest GETs its
// manifest, which it does. The watch cannot know which check will find a rebuild, so it assumes
// any may: with `remaining` pulls left (less a reserve kept for the kubelets that pull the
// rollout's images), the images drawing on the budget are checked no more often than lets it
// last the window. While the configured interval already fits, nothing changes.
import type { RegistryBudget } from './watch-messages.ts';

/** Part of the window's limit left to others (the kubelets pulling what Freshet rolls out). */
export const reserveFraction = 0.1;

/** Pulls kept back: a tenth of the limit when the registry says it, else one. */
export function reserveOf(budget: Pick<RegistryBudget, 'limit'>): number {
  return budget.limit !== undefined ? Math.max(1, Math.ceil(budget.limit * reserveFraction)) : 1;
}

/**
 * The interval between checks of one image that keeps the budget for the rest of the window:
 * at least `intervalMs`; a whole window once only the reserve is left. `images` is how many
 * images draw on the budget. Without a window the budget cannot be spread, and nothing changes.
 */
export function pacedIntervalMs(intervalMs: number, budget: RegistryBudget, images: number): number {
  const windowSeconds = budget.resetSeconds ?? budget.windowSeconds;
  if (windowSeconds === undefined || windowSeconds <= 0) return intervalMs;
  const spendable = budget.remaining - reserveOf(budget);
  if (spendable <= 0) return Math.max(intervalMs, windowSeconds * 1000);
  const spread = Math.ceil((windowSeconds * 1000 * Math.max(1, images)) / spendable);
  return Math.max(intervalMs, spread);
}
