// What every recorded scenario shares: the running stack, one bundle of today's workflow code,
// a pipeline fixture with a daemon on that bundle, and the waits the scenarios use.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Endpoints } from '../../../stack/layout.ts';
import { type Daemon, startDaemon } from '../../../worker/daemon.ts';
import { type RolloutStatus, rolloutStatusQuery } from '../../../workflows/rollout-messages.ts';
import { watchStatusQuery, watchWorkflowId } from '../../../workflows/watch-messages.ts';
import { createRolloutFixture, type FixtureOptions, type RolloutFixture } from '../rollout-fixture.ts';
import { waitFor } from '../wait.ts';

export interface RecordingContext {
  stack: Endpoints;
  /** Workflow code bundled once for every daemon of the run. */
  workflowBundlePath: string;
  /** Reads histories; allowed larger messages than the default 4 MB, which a big page passes. */
  historyClient: Client;
  progress(message: string): void;
}

/** One workflow run's history, to be saved as `<stem>.json`. */
export interface Recorded {
  stem: string;
  history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
}

export interface Scenario {
  /** The name on the command line: `record-corpus.ts multiwave-rollback`. */
  branch: string;
  summary: string;
  /** The stems it saves, `<workflow>-<branch>`. */
  stems: string[];
  record(ctx: RecordingContext): Promise<Recorded[]>;
}

export interface CorpusFixture extends RolloutFixture {
  daemon: Daemon;
}

export interface CorpusFixtureOptions extends FixtureOptions {
  /** Watches continue as new after this many events. */
  maxHistoryEvents?: number;
  /** Runs before the daemon starts, once the Deployments run the baseline. */
  prepare?(fx: RolloutFixture): Promise<void>;
}

/** A pipeline fixture whose daemon runs the run's workflow bundle; closing it removes everything. */
export async function withFixture<T>(
  ctx: RecordingContext,
  opts: CorpusFixtureOptions,
  use: (fx: CorpusFixture) => Promise<T>,
): Promise<T> {
  const { prepare, maxHistoryEvents, ...fixtureOptions } = opts;
  const base = await createRolloutFixture(ctx.stack, { ...fixtureOptions, startDaemon: false });
  let daemon: Daemon | undefined;
  try {
    await prepare?.(base);
    daemon = await startDaemon({
      config: base.config,
      listen: '127.0.0.1:0',
      freshnessIntervalMs: 60_000,
      batchWindowMs: 100,
      workflowBundlePath: ctx.workflowBundlePath,
      ...(maxHistoryEvents ? { maxHistoryEvents } : {}),
    });
    // A push before the watch knows the baseline would become the baseline, not a rebuild.
    const watch = base.client.workflow.getHandle(
      watchWorkflowId(base.config.temporal.instance, base.config.registries[0]?.name ?? ''),
    );
    await waitFor('the watch to record the baseline digest', async () => {
      const st = await watch.query(watchStatusQuery);
      return st.images[0]?.state.latest?.digest === base.baseline.digest;
    });
    return await use({ ...base, daemon });
  } finally {
    await base.close();
    await daemon?.close();
  }
}

export async function historyOf(
  ctx: RecordingContext,
  stem: string,
  workflowId: string,
  runId?: string,
): Promise<Recorded> {
  return { stem, history: await ctx.historyClient.workflow.getHandle(workflowId, runId).fetchHistory() };
}

export function rolloutStatus(fx: RolloutFixture, id: string): Promise<RolloutStatus> {
  return fx.client.workflow.getHandle(id).query(rolloutStatusQuery);
}

export async function waitForPhase(
  fx: RolloutFixture,
  id: string,
  phase: RolloutStatus['phase'],
  timeoutMs = 90_000,
): Promise<RolloutStatus> {
  return waitFor(
    `${id} to reach ${phase}`,
    async () => {
      const st = await rolloutStatus(fx, id);
      return st.phase === phase ? st : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

export async function waitForImage(fx: RolloutFixture, namespace: string, deployment: string, image: string) {
  await waitFor(
    `${namespace}/${deployment} to be patched to ${image}`,
    async () => (await fx.images(namespace))[deployment] === image,
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

export async function patchDeployment(
  fx: RolloutFixture,
  namespace: string,
  name: string,
  ops: { op: 'replace'; path: string; value: unknown }[],
) {
  await fx.kube.apps.patchNamespacedDeployment({ namespace, name, body: ops });
}

/** Ends a scenario whose rollout must have reached `outcomes`; a surprise means a wrong recording. */
export function expectOutcome(branch: string, outcome: string, ...wanted: string[]) {
  if (!wanted.includes(outcome))
    throw new Error(`${branch}: the rollout ended ${outcome}, not ${wanted.join(' or ')}; nothing saved`);
}
