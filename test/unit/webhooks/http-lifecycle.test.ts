// The HTTP server with slow clients, at shutdown, and logging through pino.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { deferred, distributionHeaders, pushBody, sendPartially, startTestServer } from './test-server.ts';

describe('the HTTP server under slow clients and shutdown', () => {
  it('answers 408 to a client that does not finish its request in time', async () => {
    const { server, state } = await startTestServer({ timeouts: { requestMs: 300 } });
    try {
      const started = Date.now();
      const answer = await sendPartially(
        server,
        '/webhooks/distribution',
        { ...distributionHeaders, 'content-length': String(pushBody.length) },
        [Buffer.from(pushBody.slice(0, 10))],
      );
      expect(answer.status).toBe(408);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(state.forwarded).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('stops accepting on close and waits for requests in flight', async () => {
    const { server, state } = await startTestServer();
    state.hold = deferred();
    const inFlight = fetch(`${server.url}/webhooks/distribution`, {
      method: 'POST',
      headers: distributionHeaders,
      body: pushBody,
    });
    await state.onHintsCalled.promise;

    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);

    state.hold.resolve();
    const res = await inFlight;
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'accepted', hints: 1 });
    // The answer tells the keep-alive client to let go, so close need not wait for its idle timeout.
    const answered = Date.now();
    await closing;
    expect(Date.now() - answered).toBeLessThan(1_000);
  });

  it('cuts connections still busy after the grace period', async () => {
    const { server, state } = await startTestServer({ timeouts: { closeGraceMs: 100 } });
    state.hold = deferred();
    const inFlight = fetch(`${server.url}/webhooks/distribution`, {
      method: 'POST',
      headers: distributionHeaders,
      body: pushBody,
    });
    await state.onHintsCalled.promise;
    await server.close();
    await expect(inFlight).rejects.toThrow();
    state.hold.resolve();
  });

  it('logs through pino without the credentials a request presented', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { server } = await startTestServer({ logger });
    try {
      const headers = { ...distributionHeaders, authorization: 'Bearer presented-secret-4471' };
      const refused = await fetch(`${server.url}/webhooks/distribution?token=query-secret-9902`, {
        method: 'POST',
        headers,
        body: pushBody,
      });
      expect(refused.status).toBe(401);
    } finally {
      await server.close();
    }
    const refusal = lines
      .map((line) => JSON.parse(line))
      .find((entry) => entry.msg.startsWith('webhook refused'));
    expect(refusal).toMatchObject({ level: 40, source: 'distribution' });
    expect(lines.join('')).not.toMatch(/presented-secret-4471|query-secret-9902/);
  });
});
