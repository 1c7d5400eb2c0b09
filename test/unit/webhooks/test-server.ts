// A real Freshet HTTP server on 127.0.0.1, port 0, with routes that record what they are given,
// and a raw node:http client for tests that must control how much of a body is sent.
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { Counter, Registry } from 'prom-client';
import { type HttpLimits, type HttpRoutes, type HttpServer, startHttpServer } from '../../../worker/http.ts';
import type { WebhookRefusalReason } from '../../../worker/webhooks/handler.ts';
import type { LogSink, WebhookHint } from '../../../worker/webhooks/types.ts';
import { distributionEnvelope, distributionEvent } from './payloads.ts';

export const secrets: Record<string, string> = {
  distribution: 'dist-token-7Qm2',
  dockerhub: 'hub-token-Zp91',
  ghcr: 'gh-secret-Lx44',
};
const watched = new Set(['acme/web', 'octo-org/hello-world']);

export type Deferred = { promise: Promise<void>; resolve: () => void };
export function deferred(): Deferred {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A server plus everything it handed to onHints and logged. */
export async function startTestServer(
  options: {
    timeouts?: { requestMs?: number; closeGraceMs?: number };
    limits?: Partial<HttpLimits>;
    logger?: LogSink;
  } = {},
) {
  const state = {
    healthy: true,
    readiness: { ok: true, checks: { temporal: 'ok', config: 'ok' } as Record<string, string> },
    forwarded: [] as WebhookHint[][],
    hold: undefined as Deferred | undefined,
    onHintsCalled: deferred(),
    logs: [] as unknown[],
    refused: [] as { source: string; reason: WebhookRefusalReason }[],
  };
  const metrics = new Registry();
  new Counter({ name: 'freshet_webhook_test_total', help: 'Counts nothing.', registers: [metrics] }).inc(3);
  const routes: HttpRoutes = {
    metrics: async () => ({ contentType: metrics.contentType, body: await metrics.metrics() }),
    healthz: async () => state.healthy,
    readyz: async () => state.readiness,
    webhooks: {
      secretFor: (source) => secrets[source],
      onHints: async (hints) => {
        state.forwarded.push(hints);
        state.onHintsCalled.resolve();
        await state.hold?.promise;
        return hints.some((hint) => watched.has(hint.repository)) ? 'accepted' : 'ignored';
      },
      onRefused: (source, reason) => {
        state.refused.push({ source, reason });
      },
    },
  };
  const record = (fields: object, message: string) => state.logs.push({ fields, message });
  const logger: LogSink = options.logger ?? { info: record, warn: record, error: record };
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, routes, ...options, logger });
  return { server, state };
}

export const distributionHeaders = {
  authorization: `Bearer ${secrets.distribution}`,
  'content-type': 'application/vnd.docker.distribution.events.v1+json',
};
export const pushBody = JSON.stringify(distributionEnvelope(distributionEvent({})));

/** Sends headers and `sent` body bytes without ending the request, and returns the answer. */
export function sendPartially(
  server: HttpServer,
  path: string,
  headers: OutgoingHttpHeaders,
  sent: Buffer[],
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, method: 'POST', headers });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        req.destroy();
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.flushHeaders();
    const writeNext = (i: number) => {
      const chunk = sent[i];
      if (chunk === undefined || answered) return;
      // Paced, so the server reads each chunk before the next one arrives.
      req.write(chunk, () => setTimeout(() => writeNext(i + 1), 5));
    };
    writeNext(0);
  });
}
