// The signed webhook's signature: HMAC-SHA256 over "<timestamp>.<raw body>", checked against a
// vector computed with openssl, and the verification a receiver runs (README: Notifications).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyWebhookSignature, webhookSignature } from '../../../activities/notify/webhook.ts';

const secret = 'test-secret-0123456789';
const body = '{"a":1}';

describe('signed webhook', () => {
  it('signs "<timestamp>.<body>" with HMAC-SHA256 as openssl does', () => {
    // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
    expect(webhookSignature(secret, '1700000000', body)).toBe(
      'sha256=6e873f59dc6002f6de5f578e9bf3f90a7906473a2924651d6f4cc33d61aff598',
    );
  });

  it('accepts its own signature and refuses a wrong secret, a changed body, an old timestamp and none', () => {
    const signature = webhookSignature(secret, '1700000000', body);
    const at = 1_700_000_100;
    expect(verifyWebhookSignature(secret, { signature, timestamp: '1700000000' }, body, at)).toBe('ok');
    expect(
      verifyWebhookSignature('another-secret-0123', { signature, timestamp: '1700000000' }, body, at),
    ).toBe('mismatch');
    expect(verifyWebhookSignature(secret, { signature, timestamp: '1700000000' }, '{"a":2}', at)).toBe(
      'mismatch',
    );
    // The same request replayed later with a fresh timestamp: the signature covers the old one.
    expect(verifyWebhookSignature(secret, { signature, timestamp: String(at) }, body, at)).toBe('mismatch');
    expect(verifyWebhookSignature(secret, { signature, timestamp: '1700000000' }, body, at + 600)).toBe(
      'stale',
    );
    expect(verifyWebhookSignature(secret, { timestamp: '1700000000' }, body, at)).toBe('missing');
    expect(verifyWebhookSignature(secret, { signature, timestamp: 'yesterday' }, body, at)).toBe('missing');
  });

  it("accepts what Freshet signs with the README's receiver snippet, and refuses a wrong secret or a replay", async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    const snippet = /Verify on the raw bytes, before parsing:\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'freshet-readme-'));
    try {
      const file = join(dir, 'verify.mjs');
      writeFileSync(file, `${snippet}\nexport { verifyFreshet };\n`);
      const { verifyFreshet } = (await import(file)) as {
        verifyFreshet(secret: string, headers: Record<string, string>, rawBody: string): boolean;
      };
      const now = String(Math.floor(Date.now() / 1000));
      const headers = {
        'x-freshet-timestamp': now,
        'x-freshet-signature': webhookSignature(secret, now, body),
      };
      expect(verifyFreshet(secret, headers, body)).toBe(true);
      expect(verifyFreshet('another-secret-0123', headers, body)).toBe(false);
      expect(verifyFreshet(secret, headers, '{"a":2}')).toBe(false);
      const old = String(Number(now) - 3_600);
      expect(
        verifyFreshet(
          secret,
          { 'x-freshet-timestamp': old, 'x-freshet-signature': webhookSignature(secret, old, body) },
          body,
        ),
      ).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
