// Operator commands on rollouts: status, approve, reject, pause, resume and abort. All of them
// talk to Temporal only; the daemon's workers do the work.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Config } from '../../config/schema.ts';
import type { ApprovalSignature, SignedDecision } from '../../workflows/approval-signature.ts';
import {
  abortSignal,
  decideUpdate,
  pauseSignal,
  type RolloutStatus,
  resumeSignal,
  rolloutStatusQuery,
  workloadName,
} from '../../workflows/rollout-messages.ts';
import { listRunningRollouts, type RolloutOverview, rolloutOverviews } from '../rollouts.ts';
import { freezeStatusLines } from './freeze.ts';
import { CliError, shortDigest, table } from './output.ts';

/** How long `status` waits for a rollout's worker to answer its status query. */
export const statusQueryTimeoutMs = 2_000;

/**
 * Running rollouts from visibility, so it answers with no worker running; each one's status
 * query adds stage, wave and what it waits for when a worker answers, and the output names the
 * rollouts whose details could not be queried.
 */
export async function statusCommand(client: Client, config: Config, json: boolean): Promise<string> {
  const rollouts = await rolloutOverviews(client, config.temporal.taskQueue, {
    queryTimeoutMs: statusQueryTimeoutMs,
  });
  if (json) return JSON.stringify(rollouts.map(statusJson), null, 2);
  const frozen = await freezeStatusLines(client, config);
  if (rollouts.length === 0) return [...frozen, 'No rollouts are running.'].join('\n');
  const rows = rollouts.map(({ status: r, ...seen }) =>
    r
      ? [
          r.rolloutId,
          r.pipeline,
          `${r.image}:${r.tag}@${shortDigest(r.digest)}`,
          r.paused ? `${r.phase} (paused)` : r.phase,
          r.stage ? `${r.stage} (${r.stageIndex + 1}/${r.stages})` : undefined,
          r.wave ? `${r.wave.index + 1}/${r.wave.total}` : undefined,
          waitingFor(r),
        ]
      : [
          seen.rolloutId,
          seen.pipeline,
          seen.image ? `${seen.image}@${shortDigest(seen.digest) ?? '?'}` : seen.summary,
          seen.phase ?? 'unknown',
          seen.stage,
          undefined,
          'details not queried',
        ],
  );
  const pending = rollouts.filter((r) => (r.status?.phase ?? r.phase) === 'awaiting-approval').length;
  return [
    ...frozen,
    table(['ROLLOUT', 'PIPELINE', 'IMAGE', 'PHASE', 'STAGE', 'WAVE', 'WAITING FOR'], rows),
    '',
    `${rollouts.length} running, ${pending} awaiting approval${pending ? ' (freshet approve ROLLOUT --by NAME)' : ''}`,
    ...rollouts.flatMap((r) => (r.status?.warnings ?? []).map((w) => `Warning: ${r.rolloutId}: ${w}`)),
    ...unqueried(rollouts),
  ].join('\n');
}

/**
 * The `--json` shape (README): what visibility says of each rollout, overlaid with its status
 * query's fields when it answered; `queried` says which, `queryError` why not.
 */
function statusJson({ status, queryError, ...seen }: RolloutOverview) {
  return status ? { ...seen, ...status, queried: true } : { ...seen, queried: false, queryError };
}

/** One line per reason, naming the rollouts whose status query failed for it. */
function unqueried(rollouts: RolloutOverview[]): string[] {
  const byReason = new Map<string, string[]>();
  for (const r of rollouts) {
    if (r.status) continue;
    const reason = r.queryError ?? 'not queried';
    byReason.set(reason, [...(byReason.get(reason) ?? []), r.rolloutId]);
  }
  return [...byReason].map(
    ([reason, ids]) =>
      `Could not query the details of ${ids.length} rollout${ids.length === 1 ? '' : 's'} (${reason}); phase and stage are from visibility: ${ids.join(', ')}`,
  );
}

function waitingFor(r: RolloutStatus): string | undefined {
  const stuck = r.rollbackStuck ?? [];
  if (stuck.length) {
    const targets = stuck.map((t) => workloadName(t)).join(', ');
    const error = stuck[0]?.error ?? '';
    return `rollback stuck since ${stuck[0]?.since}, retrying: ${targets} (${error.length > 120 ? `${error.slice(0, 117)}...` : error})`;
  }
  if (r.freeze) {
    const f = r.freeze;
    const held = r.phase === 'frozen' ? 'frozen' : 'freeze (at the next safe point)';
    return `${held} by ${f.by} since ${f.since}${f.until ? ` until ${f.until}` : ''}: ${f.reason}`;
  }
  if (r.window) return `change window opening ${r.window.opensAt ?? 'not within two weeks'}`;
  if (r.approval) {
    const who = r.approval.approvers?.length ? r.approval.approvers.join('|') : 'anyone';
    return `${r.approval.signedOnly ? 'signed ' : ''}approval by ${who} until ${r.approval.deadline}`;
  }
  const updating = r.targets.filter((t) => t.state === 'updating');
  return updating.length ? updating.map((t) => workloadName(t)).join(', ') : undefined;
}

/** Accepts a full workflow id, or any unique part of a running rollout's id. */
export async function resolveRolloutId(client: Client, config: Config, given: string): Promise<string> {
  if (given.startsWith('freshet-rollout-')) return given;
  const ids = (await listRunningRollouts(client, config.temporal.taskQueue)).map((r) => r.rolloutId);
  const matches = ids.filter((id) => id.includes(given));
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length === 0)
    throw new CliError(`no running rollout matches "${given}" (freshet status lists them)`);
  throw new CliError(`"${given}" matches ${matches.length} rollouts: ${matches.join(', ')}`);
}

export async function decideCommand(
  client: Client,
  config: Config,
  decision: 'approve' | 'reject',
  rollout: string,
  by: string,
  comment: string | undefined,
  keyFile?: string,
): Promise<string> {
  const sign = keyFile === undefined ? undefined : await loadSigner(keyFile);
  const id = await resolveRolloutId(client, config, rollout);
  const handle = client.workflow.getHandle(id);
  const name = by.trim();
  try {
    const signature = sign ? sign(await waitingDecision(handle, id, decision, name, comment)) : undefined;
    return await handle.executeUpdate(decideUpdate, {
      args: [{ decision, by: name, ...(comment ? { comment } : {}), ...(signature ? { signature } : {}) }],
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      throw new CliError(`refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    }
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no rollout ${id}`);
    throw err;
  }
}

/** Only a signed decision loads the signing code; a bad key fails before anything is sent. */
async function loadSigner(keyFile: string): Promise<(decision: SignedDecision) => ApprovalSignature> {
  const { loadSigningKey, signDecision } = await import('./approval-signing.ts');
  const key = loadSigningKey(keyFile);
  return (decision) => signDecision(decision, key);
}

/** What a signature binds, read from the rollout: the stage it waits on and since when. */
async function waitingDecision(
  handle: WorkflowHandle,
  rolloutId: string,
  decision: 'approve' | 'reject',
  by: string,
  comment: string | undefined,
): Promise<SignedDecision> {
  const status = await handle.query(rolloutStatusQuery);
  if (!status.approval) {
    throw new CliError(`refused: ${rolloutId} waits for no approval now (phase ${status.phase})`);
  }
  return {
    rolloutId,
    stage: status.approval.stage,
    digest: status.digest,
    requestedAt: status.approval.since,
    decision,
    by,
    ...(comment ? { comment } : {}),
  };
}

export async function controlCommand(
  client: Client,
  config: Config,
  action: 'pause' | 'resume' | 'abort',
  rollout: string,
  by: string | undefined,
): Promise<string> {
  const id = await resolveRolloutId(client, config, rollout);
  const handle = client.workflow.getHandle(id);
  try {
    if (action === 'pause') await handle.signal(pauseSignal);
    else if (action === 'resume') await handle.signal(resumeSignal);
    else await handle.signal(abortSignal, by ? { by } : undefined);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no running rollout ${id}`);
    throw err;
  }
  return `${action} sent to ${id}`;
}
