// What an operator reads in the Temporal UI: a one-line summary and Markdown details of the
// current stage, wave and what the rollout waits for. Pure, so the text is unit-tested.
import { type RolloutRequest, type RolloutStatus, workloadName } from './rollout-messages.ts';

const shortDigest = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** At most 200 bytes (the UI's limit for a summary). */
export function rolloutSummary(request: RolloutRequest): string {
  const text = `${request.repository}:${request.tag} @${shortDigest(request.digest)} → ${request.pipeline}`;
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

export function rolloutStaticDetails(request: RolloutRequest, stages: string[]): string {
  return [
    `**Image** \`${request.registryHost}/${request.repository}:${request.tag}\``,
    `**Digest** \`${request.digest}\``,
    `**Pipeline** ${request.pipeline}: ${stages.join(' → ')}`,
    `**Trigger** ${request.trigger}, detected ${request.detectedAt}`,
  ].join('\n\n');
}

const maxTargetsListed = 40;

export function rolloutCurrentDetails(status: RolloutStatus): string {
  const lines: string[] = [];
  const stage = status.stage ? `Stage ${status.stageIndex + 1} of ${status.stages}: **${status.stage}**` : '';
  const wave = status.wave ? `, wave ${status.wave.index + 1} of ${status.wave.total}` : '';
  lines.push(`### ${status.outcome ? `Finished: ${status.outcome}` : `Phase: ${status.phase}`}`);
  if (stage)
    lines.push('', `${stage}${wave}${status.paused ? ' — **paused** (signal `resume` to go on)' : ''}`);
  if (status.reason) lines.push('', `> ${status.reason}`);
  if (status.approval && !status.outcome) {
    const who = status.approval.approvers?.length
      ? ` Approvers: ${status.approval.approvers.join(', ')}.`
      : '';
    lines.push(
      '',
      `**Waiting for approval** of stage **${status.approval.stage}** until ${status.approval.deadline}.${who}`,
      '',
      status.approval.signedOnly
        ? 'This stage takes **signed decisions only**: approve or reject signals without a signature, such as ' +
            'this UI sends, are refused and listed under `refused` in the `status` query. From a shell: ' +
            `\`freshet approve ${status.rolloutId} --by your-name --key your-private-key\` (or \`freshet reject\`).`
        : 'To approve, send the Signal `approve` with `{"by": "your-name", "comment": "why"}`, or the Update ' +
            '`decide` with `{"decision": "approve", "by": "your-name"}` (it shows an error if you may not approve). ' +
            'To refuse, the Signal `reject` with the same input. From a shell: ' +
            `\`freshet approve ${status.rolloutId} --by your-name\`.`,
    );
  }
  if (status.freeze && !status.outcome) {
    const f = status.freeze;
    lines.push(
      '',
      `**Frozen** (${f.scope === 'all' ? 'every pipeline' : `pipeline ${status.pipeline}`}) by ${f.by} since ${f.since}` +
        `${f.until ? ` until ${f.until}` : ''}: ${f.reason.slice(0, 300)}`,
      '',
      status.phase === 'frozen'
        ? 'Held at a safe point; no wave starts until the freeze is lifted'
        : 'Stops at its next safe point (after the running wave and its checks)',
      `(\`freshet unfreeze${f.scope === 'pipeline' ? ` --pipeline ${status.pipeline}` : ''}\`).`,
    );
  }
  if (status.window && !status.outcome) {
    lines.push(
      '',
      `**Waiting for a change window**: the next opens ${status.window.opensAt ?? 'not within two weeks'}` +
        ` (windows: ${status.window.windows.join('; ')}).`,
    );
  }
  if (status.rollbackStuck?.length) {
    const first = status.rollbackStuck[0];
    lines.push(
      '',
      `**Rollback stuck** since ${first?.since}: ${status.rollbackStuck.length} target${status.rollbackStuck.length === 1 ? '' : 's'} cannot be patched back yet` +
        ` (${first ? workloadName(first) : ''}: ${first?.error.slice(0, 300)}).` +
        ' Freshet keeps retrying. Fix the cause (RBAC, credentials, the cluster), or send the Signal `abort`' +
        ` to stop retrying and take over by hand (\`freshet abort ${status.rolloutId} --by your-name\`).`,
    );
  }
  if (status.warnings?.length) {
    lines.push('', ...status.warnings.slice(0, 5).map((w) => `**Warning** ${w.slice(0, 400)}`));
    if (status.warnings.length > 5) lines.push(`… and ${status.warnings.length - 5} more (query \`status\`)`);
  }
  const ignored = status.ignored?.at(-1);
  if (ignored)
    lines.push('', `Last ignored message: \`${ignored.message}\`: ${ignored.reason.slice(0, 200)}`);
  if (status.refused.length > 0) {
    const last = status.refused[status.refused.length - 1];
    if (last) lines.push('', `Last refused decision: ${last.by}: ${last.reason}`);
  }
  if (status.targets.length > 0) {
    lines.push('', '| stage | target | state | detail |', '|---|---|---|---|');
    for (const t of status.targets.slice(0, maxTargetsListed)) {
      const detail = (t.detail ?? '').replace(/\|/g, '/').slice(0, 160);
      lines.push(`| ${t.stage} | ${workloadName(t)} | ${t.state} | ${detail} |`);
    }
    if (status.targets.length > maxTargetsListed)
      lines.push(`… and ${status.targets.length - maxTargetsListed} more (query \`status\`)`);
  }
  const failing = status.checks.filter((c) => !c.ok);
  if (status.checks.length > 0) {
    lines.push(
      '',
      `Checks: ${status.checks.length - failing.length}/${status.checks.length} passing` +
        (failing.length ? ` — failing: ${failing.map((c) => `${c.name} (${c.detail})`).join('; ')}` : ''),
    );
  }
  lines.push('', 'Other controls: Signals `pause`, `resume`, `abort` (rolls back the current stage).');
  return lines.join('\n');
}
