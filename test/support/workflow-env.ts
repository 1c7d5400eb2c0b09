// Fast workflow tests: Temporal's time-skipping test server (a timer of 24 h fires at once while a
// test waits for a result), a Worker over the real workflow code, and activities replaced by
// fakes that record every call in order. Kubernetes is the in-memory ClusterModel; health
// checks answer as the test says. Bundle once per file: `startWorkflowEnv()` in beforeAll.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { FreezeActivities } from '../../activities/freeze/index.ts';
import type { HealthActivities } from '../../activities/health/index.ts';
import type { SoakInput, SoakResult } from '../../activities/health/soak.ts';
import type { CheckOutcome, CheckSpec } from '../../activities/health/types.ts';
import type { NotificationEvent } from '../../activities/notify/events.ts';
import type { NotifyActivities } from '../../activities/notify/index.ts';
import type { RolloutEvent, RolloutReportActivities } from '../../activities/rollout/report.ts';
import type { RolloutAsk, RolloutRequestActivities } from '../../activities/rollout/request.ts';
import type { CheckImagesInput, WatchActivities } from '../../activities/watch/check-images.ts';
import { createWindowActivities } from '../../activities/windows/index.ts';
import { temporalTestServerLauncher } from '../../stack/layout.ts';
import { workflowsPath } from '../../worker/daemon.ts';
import { type FreezeChange, type FreezeSnapshot, noFreeze } from '../../workflows/freeze-messages.ts';
import type { rolloutWorkflow } from '../../workflows/rollout.ts';
import {
  pipelineWorkflowId,
  type RolloutInput,
  type RolloutStatus,
  rolloutStatusQuery,
  rolloutWorkflowId,
} from '../../workflows/rollout-messages.ts';
import type { ClusterModel } from './cluster-model.ts';
import { waitFor } from './wait.ts';

/** temporal.instance of the Freshet these workflow tests stand in for. */
const testInstance = 'workflow-env';

export interface ActivityCall {
  activity: string;
  input: unknown;
}

/** How a health check answers its nth run (1-based, counted per check name). */
export type CheckAnswer = (check: CheckSpec, run: number) => boolean | Omit<CheckOutcome, 'at'>;

export interface ReplacedActivities {
  cluster: ClusterModel;
  /** Default: every check passes. */
  checks?: CheckAnswer;
  /** Stands in for the sinks; default: every notification is delivered. */
  notify?: (event: NotificationEvent) => Promise<void>;
  /** What currentFreeze answers; default nothing frozen. */
  freeze?: () => FreezeSnapshot;
}

export interface WorkerRun {
  client: Client;
  taskQueue: string;
  /** Every activity call, in the order the worker started them. */
  calls: ActivityCall[];
  /** Calls of one activity, in order. */
  callsOf(activity: string): unknown[];
  /** Resolves once `activity` has been called `times` times (real time; the test server does not skip it). */
  called(activity: string, times?: number): Promise<void>;
}

export interface WorkflowEnv {
  env: TestWorkflowEnvironment;
  /** Runs `test` while a Worker with the replaced activities polls a task queue of its own. */
  withWorker<T>(activities: ReplacedActivities, test: (run: WorkerRun) => Promise<T>): Promise<T>;
  teardown(): Promise<void>;
}

let runtimeInstalled = false;
let queues = 0;

export async function startWorkflowEnv(): Promise<WorkflowEnv> {
  const launcher = temporalTestServerLauncher();
  if (!existsSync(launcher)) {
    throw new Error(
      `${launcher} is missing: run "bash stack/install.sh" (it fetches the Temporal test server)`,
    );
  }
  if (!runtimeInstalled) {
    // Core's warnings about the test server's capabilities (heartbeat details on failure) are noise here.
    Runtime.install({
      logger: new DefaultLogger('WARN'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
    });
    runtimeInstalled = true;
  }
  // The SDK gives the time-skipping server (a JVM) 5 s to listen: start it before bundling, so the
  // two do not share the CPU, and try again when a busy machine made it miss the window.
  const env = await startTimeSkipping(launcher);
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });

  async function withWorker<T>(replaced: ReplacedActivities, test: (run: WorkerRun) => Promise<T>) {
    const taskQueue = `workflow-test-${process.pid}-${++queues}`;
    const calls: ActivityCall[] = [];
    const listeners = new Set<() => void>();
    const running = new RunningActivities();
    const record = <I, O>(activity: string, fn: (input: I) => Promise<O>) => {
      return async (input: I): Promise<O> => {
        calls.push({ activity, input });
        for (const l of listeners) l();
        return running.track(() => fn(input));
      };
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: recordAll(replacedActivities(replaced, running), record),
      // A wait the workflow cancels learns it from its next heartbeat: let that be at once.
      maxHeartbeatThrottleInterval: 20,
    });
    const callsOf = (activity: string) => calls.filter((c) => c.activity === activity).map((c) => c.input);
    const called = (activity: string, times = 1) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (callsOf(activity).length < times) return;
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        check();
      });
    return worker.runUntil(test({ client: env.client, taskQueue, calls, callsOf, called }));
  }

  return { env, withWorker, teardown: () => env.teardown() };
}

/**
 * The test server stops skipping time while any activity is open, and one still open when its
 * workflow closes (a wait the workflow cancelled without waiting, as TRY_CANCEL does) keeps it
 * stopped for good: every later test's timers would run in real time. So the rollout's last
 * activity, its outcome report, first lets the other activities of its workflow finish.
 */
class RunningActivities {
  /** Workflow id → activity id → settles when that activity ends. */
  private readonly byWorkflow = new Map<string, Map<string, Promise<void>>>();

  track<T>(run: () => Promise<T>): Promise<T> {
    const { workflowId, activityId } = current();
    const open = this.byWorkflow.get(workflowId) ?? new Map<string, Promise<void>>();
    this.byWorkflow.set(workflowId, open);
    const p = run();
    open.set(
      activityId,
      p.then(
        () => undefined,
        () => undefined,
      ),
    );
    return p.finally(() => open.delete(activityId));
  }

  /** Waits for the other open activities of the caller's workflow, and for their answers to reach the server. */
  async settleOthers(): Promise<void> {
    const { workflowId, activityId } = current();
    const others = [...(this.byWorkflow.get(workflowId) ?? [])].filter(([id]) => id !== activityId);
    if (others.length === 0) return;
    await Promise.race([Promise.all(others.map(([, settled]) => settled)), sleep(10_000)]);
    await sleep(100);
  }
}

function current(): { workflowId: string; activityId: string } {
  const info = Context.current().info;
  return { workflowId: info.workflowExecution?.workflowId ?? '', activityId: info.activityId };
}

/** Every activity the worker's workflows call, replaced; `satisfies` keeps names and types honest. */
function replacedActivities(replaced: ReplacedActivities, running: RunningActivities) {
  const runs = new Map<string, number>();
  const answer = replaced.checks ?? (() => true);
  const runHealthCheck = async (check: CheckSpec): Promise<CheckOutcome> => {
    const name = check.kind === 'http' ? check.http.name : check.prometheus.name;
    const run = (runs.get(name) ?? 0) + 1;
    runs.set(name, run);
    const given = answer(check, run);
    const at = new Date().toISOString();
    if (typeof given !== 'boolean') return { ...given, at };
    return { name, kind: check.kind, ok: given, detail: given ? 'ok' : 'failed as the test said', at };
  };
  const health = {
    runHealthCheck,
    /**
     * The real soak's rounds on a counted clock: the test server skips no time while an activity
     * runs, so the intervals from the server's time of scheduling to `until` are counted, not slept.
     */
    async runSoak(input: SoakInput): Promise<SoakResult> {
      let now = Context.current().info.currentAttemptScheduledTimestampMs;
      let outcomes: CheckOutcome[] = [];
      let rounds = 0;
      do {
        now += Math.max(0, Math.min(input.intervalMs, input.until - now));
        outcomes = await Promise.all(input.checks.map(runHealthCheck));
        rounds++;
        if (outcomes.some((o) => !o.ok)) return { outcomes, failed: true, rounds };
      } while (now < input.until);
      return { outcomes, failed: false, rounds };
    },
  } satisfies HealthActivities;
  const report = {
    async reportRolloutEvent(event: RolloutEvent) {
      if (event.kind === 'outcome') await running.settleOthers();
    },
  } satisfies RolloutReportActivities;
  const request = {
    async requestRollout(ask: RolloutAsk) {
      return {
        rolloutId: rolloutWorkflowId(ask.pipeline, ask.image, ask.digest, testInstance),
        pipelineWorkflowId: pipelineWorkflowId(testInstance, ask.pipeline),
      };
    },
  } satisfies RolloutRequestActivities;
  // The watch is not under test here; its one activity sees no change.
  const watch = {
    async checkImages(_input: CheckImagesInput) {
      return { changes: [], bases: [], failures: [] };
    },
  } satisfies WatchActivities;
  const notify = {
    async notify(event: NotificationEvent) {
      await replaced.notify?.(event);
      return [];
    },
  } satisfies NotifyActivities;
  // Freezes: the rollout's question is answered by the test; the freeze workflow's effects recorded only.
  const freeze = {
    async currentFreeze() {
      return replaced.freeze?.() ?? noFreeze();
    },
    async announceFreeze(_input: { instance: string; snapshot: FreezeSnapshot }) {
      return 0;
    },
    async notifyFreezeChange(_change: FreezeChange) {},
  } satisfies FreezeActivities;
  // The window math is pure: the real one.
  return {
    ...replaced.cluster.activities(),
    ...health,
    ...report,
    ...request,
    ...watch,
    ...freeze,
    ...notify,
    ...createWindowActivities(),
  };
}

function recordAll<A extends object>(
  activities: A,
  record: <I, O>(name: string, fn: (input: I) => Promise<O>) => (input: I) => Promise<O>,
): A {
  const entries = Object.entries(activities) as [string, (input: unknown) => Promise<unknown>][];
  return Object.fromEntries(entries.map(([name, fn]) => [name, record(name, fn)])) as A;
}

/** Activities whose cancellation the workflow requested, as `activityType` and input, in history order. */
export async function cancelRequestedActivities(
  handle: WorkflowHandle,
): Promise<{ activity: string; input: unknown }[]> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, { activity: string; input: unknown }>();
  const cancelled: { activity: string; input: unknown }[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s && e.eventId != null) {
      const payload = s.input?.payloads?.[0];
      scheduled.set(String(e.eventId), {
        activity: s.activityType?.name ?? '',
        input: payload ? defaultPayloadConverter.fromPayload(payload as Payload) : undefined,
      });
    }
    const c = e.activityTaskCancelRequestedEventAttributes;
    if (c?.scheduledEventId != null) {
      const found = scheduled.get(String(c.scheduledEventId));
      if (found) cancelled.push(found);
    }
  }
  return cancelled;
}

let rolloutsStarted = 0;

/** Starts a rollout workflow on the run's task queue, under an id unique in this test process. */
export function startRollout(
  run: WorkerRun,
  input: RolloutInput,
  id: { prefix: string; suffix?: string },
): Promise<WorkflowHandle<typeof rolloutWorkflow>> {
  return run.client.workflow.start<typeof rolloutWorkflow>('rolloutWorkflow', {
    taskQueue: run.taskQueue,
    workflowId: `${id.prefix}-${++rolloutsStarted}-${input.request.digest.slice(7, 15)}${id.suffix ?? ''}`,
    args: [input],
  });
}

/** Waits up to 15 s until the rollout reports the phase, and returns its status then. */
export function rolloutPhase(handle: WorkflowHandle, want: RolloutStatus['phase']): Promise<RolloutStatus> {
  return waitFor(
    `phase ${want}`,
    async () => {
      const s = await handle.query(rolloutStatusQuery);
      return s.phase === want ? s : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

async function startTimeSkipping(launcher: string): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: launcher } },
      });
    } catch (err) {
      if (attempt >= 3 || !/did not start within/.test(String(err))) throw err;
    }
  }
}
