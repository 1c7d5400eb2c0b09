// Signed approvals end to end: a production stage with requireSignature takes only decisions
// that `freshet approve --key` signed with the approver's listed Ed25519 key. An unsigned CLI
// approval is refused with its reason, an approve signal as the Temporal UI sends it is recorded
// as refused and changes nothing, a signature made with another key is refused, and the right
// key promotes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { approveSignal, rolloutStatusQuery } from '../../workflows/rollout-messages.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const cli = fileURLToPath(new URL('../../worker/cli/main.ts', import.meta.url));
const keys = fileURLToPath(new URL('../fixtures/approver-keys/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'freshet-signed-'));
let fx: RolloutFixture;
let configPath: string;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, ...fx.env, FRESHET_CONFIG: configPath } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('signed approvals on a stage with requireSignature', () => {
  beforeAll(async () => {
    fx = await createRolloutFixture(stack, {
      approval: `{ timeout: 1h, requireSignature: true, approvers: [ { name: alice, publicKeyFile: "${keys}alice.pub" } ] }`,
    });
    configPath = join(dir, 'freshet.yaml');
    writeFileSync(configPath, fx.yaml);
  });
  afterAll(async () => {
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses unsigned and wrongly signed decisions, records the UI signal, and promotes with the key', async () => {
    const rebuilt = await fx.push();
    const id = await fx.request(rebuilt);
    const handle = fx.client.workflow.getHandle(id);
    const waiting = await waitFor(
      `${id} to wait for approval`,
      async () => {
        const st = await handle.query(rolloutStatusQuery);
        return st.phase === 'awaiting-approval' ? st : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(waiting.approval).toMatchObject({ stage: 'production', approvers: ['alice'], signedOnly: true });
    const listed = await run(['status']);
    expect(listed.stdout).toContain('signed approval by alice until');

    const unsigned = await run(['approve', id, '--by', 'alice']);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain(
      'refused: stage production takes signed decisions only: freshet approve ROLLOUT --by NAME --key FILE',
    );

    // The Temporal UI sends the plain signal: it carries no signature.
    await handle.signal(approveSignal, { by: 'alice', comment: 'from the UI' });
    const refused = await waitFor('the UI approval to be recorded as refused', async () => {
      const st = await handle.query(rolloutStatusQuery);
      return st.refused.length > 0 ? st : undefined;
    });
    expect(refused.refused).toEqual([
      {
        by: 'alice',
        reason: 'stage production takes signed decisions only: freshet approve ROLLOUT --by NAME --key FILE',
        at: expect.any(String),
      },
    ]);
    expect(refused.phase).toBe('awaiting-approval');
    expect(refused.decisions).toEqual([]);
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => fx.baseline.reference),
    );

    // bob's key is a valid Ed25519 key, but not the one listed for alice.
    const wrongKey = await run(['approve', id, '--by', 'alice', '--key', `${keys}bob`]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(
      /^refused: the signature is not alice's for this decision \(approve stage production/,
    );

    const approved = await run([
      'approve',
      id,
      '--by',
      'alice',
      '--key',
      `${keys}alice.key`,
      '--comment',
      'signed',
    ]);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain('approved stage production by alice');

    const result = await fx.result(id);
    expect(result.outcome).toBe('succeeded');
    expect(result.decisions).toEqual([
      { stage: 'production', decision: 'approve', by: 'alice', comment: 'signed', at: expect.any(String) },
    ]);
    expect(Object.values(await fx.images(fx.production))).toEqual(
      fx.deployments.map(() => rebuilt.reference),
    );
    // Verifying in the workflow sandbox never failed a workflow task.
    const history = await handle.fetchHistory();
    expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
  }, 300_000);
});
