// Reading rollouts back from Temporal: which are running, which wait for an approval. What
// visibility holds (search attributes, the start's summary) needs only the server; a rollout's
// status query needs a worker, so it only enriches what visibility says and may fail alone.
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  type RolloutStatus,
  rolloutStatusQuery,
  searchAttributeNames,
} from '../workflows/rollout-messages.ts';

/** True when the namespace knows every search attribute Freshet sets. */
export async function hasSearchAttributes(client: Client, namespace: string): Promise<boolean> {
  try {
    const res = await client.connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set(Object.keys(res.customAttributes ?? {}));
    return Object.values(searchAttributeNames).every((n) => known.has(n));
  } catch {
    return false;
  }
}

/** A running rollout as visibility records it, with its status when its workflow answered. */
export interface RolloutOverview {
  rolloutId: string;
  pipeline?: string;
  image?: string;
  /** Read from the workflow id: the digest's hex, then `@<instance>` (absent in older ids). */
  digest?: string;
  phase?: string;
  stage?: string;
  startedAt: string;
  /** The one-line summary the rollout was started with (`repository:tag @digest → pipeline`). */
  summary?: string;
  /** The workflow's answer to the status query; absent when it could not be queried. */
  status?: RolloutStatus;
  /** Why the status could not be queried (no worker answered in time, …). */
  queryError?: string;
}

const keys = {
  pipeline: defineSearchAttributeKey(searchAttributeNames.pipeline, SearchAttributeType.KEYWORD),
  image: defineSearchAttributeKey(searchAttributeNames.image, SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey(searchAttributeNames.stage, SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey(searchAttributeNames.phase, SearchAttributeType.KEYWORD),
};

const runningRollouts = (taskQueue: string) =>
  `WorkflowType = 'rolloutWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;

/** Every running rollout of the task queue, from visibility alone: works with no worker running. */
export async function listRunningRollouts(client: Client, taskQueue: string): Promise<RolloutOverview[]> {
  const out: RolloutOverview[] = [];
  for await (const wf of client.workflow.list({ query: runningRollouts(taskQueue) }))
    out.push(fromVisibility(wf));
  return out;
}

function fromVisibility(wf: WorkflowExecutionInfo): RolloutOverview {
  const attrs = wf.typedSearchAttributes;
  const hex = /-([a-f0-9]{64})(?:@[^@]+)?$/.exec(wf.workflowId)?.[1];
  const overview: RolloutOverview = { rolloutId: wf.workflowId, startedAt: wf.startTime.toISOString() };
  for (const field of ['pipeline', 'image', 'stage', 'phase'] as const) {
    const value = attrs.get(keys[field]);
    if (value) overview[field] = value;
  }
  if (hex) overview.digest = `sha256:${hex}`;
  return overview;
}

/**
 * Running rollouts from visibility, each enriched with its summary and, when a worker answers
 * within `queryTimeoutMs`, its status query; a rollout whose query fails says why instead of
 * disappearing from the list.
 */
export async function rolloutOverviews(
  client: Client,
  taskQueue: string,
  options: { queryTimeoutMs: number },
): Promise<RolloutOverview[]> {
  const listed = await listRunningRollouts(client, taskQueue);
  return Promise.all(
    listed.map(async (overview) => {
      const handle = client.workflow.getHandle(overview.rolloutId);
      const deadline = () => Date.now() + options.queryTimeoutMs;
      const [summary, status] = await Promise.all([
        client
          .withDeadline(deadline(), async () => (await handle.describe()).staticSummary())
          .catch(() => undefined),
        client
          .withDeadline(deadline(), () => handle.query(rolloutStatusQuery))
          .then(
            (value) => ({ value }),
            (err: unknown) => ({ error: queryFailure(err, options.queryTimeoutMs) }),
          ),
      ]);
      return {
        ...overview,
        ...(summary ? { summary } : {}),
        ...('value' in status ? { status: status.value } : { queryError: status.error }),
      };
    }),
  );
}

/**
 * A query that no worker takes fails fast when the server knows none polls (FAILED_PRECONDITION),
 * else runs into its deadline: say what both usually mean.
 */
function queryFailure(err: unknown, timeoutMs: number): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code ?? (err as { code?: unknown }).code;
  const message = [err, cause]
    .filter((e): e is Error => e instanceof Error)
    .map((e) => e.message)
    .join(': ');
  // The deadline shows as DEADLINE_EXCEEDED, or as CANCELLED when the client gives the call up.
  if (code === 4 || code === 1 || /DEADLINE_EXCEEDED|CANCELLED/.test(message)) {
    return `no worker answered within ${timeoutMs / 1000}s; is the daemon running?`;
  }
  if (code === 9 && /no poller/i.test(message))
    return 'no worker polls the task queue; is the daemon running?';
  return message || String(err);
}

/** The status of every running rollout on the task queue (queried from their workflows). */
export async function activeRollouts(client: Client, taskQueue: string): Promise<RolloutStatus[]> {
  const out: RolloutStatus[] = [];
  for await (const wf of client.workflow.list({ query: runningRollouts(taskQueue) })) {
    const status = await client.workflow
      .getHandle(wf.workflowId, wf.runId)
      .query(rolloutStatusQuery)
      .catch(() => undefined);
    if (status) out.push(status);
  }
  return out;
}

export interface PendingApprovalCount {
  pipeline: string;
  stage: string;
  count: number;
}

export async function countPendingApprovals(
  client: Client,
  taskQueue: string,
  searchAttributes: boolean,
): Promise<PendingApprovalCount[]> {
  const counts = new Map<string, PendingApprovalCount>();
  const add = (pipeline: string, stage: string) => {
    const key = `${pipeline}\u0000${stage}`;
    const c = counts.get(key) ?? { pipeline, stage, count: 0 };
    c.count++;
    counts.set(key, c);
  };
  if (searchAttributes) {
    const query =
      `WorkflowType = 'rolloutWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}' ` +
      `AND ${searchAttributeNames.phase} = 'awaiting-approval'`;
    for await (const wf of client.workflow.list({ query })) {
      const attrs = wf.searchAttributes as Record<string, unknown[] | undefined>;
      const pipeline = String(attrs[searchAttributeNames.pipeline]?.[0] ?? 'unknown');
      const stage = String(attrs[searchAttributeNames.stage]?.[0] ?? 'unknown');
      add(pipeline, stage);
    }
  } else {
    for (const s of await activeRollouts(client, taskQueue)) {
      if (s.phase === 'awaiting-approval' && s.approval) add(s.pipeline, s.approval.stage);
    }
  }
  return [...counts.values()];
}
