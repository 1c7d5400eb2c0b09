// What every benchmark shares: progress lines on stderr (stdout keeps the results table), a
// daemon logger that passes on only warnings, and a Temporal runtime that logs only warnings.
import { randomBytes } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { LogSink } from '../worker/webhooks/types.ts';

export type Progress = (message: string) => void;

export function progressFor(benchmark: string): Progress {
  const t0 = Date.now();
  return (message) => console.error(`[${benchmark} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}`);
}

/** Names unique to one run, so a benchmark can run beside tests on one Temporal and registry. */
export const runSuffix = () => randomBytes(4).toString('hex');

export function warningsTo(progress: Progress): LogSink {
  return {
    info() {},
    warn: (fields, message) => progress(`daemon warning: ${message} ${JSON.stringify(fields)}`),
    error: (fields, message) => progress(`daemon error: ${message} ${JSON.stringify(fields)}`),
  };
}

let runtimeInstalled = false;

/** Must run before the first worker or native connection of the process. */
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}
