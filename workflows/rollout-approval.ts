// Approval rules of the rollout workflow, as pure functions so they are unit-tested without a
// server and shared by the signal handlers and the Update validator.
import { type ApproverKey, signatureProblem } from './approval-signature.ts';
import type { DecisionInput, StageSpec } from './rollout-messages.ts';

export interface PendingApproval {
  stage: string;
  approvers?: string[];
  /** Approvers with an Ed25519 key: such a name decides only with a valid signature. */
  keys?: ApproverKey[];
  /** Every decision must be signed; unsigned ones (the UI's signals) are refused. */
  requireSignature?: boolean;
  /** What a signature binds besides the decision; set whenever the stage lists keys. */
  signed?: { rolloutId: string; digest: string; requestedAt: string };
}

/** The approval a stage waits for, from its spec and the wait it starts at `requestedAt`. */
export function pendingApproval(
  stage: string,
  approval: NonNullable<StageSpec['approval']>,
  wait: { rolloutId: string; digest: string; requestedAt: string },
): PendingApproval {
  const signing = Boolean(approval.keys?.length || approval.requireSignature);
  return {
    stage,
    ...(approval.approvers?.length ? { approvers: approval.approvers } : {}),
    ...(approval.keys?.length ? { keys: approval.keys } : {}),
    ...(approval.requireSignature ? { requireSignature: true } : {}),
    ...(signing ? { signed: wait } : {}),
  };
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
  const by = input.by.trim();
  const approvers = pending.approvers ?? [];
  if (approvers.length > 0 && !approvers.includes(by)) {
    return `"${input.by}" may not decide on stage ${pending.stage} (approvers: ${approvers.join(', ')})`;
  }
  return signatureRefusal({ ...input, by }, pending);
}

function signatureRefusal(input: DecisionInput, pending: PendingApproval): string | undefined {
  const key = pending.keys?.find((k) => k.name === input.by);
  if (input.signature === undefined) {
    if (pending.requireSignature) {
      return `stage ${pending.stage} takes signed decisions only: freshet ${input.decision} ROLLOUT --by NAME --key FILE`;
    }
    if (key) {
      return `"${input.by}" has a public key on stage ${pending.stage}, so only a signed decision counts (--key FILE)`;
    }
    return undefined;
  }
  if (!key || !pending.signed) {
    return `stage ${pending.stage} lists no public key for "${input.by}", so the signature cannot be verified`;
  }
  return signatureProblem(
    {
      ...pending.signed,
      stage: pending.stage,
      decision: input.decision,
      by: input.by,
      ...(input.comment !== undefined ? { comment: input.comment } : {}),
    },
    input.signature,
    key,
  );
}

export { formatDuration } from '../config/duration.ts';
