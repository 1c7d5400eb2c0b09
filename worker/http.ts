// The daemon's HTTP server: Prometheus scrapes, Kubernetes probes and registry webhooks. It is
// the only part of Freshet that strangers can reach, so every body is size-limited while it
// streams, slow clients are cut off, and logs name paths and sources but never headers or query
// strings (which may carry webhook tokens).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  bodyTooLarge,
  handleWebhook,
  isWebhookSourceEnabled,
  maxWebhookBodyBytes,
  type WebhookOptions,
} from './webhooks/handler.ts';
import { type LogSink, silentLogSink } from './webhooks/types.ts';

export type HttpRoutes = {
  metrics: () => Promise<{ contentType: string; body: string }>;
  healthz: () => Promise<boolean>;
  readyz: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
  webhooks: WebhookOptions;
};

export type HttpTimeouts = {
  /** Whole request (headers and body) must arrive within this; answered with 408 otherwise. */
  requestMs: number;
  headersMs: number;
  keepAliveMs: number;
  /** How long `close()` waits for in-flight requests before cutting their connections. */
  closeGraceMs: number;
};

export type HttpServerOptions = {
  host: string;
  port: number;
  routes: HttpRoutes;
  logger?: LogSink;
  timeouts?: Partial<HttpTimeouts>;
};

export type HttpServer = {
  url: string;
  port: number;
  /** Stops accepting connections and resolves once in-flight requests are answered. */
  close(): Promise<void>;
};

const defaultTimeouts: HttpTimeouts = {
  requestMs: 15_000,
  headersMs: 10_000,
  keepAliveMs: 5_000,
  closeGraceMs: 10_000,
};

type Answer = { status: number; contentType: string; body: string; headers?: Record<string, string> };

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const log = options.logger ?? silentLogSink;
  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  const { routes } = options;
  const webhookOptions: WebhookOptions = { ...routes.webhooks, logger: routes.webhooks.logger ?? log };
  let closing = false;

  const server = createServer({
    requestTimeout: timeouts.requestMs,
    headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
    keepAliveTimeout: timeouts.keepAliveMs,
    // Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, timeouts.requestMs / 4)),
  });

  const send = (req: IncomingMessage, res: ServerResponse, answer: Answer): void => {
    const headers: Record<string, string | number> = {
      'content-type': answer.contentType,
      'content-length': Buffer.byteLength(answer.body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...answer.headers,
    };
    // A body left unread (refused early, or too large) is not drained: the connection goes instead.
    if (closing || !req.complete) headers.connection = 'close';
    res.writeHead(answer.status, headers).end(answer.body);
  };

  async function answer(req: IncomingMessage): Promise<Answer> {
    const url = URL.parse(req.url ?? '/', 'http://freshet.invalid');
    if (!url) return json(400, { error: 'malformed request target' });
    const method = req.method ?? 'GET';
    const probe = probes[url.pathname];
    if (probe) {
      return method === 'GET' || method === 'HEAD' ? probe() : methodNotAllowed('GET, HEAD');
    }
    const webhookPath = /^\/webhooks\/([^/]+)$/.exec(url.pathname);
    if (webhookPath?.[1]) {
      return method === 'POST'
        ? receiveWebhook(req, webhookPath[1], url.searchParams)
        : methodNotAllowed('POST');
    }
    return json(404, { error: 'not found' });
  }

  const probes: Record<string, () => Promise<Answer>> = {
    '/metrics': async () => {
      try {
        const metrics = await routes.metrics();
        return { status: 200, contentType: metrics.contentType, body: metrics.body };
      } catch (err) {
        log.error({ err }, 'metrics could not be collected');
        return json(500, { error: 'metrics could not be collected' });
      }
    },
    '/healthz': async () => {
      const healthy = await routes.healthz().catch((err: unknown) => {
        log.error({ err }, 'health check failed');
        return false;
      });
      return healthy ? json(200, { status: 'ok' }) : json(503, { status: 'unhealthy' });
    },
    '/readyz': async () => {
      const readiness = await routes.readyz().catch((err: unknown) => {
        log.error({ err }, 'readiness check failed');
        return { ok: false, checks: { readyz: 'could not be evaluated' } };
      });
      return json(readiness.ok ? 200 : 503, { ready: readiness.ok, checks: readiness.checks });
    },
  };

  async function receiveWebhook(
    req: IncomingMessage,
    source: string,
    query: URLSearchParams,
  ): Promise<Answer> {
    // Refuse before reading, so an unknown path cannot make the server buffer a body.
    if (!isWebhookSourceEnabled(source, webhookOptions)) {
      return json(404, { error: 'no webhook receiver at this path' });
    }
    const rawBody = await readBodyWithin(req, maxWebhookBodyBytes);
    if (rawBody === undefined) {
      log.warn({ source }, 'webhook refused: body too large');
      return json(bodyTooLarge.status, bodyTooLarge.body);
    }
    const response = await handleWebhook({ source, headers: req.headers, rawBody, query }, webhookOptions);
    return json(response.status, response.body);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    answer(req)
      .then((result) => send(req, res, result))
      .catch((err: unknown) => {
        log.error({ err, method: req.method, path: pathOf(req) }, 'request failed');
        if (res.headersSent) res.destroy();
        else send(req, res, json(500, { error: 'internal error' }));
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  log.info({ host: options.host, port }, 'http server listening');

  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        closing = true;
        const cutOff = setTimeout(() => server.closeAllConnections(), timeouts.closeGraceMs);
        server.close((err) => {
          clearTimeout(cutOff);
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}

/**
 * The body, or undefined once it exceeds `limit`: a declared Content-Length over the limit is
 * refused unread, and a streamed body stops being read at the first byte past it.
 */
function readBodyWithin(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
    req.once('close', () => reject(new Error('client closed the connection before sending the whole body')));
  });
}

function json(status: number, body: object): Answer {
  return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) };
}

function methodNotAllowed(allow: string): Answer {
  return { ...json(405, { error: 'method not allowed' }), headers: { allow } };
}

/** The path without the query string, which may hold a webhook token. */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0] ?? '';
}
