import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isAuthenticated, type WebhookAuth } from '../../../worker/webhooks/auth.ts';
import type { WebhookHeaders } from '../../../worker/webhooks/types.ts';

const secret = 'q3J9vX2mT8wL5rN1';
const headerOnly: WebhookAuth = { kind: 'bearer-token', tokenInQuery: false };
const headerOrQuery: WebhookAuth = { kind: 'bearer-token', tokenInQuery: true };
const github: WebhookAuth = { kind: 'github-signature' };
const body = Buffer.from('{"action":"published","package":{"name":"hello-world"}}');

function request(headers: WebhookHeaders = {}, query = '', rawBody = body) {
  return { headers, rawBody, query: new URLSearchParams(query) };
}

const signature = (payload: Buffer, key = secret) =>
  `sha256=${createHmac('sha256', key).update(payload).digest('hex')}`;

describe('shared-token authentication', () => {
  it('accepts the configured token as a bearer token, whatever the case of the scheme', () => {
    expect(isAuthenticated(headerOnly, secret, request({ authorization: `Bearer ${secret}` }))).toBe(true);
    expect(isAuthenticated(headerOnly, secret, request({ authorization: `bearer ${secret}` }))).toBe(true);
  });

  it('refuses a wrong token of the same length, of another length, and a missing header', () => {
    const sameLength = `${secret.slice(0, -1)}X`;
    expect(sameLength).toHaveLength(secret.length);
    expect(isAuthenticated(headerOnly, secret, request({ authorization: `Bearer ${sameLength}` }))).toBe(
      false,
    );
    expect(isAuthenticated(headerOnly, secret, request({ authorization: `Bearer ${secret}x` }))).toBe(false);
    expect(isAuthenticated(headerOnly, secret, request({ authorization: 'Bearer x' }))).toBe(false);
    expect(isAuthenticated(headerOnly, secret, request({}))).toBe(false);
  });

  it('refuses other schemes and a token with trailing garbage', () => {
    expect(isAuthenticated(headerOnly, secret, request({ authorization: secret }))).toBe(false);
    expect(isAuthenticated(headerOnly, secret, request({ authorization: `Basic ${secret}` }))).toBe(false);
    expect(isAuthenticated(headerOnly, secret, request({ authorization: `Bearer ${secret} extra` }))).toBe(
      false,
    );
  });

  it('accepts ?token= only for sources that cannot set headers', () => {
    const query = `token=${encodeURIComponent(secret)}`;
    expect(isAuthenticated(headerOrQuery, secret, request({}, query))).toBe(true);
    expect(isAuthenticated(headerOnly, secret, request({}, query))).toBe(false);
    expect(isAuthenticated(headerOrQuery, secret, request({}, 'token=wrong'))).toBe(false);
    expect(isAuthenticated(headerOrQuery, secret, request({}, `${query}&token=wrong`))).toBe(false);
  });

  it('does not let a good query token excuse a wrong Authorization header', () => {
    const query = `token=${encodeURIComponent(secret)}`;
    expect(isAuthenticated(headerOrQuery, secret, request({ authorization: 'Bearer wrong' }, query))).toBe(
      false,
    );
  });

  it('refuses everything when the secret is empty, even an empty token', () => {
    expect(isAuthenticated(headerOrQuery, '', request({}, 'token='))).toBe(false);
    expect(isAuthenticated(headerOnly, '', request({ authorization: 'Bearer ' }))).toBe(false);
  });

  it('finds the header whatever the case of its name, and refuses a repeated one', () => {
    expect(isAuthenticated(headerOnly, secret, request({ Authorization: `Bearer ${secret}` }))).toBe(true);
    const repeated = { authorization: [`Bearer ${secret}`, 'Bearer other'] };
    expect(isAuthenticated(headerOnly, secret, request(repeated))).toBe(false);
  });
});

describe('GitHub signature authentication', () => {
  it('accepts the HMAC-SHA256 of the raw body made with the secret', () => {
    expect(isAuthenticated(github, secret, request({ 'x-hub-signature-256': signature(body) }))).toBe(true);
  });

  it('refuses a signature made with another secret, or over another body', () => {
    expect(
      isAuthenticated(github, secret, request({ 'x-hub-signature-256': signature(body, 'other') })),
    ).toBe(false);
    const tampered = Buffer.from(body.toString().replace('hello-world', 'hello-worle'));
    expect(
      isAuthenticated(github, secret, request({ 'x-hub-signature-256': signature(body) }, '', tampered)),
    ).toBe(false);
  });

  it('refuses a missing, truncated or malformed signature and the SHA-1 header alone', () => {
    expect(isAuthenticated(github, secret, request({}))).toBe(false);
    expect(
      isAuthenticated(github, secret, request({ 'x-hub-signature-256': signature(body).slice(0, -2) })),
    ).toBe(false);
    const hex = signature(body).slice('sha256='.length);
    expect(isAuthenticated(github, secret, request({ 'x-hub-signature-256': hex }))).toBe(false);
    expect(isAuthenticated(github, secret, request({ 'x-hub-signature-256': `sha1=${hex}` }))).toBe(false);
    const sha1 = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
    expect(isAuthenticated(github, secret, request({ 'x-hub-signature': sha1 }))).toBe(false);
  });

  it('ignores bearer tokens and query tokens', () => {
    expect(
      isAuthenticated(github, secret, request({ authorization: `Bearer ${secret}` }, `token=${secret}`)),
    ).toBe(false);
  });
});
