// Slack incoming webhooks: `text` (the notification and the fallback) and Block Kit `blocks`.
// The webhook URL is the credential, so it comes from the config's urlEnv/urlFile and is never
// logged or put in an error.
import type { EventDescription } from './describe.ts';
import { postBody } from './post.ts';

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

/** Slack's mrkdwn treats &, < and > as markup; everything else is literal. */
const mrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

export function slackMessage(d: EventDescription, id: string): SlackMessage {
  const facts = d.facts.map((f) => `*${mrkdwn(f.label)}:* ${mrkdwn(f.value)}`).join('\n');
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(d.title, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(facts, 3000) } },
  ];
  const actions = [
    ...(d.link ? [`<${d.link}|Open in the Temporal UI>`] : []),
    ...(d.commands ?? []).map((c) => `\`${mrkdwn(c)}\``),
  ];
  if (actions.length)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(actions.join('\n'), 3000) } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: mrkdwn(`freshet event ${id}`) }] });
  return { text: clip(d.title, 3000), blocks };
}

export async function sendSlack(
  url: string,
  message: SlackMessage,
  id: string,
  timeoutMs: number,
): Promise<void> {
  await postBody(url, JSON.stringify(message), { 'idempotency-key': id }, timeoutMs);
}
