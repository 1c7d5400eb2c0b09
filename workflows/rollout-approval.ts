// Approval rules of the rollout workflow, as pure functions so they are unit-tested without a
// server and shared by the signal handlers and the Update validator.
import type { DecisionInput } from './rollout-messages.ts';

export interface PendingApproval {
  stage: string;
  approvers?: string[];
}

/** Why a decision cannot be accepted now, or undefined when it can. */
export function refusalReason(
  input: DecisionInput,
  pending: PendingApproval | undefined,
): string | undefined {
  if (typeof input?.by !== 'string' || input.by.trim() === '') {
    return 'say who decides: {"by": "your-name", "comment": "…"}';
  }
  if (input.decision !== 'approve' && input.decision !== 'reject') {
    return `decision must be "approve" or "reject", not ${JSON.stringify(input.decision)}`;
  }
  if (!pending) return 'no approval is pending for this rollout right now';
  const approvers = pending.approvers ?? [];
  if (approvers.length > 0 && !approvers.includes(input.by.trim())) {
    return `"${input.by}" may not decide on stage ${pending.stage} (approvers: ${approvers.join(', ')})`;
  }
  return undefined;
}

export { formatDuration } from '../config/duration.ts';
