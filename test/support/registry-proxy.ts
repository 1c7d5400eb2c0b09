// An HTTP front for a real server (a registry, the AWS API) that a test can make misbehave:
// forward every request, answer with bytes that are not HTTP at all, or accept requests and
// never answer. It records what it received, headers included (the AWS API's X-Amz-Target).
// It can also keep Docker Hub's books: a pull budget announced in ratelimit-* headers on every
// manifest answer, spent by manifest GETs (HEADs are free), and 429 once it is gone.
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyMode = 'forward' | 'garbage' | 'hang';

/** Docker Hub's accounting: `remaining` pulls of `limit` in a window of `windowSeconds`. */
export interface PullBudget {
  limit: number;
  remaining: number;
  windowSeconds: number;
}

/** An answer the test gives instead of the registry's. */
export interface ProxyAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  mode: ProxyMode;
  headers: IncomingHttpHeaders;
  /** When it arrived (epoch ms). */
  at: number;
  /** The status sent back, once known. */
  status?: number;
}

export interface RegistryProxy {
  url: string;
  host: string;
  mode: ProxyMode;
  /** Every request received, with the mode that answered it. */
  requests: ProxiedRequest[];
  /** Set to keep Docker Hub's pull budget; changed in place as pulls spend it. */
  budget?: PullBudget;
  /** Answers a request instead of the registry when it returns an answer. */
  answer?: (req: ProxiedRequest) => ProxyAnswer | undefined;
  /** Switches the mode; leaving 'hang' cuts the connections held so far. */
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

const isManifestPath = (path: string) => /^\/v2\/.+\/manifests\/[^/]+$/.test(path.split('?')[0] ?? '');

export async function startRegistryProxy(target: string): Promise<RegistryProxy> {
  const upstream = new URL(target);
  const held = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const mode = proxy.mode;
    const record: ProxiedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      mode,
      headers: req.headers,
      at: Date.now(),
    };
    proxy.requests.push(record);
    if (mode === 'hang') {
      held.add(req.socket);
      req.socket.once('close', () => held.delete(req.socket));
      return;
    }
    if (mode === 'garbage') {
      req.socket.end('SSH-2.0-OpenSSH_9.6 not a registry\r\n\r\n');
      return;
    }
    const reply = (answer: ProxyAnswer) => {
      record.status = answer.status;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    };
    const given = proxy.answer?.(record);
    if (given) return reply(given);

    const budgetHeaders = accountPull(proxy.budget, record);
    if (budgetHeaders === 'exhausted') {
      return reply({
        status: 429,
        headers: { 'content-type': 'application/json', ...rateLimitHeaders(proxy.budget) },
        body: JSON.stringify({
          errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }],
        }),
      });
    }
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        record.status = answer.statusCode ?? 502;
        res.writeHead(record.status, { ...answer.headers, ...budgetHeaders });
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: RegistryProxy = {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    mode: 'forward',
    requests: [],
    setMode(mode) {
      proxy.mode = mode;
      if (mode !== 'hang') for (const socket of held) socket.destroy();
    },
    async close() {
      for (const socket of held) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/** A manifest GET spends a pull; the headers every manifest answer then carries, or 'exhausted'. */
function accountPull(
  budget: PullBudget | undefined,
  req: ProxiedRequest,
): Record<string, string> | 'exhausted' {
  if (!budget || !isManifestPath(req.path)) return {};
  if (req.method === 'GET') {
    if (budget.remaining === 0) return 'exhausted';
    budget.remaining--;
  }
  return rateLimitHeaders(budget);
}

function rateLimitHeaders(budget: PullBudget | undefined): Record<string, string> {
  if (!budget) return {};
  return {
    'ratelimit-limit': `${budget.limit};w=${budget.windowSeconds}`,
    'ratelimit-remaining': `${budget.remaining};w=${budget.windowSeconds}`,
    'docker-ratelimit-source': '127.0.0.1',
  };
}
