// Notifications end to end: a real daemon rolls out on the stack and the stack's receiver
// (stack/notify-receiver.ts) gets Slack-format posts and signed webhooks, verifying each
// signature. Every event of a rolled-back and of an approved rollout arrives once, with the
// image, both digests, the stage and the approver; a sink that is down holds nothing and is
// retried a bounded number of times; a wrong secret is refused by the receiver.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import type { NotificationEvent } from '../../activities/notify/events.ts';
import type { WebhookPayload } from '../../activities/notify/webhook.ts';
import type { Received } from '../../stack/notify-receiver.ts';
import { decideUpdate, rolloutStatusQuery, rolloutWorkflowId } from '../../workflows/rollout-messages.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const receiver = stack.notifyReceiver;
const dir = mkdtempSync(join(tmpdir(), 'freshet-notify-'));
let fx: RolloutFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const channel = () => `c-${randomBytes(4).toString('hex')}`;
function secretFile(name: string, value: string): string {
  const file = join(dir, name);
  writeFileSync(file, value, { mode: 0o600 });
  return file;
}
async function received(ch: string): Promise<Received> {
  const res = await fetch(`${receiver.url}/received/${ch}`);
  return (await res.json()) as Received;
}
const payloads = (r: Received) => r.webhook.map((m) => m.body as WebhookPayload);
const ofRollout = (r: Received, id: string) =>
  payloads(r).filter((p) => 'rollout' in p.event && p.event.rollout.rolloutId === id);

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function phaseOf(f: RolloutFixture, id: string, phase: string, timeoutMs = 60_000) {
  return waitFor(
    `${id} to reach ${phase}`,
    async () => {
      const st = await f.client.workflow.getHandle(id).query(rolloutStatusQuery);
      return st.phase === phase ? st : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

async function counted(f: RolloutFixture, sink: string, result: string, event?: string): Promise<number> {
  const { values } = await f.daemon.metrics.notifications.get();
  return values
    .filter(
      (v) => v.labels.sink === sink && v.labels.result === result && (!event || v.labels.event === event),
    )
    .reduce((sum, v) => sum + v.value, 0);
}

describe('notifications', () => {
  it('sends every event of a rolled-back and an approved rollout to Slack and the signed webhook, once each', async () => {
    const ch = channel();
    const slackUrl = secretFile(`slack-${ch}`, `${receiver.url}/slack/${ch}`);
    const hookSecret = secretFile(`hook-${ch}`, receiver.secret);
    fx = await createRolloutFixture(stack, {
      deployments: 2,
      approval: '{ timeout: 1h, approvers: [alice] }',
      stagingHealth: '{ rolloutTimeout: 15s }',
      notifications: `{ temporalUiUrl: "${stack.temporal.ui}", sinks: [ { name: team-slack, slack: { urlFile: "${slackUrl}" } }, { name: audit, webhook: { url: "${receiver.url}/webhook/${ch}", secretFile: "${hookSecret}" } } ] }`,
    });
    const f = fx;
    const old = f.baseline;

    const broken = await f.push({ broken: true });
    const brokenId = await f.request(broken);
    expect((await f.result(brokenId)).outcome).toBe('rolled_back');

    const good = await f.push();
    const goodId = await f.request(good);
    await phaseOf(f, goodId, 'awaiting-approval');
    await f.client.workflow
      .getHandle(goodId)
      .executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: 'alice', comment: 'ship it' }] });
    expect((await f.result(goodId)).outcome).toBe('succeeded');

    const r = await waitFor('six webhooks and six Slack posts', async () => {
      const got = await received(ch);
      return got.webhook.length >= 6 && got.slack.length >= 6 ? got : undefined;
    });
    expect(r.refused).toEqual([]);
    const reference = `${stack.registry.host}/${f.repository}:1.0`;
    const brief = (p: WebhookPayload) => {
      const e = p.event as Extract<NotificationEvent, { rollout: unknown }>;
      return [p.type, e.stage, e.rollout.reference, e.rollout.digest, e.previousImages];
    };
    expect(ofRollout(r, brokenId).map(brief)).toEqual([
      ['rollout.started', 'staging', reference, broken.digest, [old.reference]],
      ['rollout.rolled-back', 'staging', reference, broken.digest, [old.reference]],
    ]);
    const rolledBack = ofRollout(r, brokenId)[1]?.event;
    expect(rolledBack).toMatchObject({ reasonLabel: 'not_ready', reverted: 1 });
    expect((rolledBack as { reason: string }).reason).toMatch(/not ready/);

    const goodOnes = ofRollout(r, goodId);
    expect(goodOnes.map(brief)).toEqual([
      ['rollout.started', 'staging', reference, good.digest, [old.reference]],
      ['approval.waiting', 'production', reference, good.digest, [old.reference]],
      ['approval.approved', 'production', reference, good.digest, [old.reference]],
      ['rollout.succeeded', 'production', reference, good.digest, [old.reference]],
    ]);
    const waiting = goodOnes[1];
    expect(waiting?.link).toBe(
      `${stack.temporal.ui}/namespaces/default/workflows/${encodeURIComponent(goodId)}`,
    );
    expect(waiting?.commands).toContain(`freshet approve ${goodId} --by <your-name>`);
    expect(waiting?.event).toMatchObject({ approvers: ['alice'] });
    expect(goodOnes[2]?.event).toMatchObject({ by: 'alice', comment: 'ship it' });
    expect(goodOnes[3]?.event).toMatchObject({ timeToProductionSeconds: expect.any(Number) });

    // Each event once, its id in the Idempotency-Key and its type in X-Freshet-Event.
    const ids = r.webhook.map((m) => m.headers.idempotencyKey);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of r.webhook) {
      const p = m.body as WebhookPayload;
      expect(m.headers).toMatchObject({ idempotencyKey: p.id, event: p.type });
    }
    // Slack gets the same six, as text and blocks naming the image, both digests, the stage and who approved.
    expect(r.slack).toHaveLength(6);
    const slack = r.slack.map((m) => JSON.stringify(m.body));
    for (const p of payloads(r)) {
      const post = slack.find((s) => s.includes(`freshet event ${p.id}`));
      expect(post, p.id).toBeDefined();
      expect(post).toContain(reference);
      expect(post).toContain((p.event as { rollout: { digest: string } }).rollout.digest);
      expect(post).toContain(old.digest);
      expect(post).toContain((p.event as { stage: string }).stage);
    }
    expect(slack.find((s) => s.includes('approval.approved'))).toContain('Approved by:* alice');
    expect(slack.find((s) => s.includes('approval.waiting'))).toContain(`freshet approve ${goodId}`);
    // The Slack URL and the signing secret reach no history.
    for (const id of [brokenId, goodId]) {
      const history = JSON.stringify(await f.client.workflow.getHandle(id).fetchHistory());
      expect(history).toContain('"notify"');
      expect(history).not.toContain(`/slack/${ch}`);
      expect(history).not.toContain(receiver.secret);
    }
    expect(await counted(f, 'audit', 'sent')).toBe(6);
    expect(await counted(f, 'team-slack', 'sent')).toBe(6);
  });

  it('a sink that is down holds no wave and is retried a bounded number of times; a wrong secret is refused', async () => {
    const flaky = channel();
    const wrong = channel();
    const down = await closedPort();
    // The flaky sink answers 503 twice, then takes what comes.
    await fetch(`${receiver.url}/fail/${flaky}?count=2`, { method: 'POST' });
    fx = await createRolloutFixture(stack, {
      deployments: 2,
      notifications: `{ sinks: [ { name: down, webhook: { url: "http://127.0.0.1:${down}/hook", secretFile: "${secretFile(`down-${flaky}`, receiver.secret)}" } }, { name: flaky, webhook: { url: "${receiver.url}/webhook/${flaky}", secretFile: "${secretFile(`flaky-${flaky}`, receiver.secret)}" }, events: [rollout.started] }, { name: wrong, webhook: { url: "${receiver.url}/webhook/${wrong}", secretFile: "${secretFile(`wrong-${wrong}`, 'not-the-receivers-secret')}" }, events: [rollout.started] } ] }`,
    });
    const f = fx;
    const good = await f.push();
    const t0 = Date.now();
    const id = await f.request(good);
    await phaseOf(f, id, 'done', 90_000);
    const tookMs = Date.now() - t0;
    // Retries of the dead sink go on at 2, 6, 14 and 30 s; the rollout did not wait for them.
    expect(await counted(f, 'down', 'failed', 'rollout.started')).toBeLessThan(5);
    expect(tookMs).toBeLessThan(30_000);
    expect(Object.values(await f.images(f.production))).toEqual(f.deployments.map(() => good.reference));

    const result = await f.result(id);
    expect(result.outcome).toBe('succeeded');
    const history = JSON.stringify(await f.client.workflow.getHandle(id).fetchHistory());
    expect(history).toContain('ECONNREFUSED');
    expect(history).not.toContain(receiver.secret);
    // Bounded: five attempts per event, then given up; nothing reached the closed port.
    expect(await counted(f, 'down', 'failed', 'rollout.started')).toBe(5);
    expect(await counted(f, 'down', 'failed', 'rollout.succeeded')).toBe(5);
    expect(await counted(f, 'down', 'sent')).toBe(0);

    // The flaky sink: two 503s, then the event once.
    const got = await received(flaky);
    expect(got.refused.map((x) => x.status)).toEqual([503, 503]);
    expect(payloads(got).map((p) => [p.type, 'rollout' in p.event ? p.event.rollout.rolloutId : ''])).toEqual(
      [['rollout.started', id]],
    );
    expect(await counted(f, 'flaky', 'failed')).toBe(2);
    expect(await counted(f, 'flaky', 'sent')).toBe(1);

    // A wrong secret: the receiver refuses it with 401 and Freshet does not retry a refusal.
    const refused = await received(wrong);
    expect(refused.webhook).toEqual([]);
    expect(refused.refused.map((x) => [x.status, x.reason])).toEqual([[401, 'signature mismatch']]);
    expect(await counted(f, 'wrong', 'refused')).toBe(1);
  });

  it('tells once per workload that it has run an old build past staleAfter, however often freshness is collected', async () => {
    const ch = channel();
    fx = await createRolloutFixture(stack, {
      deployments: 2,
      interval: '2s',
      approval: '{ timeout: 1h }',
      notifications: `{ staleAfter: 1m, sinks: [ { name: stale, webhook: { url: "${receiver.url}/webhook/${ch}", secretFile: "${secretFile(`stale-${ch}`, receiver.secret)}" }, events: [workload.stale] } ] }`,
    });
    const f = fx;
    // The watch sees the build and starts the rollout; production waits for an approval nobody gives.
    const good = await f.push();
    const id = rolloutWorkflowId(f.pipeline, f.image, good.digest, f.config.temporal.instance);
    await waitFor(
      'the watch to start the rollout',
      () =>
        f.client.workflow
          .getHandle(id)
          .describe()
          .catch(() => undefined),
      {
        timeoutMs: 60_000,
      },
    );
    expect((await phaseOf(f, id, 'awaiting-approval')).stage).toBe('production');
    const first = await waitFor(
      'a workload.stale for each production Deployment',
      async () => {
        const got = await received(ch);
        return got.webhook.length >= 2 ? got : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    // Collections every 500 ms go on; a few more rounds must not repeat the news.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = await received(ch);
    expect(after.refused).toEqual([]);
    const stale = payloads(after).map(
      (p) => p.event as Extract<NotificationEvent, { type: 'workload.stale' }>,
    );
    expect(stale.map((e) => `${e.namespace}/${e.workload}`).sort()).toEqual(
      f.deployments.map((d) => `${f.production}/${d}`).sort(),
    );
    for (const e of stale) {
      expect(e).toMatchObject({
        stage: 'production',
        runningDigest: f.baseline.digest,
        latestDigest: good.digest,
      });
      expect(e.staleSeconds).toBeGreaterThanOrEqual(60);
    }
    expect(after.webhook.map((m) => m.headers.idempotencyKey)).toEqual(
      first.webhook.map((m) => m.headers.idempotencyKey),
    );
  });
});
