// One freeze workflow per Freshet deployment holds every freeze in force. Operators change it by
// Update (`freshet freeze`, `freshet unfreeze`), each parsed by its validator; after each change
// it tells the running rollouts (one activity signals them all) and hands each change to the
// notification activity. A freeze with `until` lifts itself on a timer. It continues as new
// before its history grows long, carrying the state.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { FreezeActivities } from '../activities/freeze/index.ts';
import {
  type Freeze,
  type FreezeChange,
  type FreezeInput,
  type FreezeSnapshot,
  freezeStatusQuery,
  freezeUpdate,
  noFreeze,
  unfreezeUpdate,
} from './freeze-messages.ts';
import { freezeRequestMessage, parseMessage, unfreezeRequestMessage } from './message-schemas.ts';

const maxHistoryEvents = 2_000;

const { announceFreeze, notifyFreezeChange } = proxyActivities<FreezeActivities>({
  // Listing and signalling every running rollout, twice (see announceFreeze).
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** The refusal an operator reads: no stack trace of the worker's code with it. */
function refuse(reason: string): never {
  const refusal = new Error(reason);
  refusal.stack = `Error: ${reason}`;
  throw refusal;
}

export async function freezeWorkflow(input: FreezeInput): Promise<void> {
  const snapshot: FreezeSnapshot = input.snapshot ?? noFreeze();
  const changes: FreezeChange[] = [];
  const now = () => new Date(Date.now()).toISOString();

  const change = (c: Omit<FreezeChange, 'at'>) => {
    changes.push({ ...c, at: now() });
    snapshot.version += 1;
    log.info('freeze changed', { kind: c.kind, pipeline: c.pipeline ?? '(every pipeline)', by: c.by });
  };

  setHandler(
    freezeUpdate,
    (request) => {
      const r = freezeRequestMessage.parse(request);
      const freeze: Freeze = {
        reason: r.reason,
        by: r.by,
        since: now(),
        ...(r.until ? { until: r.until } : {}),
      };
      if (r.pipeline) snapshot.pipelines[r.pipeline] = freeze;
      else snapshot.all = freeze;
      change({ kind: 'frozen', ...(r.pipeline ? { pipeline: r.pipeline } : {}), freeze, by: r.by });
      return snapshot;
    },
    {
      validator: (request) => {
        const parsed = parseMessage(freezeRequestMessage, request);
        if (!parsed.ok) refuse(parsed.reason);
        if (parsed.value.until && Date.parse(parsed.value.until) <= Date.now())
          refuse(`until ${parsed.value.until} has passed; give a later time or leave it out`);
      },
      description:
        'Stop every rollout at its next safe point and start none: {"reason": "…", "by": "name", "pipeline"?: "…", "until"?: "ISO time"}',
    },
  );
  setHandler(
    unfreezeUpdate,
    (request) => {
      const r = unfreezeRequestMessage.parse(request);
      const lifted: [string | undefined, Freeze][] = r.pipeline
        ? snapshot.pipelines[r.pipeline]
          ? [[r.pipeline, snapshot.pipelines[r.pipeline] as Freeze]]
          : []
        : [
            ...(snapshot.all ? [[undefined, snapshot.all] as [undefined, Freeze]] : []),
            ...Object.entries(snapshot.pipelines),
          ];
      for (const [pipeline, freeze] of lifted) {
        if (pipeline) delete snapshot.pipelines[pipeline];
        else delete snapshot.all;
        change({ kind: 'unfrozen', ...(pipeline ? { pipeline } : {}), freeze, by: r.by });
      }
      return snapshot;
    },
    {
      validator: (request) => {
        const parsed = parseMessage(unfreezeRequestMessage, request);
        if (!parsed.ok) refuse(parsed.reason);
      },
      description: 'Lift a freeze: {"by": "name", "pipeline"?: "…"} (no pipeline: every freeze)',
    },
  );
  setHandler(freezeStatusQuery, () => snapshot, { description: 'Every freeze in force' });

  /** Lifts the freezes whose `until` has come. */
  const expire = () => {
    const due = (f: Freeze | undefined) => f?.until !== undefined && Date.parse(f.until) <= Date.now();
    if (snapshot.all && due(snapshot.all)) {
      const freeze = snapshot.all;
      delete snapshot.all;
      change({ kind: 'expired', freeze });
    }
    for (const [pipeline, freeze] of Object.entries(snapshot.pipelines)) {
      if (!due(freeze)) continue;
      delete snapshot.pipelines[pipeline];
      change({ kind: 'expired', pipeline, freeze });
    }
  };
  const nextExpiry = () =>
    [snapshot.all, ...Object.values(snapshot.pipelines)]
      .flatMap((f) => (f?.until ? [Date.parse(f.until)] : []))
      .reduce<number | undefined>((a, b) => (a === undefined || b < a ? b : a), undefined);

  for (;;) {
    expire();
    if (changes.length > 0) {
      const told = changes.splice(0);
      for (const c of told) await notifyFreezeChange(c);
      await announceFreeze({
        instance: input.instance,
        snapshot: JSON.parse(JSON.stringify(snapshot)) as FreezeSnapshot,
      });
      continue;
    }
    if (workflowInfo().historyLength > maxHistoryEvents || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (changes.length === 0)
        await continueAsNew<typeof freezeWorkflow>({ instance: input.instance, snapshot });
      continue;
    }
    const expiry = nextExpiry();
    await condition(
      () => changes.length > 0,
      expiry === undefined ? undefined : Math.max(1, expiry - Date.now()),
    );
  }
}
