// The soak as one activity: the checks run every interval until a fixed deadline, inside one
// heartbeating activity, so a 24 h soak with 15 s checks is a handful of history events instead
// of tens of thousands. The deadline is absolute: a retried soak keeps the original end.
import { setTimeout as sleep } from 'node:timers/promises';
import { asyncLocalStorage } from '@temporalio/activity';
import type { CheckOutcome, CheckSpec } from './types.ts';

const heartbeatEveryMs = 5_000;

export interface SoakInput {
  checks: CheckSpec[];
  /** When the soak ends (epoch ms, from the workflow clock). */
  until: number;
  intervalMs: number;
}

export interface SoakResult {
  /** The last round's outcomes: the failing round's when `failed`. */
  outcomes: CheckOutcome[];
  failed: boolean;
  rounds: number;
}

/** One check, as the runHealthCheck activity runs it; a check that throws could not run. */
export type CheckRunner = (spec: CheckSpec) => Promise<CheckOutcome>;

export async function runSoak(runCheck: CheckRunner, input: SoakInput): Promise<SoakResult> {
  const activity = asyncLocalStorage.getStore();
  const signal = activity?.cancellationSignal;
  let outcomes: CheckOutcome[] = [];
  let rounds = 0;
  // At least one round, so the soak's last word is always a fresh look.
  do {
    const next = Date.now() + Math.max(0, Math.min(input.intervalMs, input.until - Date.now()));
    // Heartbeats while it waits too: a long check interval must not look like a dead worker.
    for (let left = next - Date.now(); left > 0; left = next - Date.now()) {
      activity?.heartbeat({ rounds });
      await sleep(Math.min(left, heartbeatEveryMs), undefined, signal ? { signal } : {});
    }
    outcomes = await Promise.all(input.checks.map((c) => runOrReport(runCheck, c)));
    rounds++;
    activity?.heartbeat({ rounds });
    if (outcomes.some((o) => !o.ok)) return { outcomes, failed: true, rounds };
  } while (Date.now() < input.until);
  return { outcomes, failed: false, rounds };
}

async function runOrReport(runCheck: CheckRunner, check: CheckSpec): Promise<CheckOutcome> {
  try {
    return await runCheck(check);
  } catch (err) {
    return {
      name: check.kind === 'http' ? check.http.name : check.prometheus.name,
      kind: check.kind,
      ok: false,
      detail: `could not run: ${err instanceof Error ? err.message : String(err)}`,
      at: new Date().toISOString(),
    };
  }
}
