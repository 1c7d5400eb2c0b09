// The stack's notification receiver: what a team's webhook endpoint and Slack do with Freshet's
// notifications, so tests see them arrive. Started by the stack (an add-on); by hand:
//   node stack/notify-receiver.ts CONFIG.json      CONFIG.json: { "port": 5003, "secret": "…" }
// Every path names a channel, so tests sharing one receiver do not see each other's messages:
//   POST /webhook/<channel>   the signed JSON webhook; a bad or stale signature gets 401 and is
//                             recorded as refused (X-Freshet-Timestamp, X-Freshet-Signature)
//   POST /slack/<channel>     a Slack incoming-webhook post ({ text, blocks }); another shape gets 400
//   POST /fail/<channel>?count=N   the next N posts on the channel get 503 (a sink that is down)
//   GET  /received/<channel>  { webhook: [...], slack: [...], refused: [...] } as JSON
//   GET  /healthz
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { verifyWebhookSignature } from '../activities/notify/webhook.ts';

const configSchema = z.strictObject({
  port: z.number().int().min(1).max(65_535),
  secret: z.string().min(16),
});

export interface ReceivedMessage {
  at: string;
  headers: { idempotencyKey?: string; event?: string; timestamp?: string };
  body: unknown;
}
export interface RefusedMessage {
  at: string;
  path: string;
  status: number;
  reason: string;
}
export interface Received {
  webhook: ReceivedMessage[];
  slack: ReceivedMessage[];
  refused: RefusedMessage[];
}

const maxBody = 1024 * 1024;
const maxKept = 1_000;
const channelPattern = /^\/(webhook|slack|fail|received)\/([A-Za-z0-9._-]{1,100})$/;
const slackShape = z.object({ text: z.string().min(1), blocks: z.array(z.object({ type: z.string() })) });

function main(): void {
  const path = process.argv[2] ?? '';
  let config: z.infer<typeof configSchema>;
  try {
    config = configSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    console.error(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  const channels = new Map<string, Received & { failNext: number }>();
  const channel = (name: string) => {
    let c = channels.get(name);
    if (!c) {
      c = { webhook: [], slack: [], refused: [], failNext: 0 };
      channels.set(name, c);
    }
    return c;
  };
  const keep = <T>(list: T[], item: T) => {
    list.push(item);
    if (list.length > maxKept) list.shift();
  };
  const log = (msg: string, fields: Record<string, unknown> = {}) =>
    console.log(JSON.stringify({ at: new Date().toISOString(), msg, ...fields }));

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/healthz') return answer(200, { ok: true });
    const m = channelPattern.exec(url.pathname);
    if (!m) return answer(404, { error: 'unknown path' });
    const [, kind, name = ''] = m;
    const c = channel(name);
    if (req.method === 'GET' && kind === 'received') {
      const { webhook, slack, refused } = c;
      return answer(200, { webhook, slack, refused });
    }
    if (req.method !== 'POST') return answer(405, { error: 'method not allowed' });
    if (kind === 'fail') {
      c.failNext = Number(url.searchParams.get('count') ?? '1') || 0;
      return answer(200, { failNext: c.failNext });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) return answer(413, { error: 'body too large' });
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const at = new Date().toISOString();
    const refuse = (status: number, reason: string) => {
      keep(c.refused, { at, path: url.pathname, status, reason });
      log('refused', { path: url.pathname, status, reason });
      answer(status, { error: reason });
    };
    if (c.failNext > 0) {
      c.failNext--;
      return refuse(503, 'failing on request (fail/<channel>)');
    }
    const header = (h: string) => {
      const v = req.headers[h];
      return typeof v === 'string' ? v : undefined;
    };
    const headers = {
      ...(header('idempotency-key') ? { idempotencyKey: header('idempotency-key') } : {}),
      ...(header('x-freshet-event') ? { event: header('x-freshet-event') } : {}),
      ...(header('x-freshet-timestamp') ? { timestamp: header('x-freshet-timestamp') } : {}),
    } as ReceivedMessage['headers'];
    if (kind === 'webhook') {
      const verdict = verifyWebhookSignature(
        config.secret,
        { signature: header('x-freshet-signature'), timestamp: header('x-freshet-timestamp') },
        raw,
        Date.now() / 1000,
      );
      if (verdict !== 'ok') return refuse(401, `signature ${verdict}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return refuse(400, 'not JSON');
    }
    if (kind === 'slack') {
      if (!slackShape.safeParse(body).success) return refuse(400, 'not a Slack message (text and blocks)');
      keep(c.slack, { at, headers, body });
    } else {
      keep(c.webhook, { at, headers, body });
    }
    log('received', { path: url.pathname, id: headers.idempotencyKey });
    answer(200, { ok: true });
  });
  server.listen(config.port, '127.0.0.1', () => log('listening', { port: config.port }));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

if (import.meta.main) main();
