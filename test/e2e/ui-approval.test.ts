// An operator approves a rollout from the Temporal Web UI (the dev server's ui-server 2.42), in
// headless Chromium: the workflow's page shows what the rollout waits for, the Signal `approve`
// sent from the "Send a Signal" dialog promotes it, and the Update `decide` shows the validator's
// refusal of a non-approver in the "Send an Update" dialog before an approver's Update succeeds.
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { rolloutStatusQuery } from '../../workflows/rollout-messages.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
/** Loads of the UI (and its calls to the server) take seconds on a busy machine. */
const uiTimeoutMs = 30_000;
/** A fixture, a rollout through staging, the UI and production: more than the e2e default on a busy machine. */
const testTimeoutMs = 240_000;

let browser: TestBrowser | undefined;
let page: Page | undefined;
let fx: RolloutFixture | undefined;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && page) {
    // What the UI showed when the test failed, for whoever reads the log.
    const dir = join(tmpdir(), 'freshet-ui-approval');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${ctx.task.name.replace(/[^a-z0-9]+/gi, '-')}-${Date.now()}.png`);
    await page.screenshot({ path: file, fullPage: true }).then(
      () => console.error(`[ui-approval] screenshot of the failed test: ${file}`),
      () => undefined,
    );
  }
  await page?.close().catch(() => undefined);
  page = undefined;
  await fx?.close();
  fx = undefined;
});
afterAll(async () => {
  await browser?.close();
});

/** A rollout whose production stage waits for alice's approval. */
async function rolloutAwaitingApproval() {
  fx = await createRolloutFixture(stack, { approval: '{ timeout: 1h, approvers: [alice] }' });
  const f = fx;
  const id = await f.request(await f.push());
  const status = await waitFor(
    `${id} to wait for approval`,
    async () => {
      const st = await f.client.workflow.getHandle(id).query(rolloutStatusQuery);
      return st.phase === 'awaiting-approval' ? st : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  return { f, id, status };
}

/** The workflow's page; the UI sends a bare workflow id on to its latest run's history. */
async function openWorkflow(id: string): Promise<Page> {
  if (!browser) throw new Error('no browser');
  page = await browser.context.newPage();
  page.setDefaultTimeout(uiTimeoutMs);
  page.setDefaultNavigationTimeout(uiTimeoutMs);
  const url = `${stack.temporal.ui}/namespaces/${stack.temporal.namespace}/workflows/${encodeURIComponent(id)}`;
  await page.goto(url);
  await page.waitForURL(/\/workflows\/[^/]+\/[0-9a-f-]{36}\/history/);
  await page.getByRole('button', { name: 'More Actions' }).waitFor();
  return page;
}

/** The Markdown under one of the tab "User Metadata"'s headings. */
function markdownUnder(p: Page, heading: 'Summary' | 'Details' | 'Current Details'): FrameLocator {
  return p
    .getByRole('heading', { name: heading, exact: true })
    .locator('xpath=following::iframe[1]')
    .contentFrame();
}

async function openAction(p: Page, action: 'Send a Signal' | 'Send an Update'): Promise<Locator> {
  await p.getByRole('button', { name: 'More Actions' }).click();
  await p.getByRole('menuitem', { name: action }).click();
  const dialog = p.getByRole('dialog', { name: action });
  await dialog.waitFor();
  return dialog;
}

/** Picks a handler by name in the dialog's select; its options come from the workflow's metadata. */
async function choose(
  p: Page,
  dialog: Locator,
  select: 'Select a signal' | 'Select an Update',
  name: string,
) {
  await dialog.getByRole('button', { name: select }).click();
  await dialog
    .getByRole('option')
    .filter({ has: p.getByText(name, { exact: true }) })
    .click();
  await dialog.getByRole('button', { name, exact: true }).waitFor();
}

/** Types the JSON input into the dialog's code editor and submits. */
async function submitJson(dialog: Locator, json: string) {
  // The "Data" field is a CodeMirror editor: a contenteditable textbox, not an <input>.
  const editor = dialog.getByRole('textbox').and(dialog.locator('[contenteditable="true"]'));
  await editor.fill(json);
  const submit = dialog.getByRole('button', { name: 'Submit' });
  // Leaving the editor pretty-prints the JSON, which moves the dialog's buttons: with the mouse
  // down on Submit, the editor lost focus and the click was lost. Leave it first; the click then
  // waits for the button to stand still.
  await submit.focus();
  await submit.click();
}

describe('approving a rollout from the Temporal Web UI', () => {
  it(
    'shows what the rollout waits for, and the Signal approve sent from the UI promotes it',
    async () => {
      const { f, id, status } = await rolloutAwaitingApproval();
      const p = await openWorkflow(id);

      // The summary and details that the rollout sets for the UI, on the tab "User Metadata".
      await p.getByRole('tab', { name: 'User Metadata' }).click();
      await p.waitForURL(/\/user-metadata$/);
      // The UI renders each Markdown text in its own iframe, after the section's heading.
      const summary = markdownUnder(p, 'Summary').getByText(`${f.repository}:${status.tag} @`);
      expect(await summary.textContent()).toBe(
        `${f.repository}:${status.tag} @${status.digest.slice(7, 19)} → ${f.pipeline}`,
      );
      await markdownUnder(p, 'Details').getByText(`${f.pipeline}: staging → production`).waitFor();
      const current = markdownUnder(p, 'Current Details');
      await current.getByText('Phase: awaiting-approval').waitFor();
      const waiting = current.locator('p', {
        has: current.getByText('Waiting for approval', { exact: true }),
      });
      expect(await waiting.textContent()).toMatch(
        /Waiting for approval of stage production until .*Approvers: alice\./,
      );
      await current.getByText('To approve, send the Signal approve').waitFor();

      const dialog = await openAction(p, 'Send a Signal');
      await choose(p, dialog, 'Select a signal', 'approve');
      await submitJson(dialog, '{"by": "alice", "comment": "from the UI"}');
      // The dialog closes on success; its toast may be gone again on a slow machine, so the
      // proof is the workflow's own record below.
      await dialog.waitFor({ state: 'hidden' });

      const result = await f.result(id);
      expect(result.outcome).toBe('succeeded');
      expect(result.decisions).toHaveLength(1);
      expect(result.decisions[0]).toEqual({
        by: 'alice',
        comment: 'from the UI',
        decision: 'approve',
        stage: 'production',
        at: expect.any(String),
      });
    },
    testTimeoutMs,
  );

  it(
    "the Update decide shows a non-approver the validator's refusal; an approver's Update promotes",
    async () => {
      const { f, id } = await rolloutAwaitingApproval();
      const p = await openWorkflow(id);

      const dialog = await openAction(p, 'Send an Update');
      await choose(p, dialog, 'Select an Update', 'decide');
      await submitJson(dialog, '{"decision": "approve", "by": "mallory"}');
      // The validator's error, in the dialog, which stays open for another try.
      const refusal = dialog.getByRole('alert');
      await refusal.waitFor();
      expect(await refusal.textContent()).toContain(
        '"mallory" may not decide on stage production (approvers: alice)',
      );
      const refused = await f.client.workflow.getHandle(id).query(rolloutStatusQuery);
      expect(refused.phase).toBe('awaiting-approval');
      expect(refused.decisions).toEqual([]);

      // The same dialog, with an approver's name.
      await submitJson(dialog, '{"decision": "approve", "by": "alice"}');
      await dialog.waitFor({ state: 'hidden' });

      const result = await f.result(id);
      expect(result.outcome).toBe('succeeded');
      expect(result.decisions).toEqual([
        { by: 'alice', decision: 'approve', stage: 'production', at: expect.any(String) },
      ]);
    },
    testTimeoutMs,
  );
});
