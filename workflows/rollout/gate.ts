// The approval gate before a stage: waits for a decision, an abort, a newer digest or the timeout.
import { condition } from '@temporalio/workflow';
import { formatDuration, pendingApproval } from '../rollout-approval.ts';
import type { Decision, StageSpec } from '../rollout-messages.ts';
import { notifyEvent } from './notify.ts';
import { type RolloutState, StageStop, setPhase } from './state.ts';

export async function awaitApproval(
  state: RolloutState,
  stage: StageSpec,
  approval: NonNullable<StageSpec['approval']>,
): Promise<void> {
  const { status } = state;
  const since = Date.now();
  state.pending = pendingApproval(stage.name, approval, {
    rolloutId: state.rolloutId,
    digest: state.input.request.digest,
    requestedAt: new Date(since).toISOString(),
  });
  state.decision = undefined;
  status.approval = {
    stage: stage.name,
    since: new Date(since).toISOString(),
    deadline: new Date(since + approval.timeoutMs).toISOString(),
    ...(state.pending.approvers ? { approvers: state.pending.approvers } : {}),
    ...(state.pending.requireSignature ? { signedOnly: true } : {}),
  };
  setPhase(state, 'awaiting-approval');
  notifyEvent(state, stage.name, {
    type: 'approval.waiting',
    deadline: status.approval.deadline,
    ...(state.pending.approvers ? { approvers: state.pending.approvers } : {}),
  });
  try {
    await condition(
      () =>
        state.decision !== undefined || state.abortedBy !== undefined || status.supersededBy !== undefined,
      approval.timeoutMs,
    );
  } finally {
    state.pending = undefined;
    delete status.approval;
  }
  if (state.abortedBy)
    throw new StageStop('aborted', 'aborted', `aborted by ${state.abortedBy} while waiting for approval`);
  // Set by a handler while the condition waited; TypeScript cannot see that.
  const made = state.decision as Decision | undefined;
  if (made) {
    notifyEvent(state, stage.name, {
      type: made.decision === 'approve' ? 'approval.approved' : 'approval.rejected',
      by: made.by,
      ...(made.comment ? { comment: made.comment } : {}),
    });
  }
  if (made?.decision === 'reject') {
    throw new StageStop(
      'rejected',
      'rejected',
      `stage ${stage.name} rejected by ${made.by}${made.comment ? `: ${made.comment}` : ''}`,
    );
  }
  if (made?.decision === 'approve') return;
  if (status.supersededBy)
    throw new StageStop('superseded', 'superseded', `superseded by ${status.supersededBy}`);
  throw new StageStop(
    'approval_timed_out',
    'approval_timed_out',
    `stage ${stage.name} was not approved within ${formatDuration(approval.timeoutMs)}; nothing was promoted`,
  );
}
