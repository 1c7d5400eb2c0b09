// The rollout's message handlers. Each message is parsed first (workflows/message-schemas.ts): a
// malformed Update is refused by its validator, a malformed Signal is ignored and recorded in the
// status, so an operator sees it and no workflow task ever fails on input.
import { log, setHandler } from '@temporalio/workflow';
import type { z } from 'zod';
import { freezeChangedSignal } from '../freeze-messages.ts';
import {
  approvalMessage,
  decisionMessage,
  freezeSnapshotMessage,
  operatorMessage,
  parseMessage,
  supersedeMessage,
} from '../message-schemas.ts';
import { refusalReason } from '../rollout-approval.ts';
import {
  abortSignal,
  approveSignal,
  type DecisionInput,
  decideUpdate,
  pauseSignal,
  rejectSignal,
  resumeSignal,
  rolloutStatusQuery,
  supersedeSignal,
} from '../rollout-messages.ts';
import { applyFreeze } from './freeze.ts';
import { now, type RolloutState, refresh } from './state.ts';

/** Ignored messages kept in the status: the newest few are enough to see what was sent. */
const ignoredKept = 20;

export function setRolloutHandlers(state: RolloutState): void {
  const { status } = state;

  const ignore = (message: string, reason: string) => {
    status.ignored = [...(status.ignored ?? []), { message, reason, at: now() }].slice(-ignoredKept);
    log.warn('message ignored', { message, reason });
    refresh(state);
  };
  /** Runs `apply` with the parsed message, or records why the message was ignored. */
  const onSignal =
    <T>(message: string, schema: z.ZodType<T>, apply: (value: T) => void) =>
    (...args: unknown[]) => {
      const parsed = parseMessage(schema, args[0]);
      if (parsed.ok) apply(parsed.value);
      else ignore(message, parsed.reason);
    };

  const decide = (d: DecisionInput): string | undefined => {
    const reason = refusalReason(d, state.pending);
    if (reason) {
      status.refused.push({ by: d.by, reason, at: now() });
      if (status.refused.length > ignoredKept) status.refused.splice(0, status.refused.length - ignoredKept);
      log.warn('approval refused', { by: d.by, reason });
      refresh(state);
      return reason;
    }
    state.decision = {
      stage: state.pending?.stage ?? '',
      decision: d.decision,
      by: d.by,
      ...(d.comment ? { comment: d.comment } : {}),
      at: now(),
    };
    status.decisions.push(state.decision);
    return undefined;
  };

  setHandler(
    approveSignal,
    onSignal('approve', approvalMessage, (a) => void decide({ ...a, decision: 'approve' })),
    { description: 'Approve the stage waiting for approval: {"by": "name", "comment": "…"}' },
  );
  setHandler(
    rejectSignal,
    onSignal('reject', approvalMessage, (a) => void decide({ ...a, decision: 'reject' })),
    { description: 'Reject the stage waiting for approval: {"by": "name", "comment": "…"}' },
  );
  setHandler(
    decideUpdate,
    (d) => {
      // The validator accepted it, so it parses.
      const parsed = decisionMessage.parse(d);
      decide(parsed);
      return `${parsed.decision === 'approve' ? 'approved' : 'rejected'} stage ${state.decision?.stage} by ${parsed.by}`;
    },
    {
      validator: (d) => {
        const parsed = parseMessage(decisionMessage, d);
        const reason = parsed.ok ? refusalReason(parsed.value, state.pending) : parsed.reason;
        if (!reason) return;
        // The refusal is for the operator: no stack trace of the worker's code with it.
        const refusal = new Error(reason);
        refusal.stack = `Error: ${reason}`;
        throw refusal;
      },
      description:
        'Approve or reject with a visible error when refused: {"decision": "approve", "by": "name"}',
    },
  );
  setHandler(
    pauseSignal,
    onSignal('pause', operatorMessage, () => {
      status.paused = true;
      refresh(state);
    }),
    { description: 'Hold before the next wave or check: nothing, or {"by": "name"}' },
  );
  setHandler(
    resumeSignal,
    onSignal('resume', operatorMessage, () => {
      status.paused = false;
      refresh(state);
    }),
    { description: 'Go on after pause: nothing, or {"by": "name"}' },
  );
  setHandler(
    abortSignal,
    onSignal('abort', operatorMessage, (a) => {
      const by = a?.by || 'an operator';
      // While a rollback is stuck, an abort gives that rollback up (an operator takes over).
      if (status.phase === 'rollback-stuck') {
        state.rollbackAbandonedBy = by;
        for (const scope of state.stuckScopes) scope.cancel();
        return;
      }
      state.abortedBy = by;
      state.activeScope?.cancel();
    }),
    {
      description:
        'Stop now and roll back the current stage: {"by": "name"}; while rollback-stuck, stop retrying the rollback',
    },
  );
  setHandler(
    supersedeSignal,
    onSignal('supersede', supersedeMessage, (s) => {
      status.supersededBy = s.rolloutId;
      refresh(state);
    }),
    { description: 'A newer digest waits; stop at the next safe point' },
  );
  setHandler(
    freezeChangedSignal,
    onSignal('freezeChanged', freezeSnapshotMessage, (snapshot) => applyFreeze(state, snapshot)),
    { description: 'Sent by the freeze workflow: the freezes in force (freshet freeze, freshet unfreeze)' },
  );
  setHandler(rolloutStatusQuery, () => status, { description: 'Stage, wave, targets and checks' });
}
