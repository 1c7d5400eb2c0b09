// `freshet freeze` and `freshet unfreeze`: Updates of this deployment's freeze workflow, started
// on the first freeze (update-with-start), so a refusal (bad input, a time that has passed) comes
// back as an error and nothing changes.
import { userInfo } from 'node:os';
import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { readFreeze } from '../../activities/freeze/index.ts';
import { parseDuration } from '../../config/duration.ts';
import type { Config } from '../../config/schema.ts';
import {
  type Freeze,
  type FreezeInput,
  type FreezeSnapshot,
  freezeUpdate,
  freezeWorkflowId,
  unfreezeUpdate,
} from '../../workflows/freeze-messages.ts';
import { CliError } from './output.ts';

export interface FreezeOptions {
  pipeline?: string;
  until?: string;
  reason: string;
  by?: string;
}

/** Who acts when --by is not given: the login name. */
const actor = (by: string | undefined) => by?.trim() || process.env.USER || userInfo().username;

/** --until: a duration from now (2h, 1d) or an ISO 8601 time with its offset. */
export function parseUntil(text: string, nowMs = Date.now()): string {
  const ms = parseDuration(text);
  if (ms !== undefined && ms > 0) return new Date(nowMs + ms).toISOString();
  if (
    /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(text) &&
    !Number.isNaN(Date.parse(text))
  )
    return new Date(Date.parse(text)).toISOString();
  throw new CliError(
    `--until: expected a duration such as 2h or a time such as 2026-12-24T18:00:00Z, not "${text}"`,
    2,
  );
}

function knownPipeline(config: Config, pipeline: string | undefined): void {
  if (pipeline !== undefined && !(pipeline in config.pipelines))
    throw new CliError(
      `no pipeline named "${pipeline}" in the config (pipelines: ${Object.keys(config.pipelines).join(', ') || 'none'})`,
      2,
    );
}

export async function freezeCommand(client: Client, config: Config, opts: FreezeOptions): Promise<string> {
  knownPipeline(config, opts.pipeline);
  const request = {
    reason: opts.reason,
    by: actor(opts.by),
    ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
    ...(opts.until ? { until: parseUntil(opts.until) } : {}),
  };
  const { instance, taskQueue } = config.temporal;
  const start = new WithStartWorkflowOperation('freezeWorkflow', {
    workflowId: freezeWorkflowId(instance),
    taskQueue,
    args: [{ instance } satisfies FreezeInput],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `freezes of Freshet ${instance}`,
  });
  try {
    await client.workflow.executeUpdateWithStart(freezeUpdate, {
      args: [request],
      startWorkflowOperation: start,
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new CliError(`refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    throw err;
  }
  return (
    `froze ${opts.pipeline ? `pipeline ${opts.pipeline}` : 'every pipeline'}${request.until ? ` until ${request.until}` : ''}: ` +
    'running rollouts stop at their next safe point, new ones wait (freshet unfreeze lifts it)'
  );
}

export async function unfreezeCommand(
  client: Client,
  config: Config,
  opts: { pipeline?: string; by?: string },
): Promise<string> {
  knownPipeline(config, opts.pipeline);
  const handle = client.workflow.getHandle(freezeWorkflowId(config.temporal.instance));
  let after: FreezeSnapshot;
  try {
    after = await handle.executeUpdate(unfreezeUpdate, {
      args: [{ by: actor(opts.by), ...(opts.pipeline ? { pipeline: opts.pipeline } : {}) }],
    });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'nothing is frozen';
    if (err instanceof WorkflowUpdateFailedError)
      throw new CliError(`refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    throw err;
  }
  const left = freezeLines(after);
  return [
    `lifted the freeze of ${opts.pipeline ? `pipeline ${opts.pipeline}` : 'every pipeline'}`,
    ...(left.length ? ['Still frozen:', ...left] : []),
  ].join('\n');
}

/** One line per freeze in force, for `status` and `unfreeze`. */
export function freezeLines(snapshot: FreezeSnapshot, nowMs = Date.now()): string[] {
  const line = (what: string, f: Freeze) =>
    `  ${what}: by ${f.by} since ${f.since}${f.until ? ` until ${f.until}` : ''}: ${f.reason}`;
  const inForce = (f: Freeze) => !f.until || Date.parse(f.until) > nowMs;
  return [
    ...(snapshot.all && inForce(snapshot.all) ? [line('every pipeline', snapshot.all)] : []),
    ...Object.entries(snapshot.pipelines)
      .filter(([, f]) => inForce(f))
      .map(([p, f]) => line(`pipeline ${p}`, f)),
  ];
}

/** The freeze lines `status` prints first; a freeze workflow that cannot be queried says so. */
export async function freezeStatusLines(client: Client, config: Config): Promise<string[]> {
  try {
    const lines = freezeLines(await readFreeze(client, config.temporal.instance));
    return lines.length ? ['FROZEN (freshet unfreeze lifts it):', ...lines, ''] : [];
  } catch (err) {
    return [`Could not read the freezes: ${err instanceof Error ? err.message : String(err)}`, ''];
  }
}
