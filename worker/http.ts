// The daemon's HTTP server: Prometheus scrapes, Kubernetes probes and registry webhooks. It is
// the only part of Freshet that strangers can reach, so routes match the raw path (never one a
// URL parser resolved), a webhook's token is checked before its body is read, bodies nobody has
// authenticated yet are few at a time, every body is size-limited while it streams, connections
// are capped, slow clients are cut off, and logs name paths and sources but never headers or
// query strings (which may carry webhook tokens).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isRequestTargetRefusal, parseRequestTarget } from './request-target.ts';
import {
  admitWebhookBody,
  bodyTooLarge,
  handleWebhook,
  maxWebhookBodyBytes,
  type WebhookOptions,
  type WebhookResponse,
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

export type HttpLimits = {
  /** Open connections at once; Node drops the ones beyond it as they arrive. */
  connections: number;
  /**
   * Webhook bodies read before their sender is authenticated (sources that sign the body), at
   * once; beyond it a request gets 503 with Retry-After, unread.
   */
  unauthenticatedBodies: number;
};

export type HttpServerOptions = {
  host: string;
  port: number;
  routes: HttpRoutes;
  logger?: LogSink;
  timeouts?: Partial<HttpTimeouts>;
  limits?: Partial<HttpLimits>;
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

const defaultLimits: HttpLimits = { connections: 256, unauthenticatedBodies: 8 };

/** Seconds a webhook sender refused for load waits before trying again. */
const busyRetryAfterSeconds = 1;

type Answer = { status: number; contentType: string; body: string; headers?: Record<string, string> };

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const log = options.logger ?? silentLogSink;
  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  const limits = { ...defaultLimits, ...options.limits };
  const { routes } = options;
  const webhookOptions: WebhookOptions = { ...routes.webhooks, logger: routes.webhooks.logger ?? log };
  let closing = false;
  let unauthenticatedBodies = 0;

  const server = createServer({
    requestTimeout: timeouts.requestMs,
    headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
    keepAliveTimeout: timeouts.keepAliveMs,
    // Node checks the two timeouts above only this often (30 s by default).
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, timeouts.requestMs / 4)),
  });
  server.maxConnections = limits.connections;

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
    const target = parseRequestTarget(req.url ?? '');
    if (isRequestTargetRefusal(target)) return json(target.status, { error: target.error });
    const method = req.method ?? 'GET';
    const [first = '', second, ...rest] = target.segments;
    const probe = second === undefined ? probes.get(first) : undefined;
    if (probe) {
      return method === 'GET' || method === 'HEAD' ? probe() : methodNotAllowed('GET, HEAD');
    }
    if (first === 'webhooks' && second && rest.length === 0) {
      return method === 'POST' ? receiveWebhook(req, second, target.query) : methodNotAllowed('POST');
    }
    return json(404, { error: 'not found' });
  }

  const probes = new Map<string, () => Promise<Answer>>([
    [
      'metrics',
      async () => {
        try {
          const metrics = await routes.metrics();
          return { status: 200, contentType: metrics.contentType, body: metrics.body };
        } catch (err) {
          log.error({ err }, 'metrics could not be collected');
          return json(500, { error: 'metrics could not be collected' });
        }
      },
    ],
    [
      'healthz',
      async () => {
        const healthy = await routes.healthz().catch((err: unknown) => {
          log.error({ err }, 'health check failed');
          return false;
        });
        return healthy ? json(200, { status: 'ok' }) : json(503, { status: 'unhealthy' });
      },
    ],
    [
      'readyz',
      async () => {
        const readiness = await routes.readyz().catch((err: unknown) => {
          log.error({ err }, 'readiness check failed');
          return { ok: false, checks: { readyz: 'could not be evaluated' } };
        });
        return json(readiness.ok ? 200 : 503, { ready: readiness.ok, checks: readiness.checks });
      },
    ],
  ]);

  async function receiveWebhook(
    req: IncomingMessage,
    source: string,
    query: URLSearchParams,
  ): Promise<Answer> {
    const response = await webhookResponse(req, source, query);
    if (response.refusal) webhookOptions.onRefused?.(source, response.refusal);
    const answer = json(response.status, response.body);
    return response.refusal === 'busy'
      ? { ...answer, headers: { 'retry-after': String(busyRetryAfterSeconds) } }
      : answer;
  }

  async function webhookResponse(
    req: IncomingMessage,
    source: string,
    query: URLSearchParams,
  ): Promise<WebhookResponse> {
    // Unknown sources and wrong tokens are refused before a byte of the body is read.
    const admission = admitWebhookBody({ source, headers: req.headers, query }, webhookOptions);
    if (!admission.admitted) return admission.response;
    if (admission.authenticated) return readAndHandle(req, source, query);
    if (unauthenticatedBodies >= limits.unauthenticatedBodies) {
      log.warn({ source }, 'webhook refused: too many unauthenticated bodies being read');
      return {
        status: 503,
        body: { error: 'too many webhook requests at once; retry later' },
        refusal: 'busy',
      };
    }
    unauthenticatedBodies++;
    try {
      return await readAndHandle(req, source, query);
    } finally {
      unauthenticatedBodies--;
    }
  }

  async function readAndHandle(
    req: IncomingMessage,
    source: string,
    query: URLSearchParams,
  ): Promise<WebhookResponse> {
    const rawBody = await readBodyWithin(req, maxWebhookBodyBytes);
    if (rawBody === undefined) {
      log.warn({ source }, 'webhook refused: body too large');
      return bodyTooLarge;
    }
    return handleWebhook({ source, headers: req.headers, rawBody, query }, webhookOptions);
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
