// An HTTP front for a real server (a registry, the AWS API) that a test can make misbehave:
// forward every request, answer with bytes that are not HTTP at all, or accept requests and
// never answer. It records what it received, headers included (the AWS API's X-Amz-Target).
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyMode = 'forward' | 'garbage' | 'hang';

export interface RegistryProxy {
  url: string;
  host: string;
  mode: ProxyMode;
  /** Every request received, with the mode that answered it. */
  requests: { method: string; path: string; mode: ProxyMode; headers: IncomingHttpHeaders }[];
  /** Switches the mode; leaving 'hang' cuts the connections held so far. */
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

export async function startRegistryProxy(target: string): Promise<RegistryProxy> {
  const upstream = new URL(target);
  const held = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res) => {
    const mode = proxy.mode;
    proxy.requests.push({ method: req.method ?? '', path: req.url ?? '', mode, headers: req.headers });
    if (mode === 'hang') {
      held.add(req.socket);
      req.socket.once('close', () => held.delete(req.socket));
      return;
    }
    if (mode === 'garbage') {
      req.socket.end('SSH-2.0-OpenSSH_9.6 not a registry\r\n\r\n');
      return;
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
        res.writeHead(answer.statusCode ?? 502, answer.headers);
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
