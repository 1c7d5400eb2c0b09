// How an event reads in Slack and in the webhook: the image, both digests, the stage, who decided,
// and for an approval the Temporal UI link and the exact CLI commands; Slack's markup escaped.
import { describe, expect, it } from 'vitest';
import { describeEvent } from '../../../activities/notify/describe.ts';
import { type NotificationEvent, notificationId } from '../../../activities/notify/events.ts';
import { slackMessage } from '../../../activities/notify/slack.ts';
import { webhookPayload } from '../../../activities/notify/webhook.ts';

const rollout = {
  rolloutId: 'rollout-web-web-sha256:bbbb@prod',
  pipeline: 'web',
  image: 'web',
  reference: 'ghcr.io/acme/web:1.4',
  tag: '1.4',
  digest: `sha256:${'b'.repeat(64)}`,
};
const old = `ghcr.io/acme/web:1.4@sha256:${'a'.repeat(64)}`;
const waiting: NotificationEvent = {
  type: 'approval.waiting',
  rollout,
  stage: 'production',
  previousImages: [old],
  at: '2026-01-01T00:00:00.000Z',
  deadline: '2026-01-02T00:00:00.000Z',
  approvers: ['alice', 'bob'],
};
const ctx = { temporalUiUrl: 'http://ui.example:8233/', namespace: 'default' };

describe('notification content', () => {
  it('gives an approval the UI link, the exact approve and reject commands and both digests', () => {
    const d = describeEvent(waiting, ctx);
    expect(d.link).toBe(
      'http://ui.example:8233/namespaces/default/workflows/rollout-web-web-sha256%3Abbbb%40prod',
    );
    expect(d.commands).toEqual([
      'freshet approve rollout-web-web-sha256:bbbb@prod --by <your-name>',
      'freshet reject rollout-web-web-sha256:bbbb@prod --by <your-name> --comment <why>',
    ]);
    expect(Object.fromEntries(d.facts.map((f) => [f.label, f.value]))).toMatchObject({
      Image: 'ghcr.io/acme/web:1.4 (web)',
      'New digest': rollout.digest,
      'Old digest': `sha256:${'a'.repeat(64)}`,
      Stage: 'production',
      Approvers: 'alice, bob',
    });
  });

  it('renders Slack text and blocks with &, < and > escaped in the facts', () => {
    const rejected: NotificationEvent = {
      type: 'approval.rejected',
      rollout,
      stage: 'production',
      previousImages: [old],
      at: '2026-01-01T00:00:00.000Z',
      by: 'bob',
      comment: '<!channel> & friends',
    };
    const m = slackMessage(describeEvent(rejected, ctx), notificationId(rejected));
    expect(m.text).toBe('Stage production of web rejected by bob');
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('&lt;!channel&gt; &amp; friends');
    expect(text).not.toContain('<!channel>');
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: m.text } });
  });

  it('gives every event a stable id: rollout, event and stage, or the staleness episode', () => {
    expect(notificationId(waiting)).toBe('rollout-web-web-sha256:bbbb@prod/approval.waiting/production');
    const stale: NotificationEvent = {
      type: 'workload.stale',
      pipeline: 'web',
      stage: 'production',
      namespace: 'shop',
      workload: 'api',
      container: 'app',
      image: 'web',
      behindSince: '2026-01-01T00:00:00.000Z',
      staleSeconds: 700_000,
      at: '2026-01-09T00:00:00.000Z',
    };
    expect(notificationId(stale)).toBe('stale/web/production/shop/api/app/2026-01-01T00:00:00.000Z');
    expect(notificationId({ ...stale, at: '2026-01-10T00:00:00.000Z', staleSeconds: 800_000 })).toBe(
      notificationId(stale),
    );
    expect(webhookPayload(waiting, describeEvent(waiting, ctx))).toMatchObject({
      id: notificationId(waiting),
      type: 'approval.waiting',
      event: waiting,
    });
  });
});
