// A stage with requireSignature on the time-skipping test server, with the real workflow bundle:
// the Ed25519 verification runs inside the workflow sandbox. An unsigned approve signal (as the
// UI sends it) is recorded as refused and promotes nothing, an unsigned or wrongly signed decide
// Update is refused with its reason, and a signature by the listed key promotes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../../config/approver-keys.ts';
import { loadSigningKey, signDecision } from '../../../worker/cli/approval-signing.ts';
import type { rolloutWorkflow } from '../../../workflows/rollout.ts';
import {
  approveSignal,
  decideUpdate,
  type RolloutStatus,
  rolloutStatusQuery,
} from '../../../workflows/rollout-messages.ts';
import { clusterWith, imageOf, rolloutInput, stage } from '../../support/rollout-input.ts';
import { waitFor } from '../../support/wait.ts';
import { startWorkflowEnv, type WorkflowEnv } from '../../support/workflow-env.ts';

const keys = fileURLToPath(new URL('../../fixtures/approver-keys/', import.meta.url));
const alicePublicKey = ed25519PublicKey(readFileSync(`${keys}alice.pub`, 'utf8'));

let wf: WorkflowEnv;
beforeAll(async () => {
  wf = await startWorkflowEnv();
}, 120_000);
afterAll(async () => {
  await wf?.teardown();
});

async function awaitingApproval(handle: WorkflowHandle): Promise<RolloutStatus> {
  return waitFor(
    'awaiting-approval',
    async () => {
      const s = await handle.query(rolloutStatusQuery);
      return s.phase === 'awaiting-approval' ? s : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((err as WorkflowUpdateFailedError).cause as Error).message;
}

describe('signed approvals in the rollout workflow (time-skipping test server)', { timeout: 30_000 }, () => {
  it('refuses unsigned and wrongly signed decisions and promotes on the listed key', async () => {
    const cluster = clusterWith({ stg: ['web-1'], prd: ['web-1'] });
    const input = rolloutInput('5', [
      stage('staging', 'stg', ['web-1']),
      stage('production', 'prd', ['web-1'], {
        approval: {
          timeoutMs: 3_600_000,
          approvers: ['alice'],
          keys: [{ name: 'alice', publicKey: alicePublicKey }],
          requireSignature: true,
        },
      }),
    ]);
    const result = await wf.withWorker({ cluster }, async (run) => {
      const handle = await run.client.workflow.start<typeof rolloutWorkflow>('rolloutWorkflow', {
        taskQueue: run.taskQueue,
        workflowId: `signed-approval-${Date.now()}`,
        args: [input],
      });
      const waiting = await awaitingApproval(handle);
      expect(waiting.approval?.signedOnly).toBe(true);

      await handle.signal(approveSignal, { by: 'alice' });
      const refused = await waitFor('the signal to be refused', async () => {
        const s = await handle.query(rolloutStatusQuery);
        return s.refused.length > 0 ? s : undefined;
      });
      expect(refused.refused.map((r) => r.reason)).toEqual([
        'stage production takes signed decisions only: freshet approve ROLLOUT --by NAME --key FILE',
      ]);
      expect(refused.decisions).toEqual([]);

      const unsigned = handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: 'alice' }] });
      expect(await refusal(unsigned)).toMatch(/takes signed decisions only/);

      const decision = {
        rolloutId: handle.workflowId,
        stage: 'production',
        digest: input.request.digest,
        requestedAt: waiting.approval?.since ?? '',
        decision: 'approve' as const,
        by: 'alice',
      };
      const wrongKey = signDecision(decision, loadSigningKey(`${keys}bob`));
      const wrong = handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', by: 'alice', signature: wrongKey }],
      });
      expect(await refusal(wrong)).toMatch(/^the signature is not alice's for this decision/);
      expect(cluster.patches.map((p) => p.target)).toEqual(['stg/web-1/app']);

      const signature = signDecision(decision, loadSigningKey(`${keys}alice.key`));
      const answer = await handle.executeUpdate(decideUpdate, {
        args: [{ decision: 'approve', by: 'alice', signature }],
      });
      expect(answer).toBe('approved stage production by alice');
      return handle.result();
    });
    expect(result.outcome).toBe('succeeded');
    expect(result.decisions).toMatchObject([{ stage: 'production', decision: 'approve', by: 'alice' }]);
    expect(cluster.image('prd', 'web-1', 'app')).toBe(imageOf('5'));
  });
});
