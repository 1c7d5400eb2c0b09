import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { webhookSources } from '../../../config/schema.ts';
import {
  handleWebhook,
  maxWebhookBodyBytes,
  type WebhookOptions,
  type WebhookRequest,
} from '../../../worker/webhooks/handler.ts';
import { knownWebhookSources, webhookReceiverFor } from '../../../worker/webhooks/index.ts';
import type { WebhookHint } from '../../../worker/webhooks/types.ts';
import {
  distributionEnvelope,
  distributionEvent,
  dockerHubPush,
  ghcrPackageEvent,
  webDigest,
} from './payloads.ts';

const tokens: Record<string, string> = {
  distribution: 'dist-token-7Qm2',
  dockerhub: 'hub-token-Zp91',
  ghcr: 'gh-secret-Lx44',
};

type LogLine = { level: string; fields: object; message: string };

function receiver(options: { disposition?: 'accepted' | 'ignored'; fail?: boolean } = {}) {
  const forwarded: WebhookHint[][] = [];
  const logs: LogLine[] = [];
  const record = (level: string) => (fields: object, message: string) =>
    logs.push({ level, fields, message });
  const webhookOptions: WebhookOptions = {
    secretFor: (source) => tokens[source],
    onHints: async (hints) => {
      forwarded.push(hints);
      if (options.fail) throw new Error('temporal unavailable');
      return options.disposition ?? 'accepted';
    },
    logger: { info: record('info'), warn: record('warn'), error: record('error') },
  };
  return { webhookOptions, forwarded, logs };
}

function distributionRequest(body: string | Buffer, headers: Record<string, string> = {}): WebhookRequest {
  return {
    source: 'distribution',
    headers: {
      authorization: `Bearer ${tokens.distribution}`,
      'content-type': 'application/vnd.docker.distribution.events.v1+json',
      ...headers,
    },
    rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body),
    query: new URLSearchParams(),
  };
}

const pushBody = JSON.stringify(distributionEnvelope(distributionEvent({})));
const pushHint: WebhookHint = {
  source: 'distribution',
  registryHost: '127.0.0.1:5000',
  repository: 'acme/web',
  tag: '1.4',
  digest: webDigest,
};

describe('the webhook source table', () => {
  it('has a receiver for exactly the sources the config accepts', () => {
    expect([...knownWebhookSources].sort()).toEqual([...webhookSources].sort());
  });

  it('does not mistake object properties for sources', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(webhookReceiverFor(name)).toBeUndefined();
    }
  });
});

describe('handleWebhook', () => {
  it('forwards the hints of a valid push and answers 202 accepted', async () => {
    const { webhookOptions, forwarded } = receiver();
    const response = await handleWebhook(distributionRequest(pushBody), webhookOptions);
    expect(response).toEqual({ status: 202, body: { status: 'accepted', hints: 1 } });
    expect(forwarded).toEqual([[pushHint]]);
  });

  it('answers 202 ignored when no hint names a watched repository', async () => {
    const { webhookOptions, forwarded } = receiver({ disposition: 'ignored' });
    const response = await handleWebhook(distributionRequest(pushBody), webhookOptions);
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ status: 'ignored', hints: 1 });
    expect(forwarded).toHaveLength(1);
  });

  it('answers 202 ignored without forwarding anything for events that are not pushes', async () => {
    const { webhookOptions, forwarded } = receiver();
    const pull = JSON.stringify(distributionEnvelope(distributionEvent({ action: 'pull' })));
    const response = await handleWebhook(distributionRequest(pull), webhookOptions);
    expect(response).toMatchObject({ status: 202, body: { status: 'ignored', hints: 0 } });
    expect(forwarded).toEqual([]);
  });

  it('forwards each push once when a payload repeats it', async () => {
    const { webhookOptions, forwarded } = receiver();
    const twice = JSON.stringify(distributionEnvelope(distributionEvent({}), distributionEvent({})));
    await handleWebhook(distributionRequest(twice), webhookOptions);
    expect(forwarded).toEqual([[pushHint]]);
  });

  it.each([
    ['an unknown source', { source: 'gitlab' }, 404],
    ['a prototype property as source', { source: '__proto__' }, 404],
    ['a known source without a configured secret', { source: 'harbor' }, 404],
    ['a body one byte over the limit', { rawBody: Buffer.alloc(maxWebhookBodyBytes + 1, 0x20) }, 413],
    ['no credentials', { headers: { 'content-type': 'application/json' } }, 401],
    ['a wrong token', { headers: { authorization: 'Bearer dist-token-7Qm3' } }, 401],
    ['another source’s token', { headers: { authorization: `Bearer ${tokens.dockerhub}` } }, 401],
    [
      'a token in the query, which Distribution can do without',
      { headers: {}, query: new URLSearchParams({ token: tokens.distribution ?? '' }) },
      401,
    ],
    [
      'a non-JSON content type',
      { headers: { authorization: `Bearer ${tokens.distribution}`, 'content-type': 'text/plain' } },
      415,
    ],
    ['malformed JSON', { rawBody: Buffer.from('{"events": [') }, 400],
    ['JSON of another shape', { rawBody: Buffer.from('{"type":"PUSH_ARTIFACT"}') }, 400],
  ] satisfies [string, Partial<WebhookRequest>, number][])(
    'answers a request with %s with %i and forwards nothing',
    async (_, change, status) => {
      const { webhookOptions, forwarded } = receiver();
      const response = await handleWebhook({ ...distributionRequest(pushBody), ...change }, webhookOptions);
      expect(response.status).toBe(status);
      expect(response.body).toHaveProperty('error');
      expect(forwarded).toEqual([]);
    },
  );

  it('checks credentials before parsing, so a stranger learns nothing about the payload format', async () => {
    const { webhookOptions } = receiver();
    const request = distributionRequest('{not json', { authorization: 'Bearer wrong' });
    expect((await handleWebhook(request, webhookOptions)).status).toBe(401);
  });

  it('accepts a body exactly at the limit', async () => {
    const { webhookOptions, forwarded } = receiver();
    const padded = Buffer.alloc(maxWebhookBodyBytes, 0x20);
    padded.write(pushBody);
    const response = await handleWebhook(distributionRequest(padded), webhookOptions);
    expect(response.status).toBe(202);
    expect(forwarded).toEqual([[pushHint]]);
  });

  it('names the bad field in a 400', async () => {
    const { webhookOptions } = receiver();
    const payload = distributionEnvelope(distributionEvent({ repository: 'Acme/Web' }));
    const response = await handleWebhook(distributionRequest(JSON.stringify(payload)), webhookOptions);
    expect(response).toEqual({
      status: 400,
      body: {
        error: 'not a distribution webhook payload',
        reason: 'events[0].target.repository: expected a repository name such as acme/web',
      },
      refusal: 'malformed',
    });
  });

  it('answers 503 when the hints cannot be forwarded, so the registry delivers again', async () => {
    const { webhookOptions, logs } = receiver({ fail: true });
    const response = await handleWebhook(distributionRequest(pushBody), webhookOptions);
    expect(response.status).toBe(503);
    expect(logs.map((l) => l.level)).toContain('error');
  });

  it('authenticates Docker Hub by query token and GHCR by signature', async () => {
    const { webhookOptions, forwarded } = receiver();
    const hubBody = Buffer.from(JSON.stringify(dockerHubPush));
    const hub = await handleWebhook(
      {
        source: 'dockerhub',
        headers: { 'content-type': 'application/json' },
        rawBody: hubBody,
        query: new URLSearchParams({ token: tokens.dockerhub ?? '' }),
      },
      webhookOptions,
    );
    expect(hub.status).toBe(202);

    const ghBody = Buffer.from(JSON.stringify(ghcrPackageEvent()));
    const sign = (key: string) => `sha256=${createHmac('sha256', key).update(ghBody).digest('hex')}`;
    const ghRequest = (signature: string): WebhookRequest => ({
      source: 'ghcr',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'package',
        'x-hub-signature-256': signature,
      },
      rawBody: ghBody,
      query: new URLSearchParams(),
    });
    expect((await handleWebhook(ghRequest(sign('wrong')), webhookOptions)).status).toBe(401);
    expect((await handleWebhook(ghRequest(sign(tokens.ghcr ?? '')), webhookOptions)).status).toBe(202);

    expect(forwarded).toEqual([
      [{ source: 'dockerhub', repository: 'acme/web', tag: '1.4' }],
      [
        {
          source: 'ghcr',
          registryHost: 'ghcr.io',
          repository: 'octo-org/hello-world',
          tag: '1.4',
          digest: webDigest,
        },
      ],
    ]);
  });

  it('never puts a secret or a presented credential into a response or a log line', async () => {
    const { webhookOptions, logs } = receiver({ fail: true });
    const presented = 'Bearer presented-but-wrong-9931';
    const responses = [
      await handleWebhook(distributionRequest(pushBody, { authorization: presented }), webhookOptions),
      await handleWebhook(distributionRequest('{bad'), webhookOptions),
      await handleWebhook(distributionRequest('{"events":1}'), webhookOptions),
      await handleWebhook(distributionRequest(pushBody), webhookOptions),
    ];
    expect(responses.map((r) => r.status)).toEqual([401, 400, 400, 503]);
    expect(logs.length).toBeGreaterThanOrEqual(4);
    const everything = JSON.stringify({ responses, logs });
    expect(everything).not.toContain(tokens.distribution);
    expect(everything).not.toContain('presented-but-wrong-9931');
  });
});
