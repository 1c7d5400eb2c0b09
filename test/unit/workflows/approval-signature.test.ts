// Signed approvals: what the CLI signs with a private key, the rollout workflow's rule verifies
// against the stage's listed public key, and nothing else passes.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey, readEd25519PublicKeyFile } from '../../../config/approver-keys.ts';
import { loadSigningKey, signDecision } from '../../../worker/cli/approval-signing.ts';
import {
  approvalMessage,
  approvalSignatureSchema,
  decodeBase64,
  type SignedDecision,
} from '../../../workflows/approval-signature.ts';
import {
  approvalMessage as approvalSignal,
  decisionMessage,
  parseMessage,
} from '../../../workflows/message-schemas.ts';
import { pendingApproval, refusalReason } from '../../../workflows/rollout-approval.ts';
import type { DecisionInput } from '../../../workflows/rollout-messages.ts';

const keys = fileURLToPath(new URL('../../fixtures/approver-keys/', import.meta.url));

function keyPair(): { privateKey: KeyObject; publicKey: string } {
  const pair = generateKeyPairSync('ed25519');
  return {
    privateKey: pair.privateKey,
    publicKey: ed25519PublicKey(pair.publicKey.export({ format: 'pem', type: 'spki' }).toString()),
  };
}

const alice = keyPair();
const bob = keyPair();
const wait = {
  rolloutId: 'freshet-rollout-web-web-0123abcd',
  digest: `sha256:${'a'.repeat(64)}`,
  requestedAt: '2026-03-01T10:00:00.000Z',
};
const approval = {
  timeoutMs: 3_600_000,
  approvers: ['alice', 'bob', 'dana'],
  keys: [
    { name: 'alice', publicKey: alice.publicKey },
    { name: 'bob', publicKey: bob.publicKey },
  ],
  requireSignature: false,
};
const pending = pendingApproval('production', approval, wait);
const strict = pendingApproval('production', { ...approval, requireSignature: true }, wait);

/** alice's signed approval of this wait, with `change` applied to what she signs. */
function signed(change: Partial<SignedDecision> = {}, key = alice.privateKey): DecisionInput {
  const d: SignedDecision = {
    ...wait,
    stage: 'production',
    decision: 'approve',
    by: 'alice',
    comment: 'looks good',
    ...change,
  };
  return { decision: 'approve', by: 'alice', comment: 'looks good', signature: signDecision(d, key) };
}

describe('signed approvals', () => {
  it('accepts a decision signed with the listed key of that name', () => {
    expect(refusalReason(signed(), pending)).toBeUndefined();
    expect(refusalReason(signed(), strict)).toBeUndefined();
    const rejection = signed({ decision: 'reject' });
    expect(refusalReason({ ...rejection, decision: 'reject' }, strict)).toBeUndefined();
  });

  it('refuses a signature made with another key', () => {
    expect(refusalReason(signed({}, bob.privateKey), strict)).toMatch(
      /^the signature is not alice's for this decision \(approve stage production of freshet-rollout-web-web-0123abcd/,
    );
  });

  it.each([
    ['another rollout', { rolloutId: 'freshet-rollout-web-web-ffff' }],
    ['another stage', { stage: 'staging' }],
    ['another digest', { digest: `sha256:${'b'.repeat(64)}` }],
    ['another decision', { decision: 'reject' as const }],
    ['an earlier wait of the same rollout', { requestedAt: '2026-02-01T10:00:00.000Z' }],
    ['another comment', { comment: 'ship it' }],
  ])('refuses a signature for %s', (_, change) => {
    expect(refusalReason(signed(change), strict)).toMatch(/^the signature is not alice's/);
  });

  it('refuses a signed decision whose name was changed, also to another approver with a key', () => {
    const d = signed();
    expect(refusalReason({ ...d, by: 'bob' }, strict)).toMatch(/^the signature is not bob's/);
    expect(refusalReason({ ...d, comment: 'tampered' }, strict)).toMatch(/^the signature is not alice's/);
  });

  it('refuses malformed signatures with a message that names the field', () => {
    const d = signed();
    const value = d.signature?.value ?? '';
    for (const bad of ['not base64!', `${value.slice(0, -4)}`, `${value.slice(0, -2)}AA`, '', 'AAAA']) {
      expect(refusalReason({ ...d, signature: { alg: 'ed25519', value: bad } }, strict)).toMatch(
        /^signature: value is not the base64 of a 64-byte Ed25519 signature|^the signature is not alice's/,
      );
    }
    expect(refusalReason({ ...d, signature: { alg: 'ed25519', value: 'not base64!' } }, strict)).toBe(
      'signature: value is not the base64 of a 64-byte Ed25519 signature',
    );
    for (const bad of [
      { alg: 'rsa', value },
      { value },
      'signed',
      5,
      null,
      { alg: 'ed25519', value: 'A'.repeat(500) },
    ])
      expect(refusalReason({ ...d, signature: bad as never }, strict)).toBe(
        'signature: expected {"alg": "ed25519", "value": "<base64 of 64 bytes>"}',
      );
  });

  it('refuses an approver who is not listed, and a signature from one listed without a key', () => {
    const carol = keyPair();
    const asCarol = { ...signed({ by: 'carol' }, carol.privateKey), by: 'carol' };
    expect(refusalReason(asCarol, strict)).toBe(
      '"carol" may not decide on stage production (approvers: alice, bob, dana)',
    );
    const asDana = { ...signed({ by: 'dana' }, carol.privateKey), by: 'dana' };
    expect(refusalReason(asDana, pending)).toBe(
      'stage production lists no public key for "dana", so the signature cannot be verified',
    );
  });

  it('with requireSignature refuses every unsigned decision, as the UI sends them', () => {
    expect(refusalReason({ decision: 'approve', by: 'alice' }, strict)).toBe(
      'stage production takes signed decisions only: freshet approve ROLLOUT --by NAME --key FILE',
    );
    expect(refusalReason({ decision: 'reject', by: 'dana' }, strict)).toMatch(/takes signed decisions only/);
  });

  it('without requireSignature a name with a key still needs a signature; a plain name does not', () => {
    expect(refusalReason({ decision: 'approve', by: 'alice' }, pending)).toBe(
      '"alice" has a public key on stage production, so only a signed decision counts (--key FILE)',
    );
    expect(refusalReason({ decision: 'approve', by: 'dana' }, pending)).toBeUndefined();
  });

  it('leaves stages without keys exactly as before: no signing fields in pending', () => {
    expect(pendingApproval('production', { timeoutMs: 1_000, approvers: ['alice'] }, wait)).toEqual({
      stage: 'production',
      approvers: ['alice'],
    });
    expect(pendingApproval('production', { timeoutMs: 1_000 }, wait)).toEqual({ stage: 'production' });
  });

  it('signs one canonical message in which no field runs into the next', () => {
    const d: SignedDecision = { ...wait, stage: 'a', decision: 'approve', by: 'b"c' };
    expect(approvalMessage(d)).toBe(
      `["freshet-approval-v1","${wait.rolloutId}","a","${wait.digest}","${wait.requestedAt}","approve","b\\"c",""]`,
    );
    expect(approvalMessage({ ...d, comment: '' })).toBe(approvalMessage(d));
  });

  it('bounds the signature fields', () => {
    expect(approvalSignatureSchema.safeParse({ alg: 'ed25519', value: 'A'.repeat(129) }).success).toBe(false);
    expect(approvalSignatureSchema.safeParse({ alg: 'ed25519', value: 'AAAA', extra: 1 }).success).toBe(
      false,
    );
  });
});

describe('the signature in the approval messages', () => {
  it('passes the message schemas of decide and approve, and a malformed one is refused with its path', () => {
    const d = signed();
    const parsed = parseMessage(decisionMessage, d);
    expect(parsed.ok && refusalReason(parsed.value, strict)).toBeUndefined();
    const { decision: _, ...asSignal } = d;
    expect(parseMessage(approvalSignal, asSignal).ok).toBe(true);
    expect(parseMessage(decisionMessage, { ...d, signature: { alg: 'rsa', value: 'AAAA' } })).toEqual({
      ok: false,
      reason: expect.stringMatching(/^signature\.alg: /),
    });
    expect(
      parseMessage(decisionMessage, { ...d, signature: { alg: 'ed25519', value: 'A'.repeat(129) } }),
    ).toEqual({
      ok: false,
      reason: expect.stringMatching(/^signature\.value: /),
    });
  });
});

describe('decodeBase64', () => {
  it('decodes standard padded base64 like Node does', () => {
    for (const n of [0, 1, 2, 3, 31, 32, 64]) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff));
      expect(Buffer.from(decodeBase64(bytes.toString('base64')) ?? [])).toEqual(bytes);
    }
  });

  it('refuses anything else', () => {
    for (const bad of ['A', 'AAA', 'AB==x', 'AB=A', 'AB-_', 'AB\nCD', ' AAAA', 'AB', 'AR==', 'AAB='])
      expect(decodeBase64(bad), bad).toBeUndefined();
  });
});

describe('approver key files', () => {
  it('reads a PEM public key and signs with its PKCS#8 private key (openssl)', () => {
    const publicKey = readEd25519PublicKeyFile(`${keys}alice.pub`);
    const key = loadSigningKey(`${keys}alice.key`);
    const p = pendingApproval('production', { timeoutMs: 1, keys: [{ name: 'alice', publicKey }] }, wait);
    const d: SignedDecision = { ...wait, stage: 'production', decision: 'approve', by: 'alice' };
    expect(
      refusalReason({ decision: 'approve', by: 'alice', signature: signDecision(d, key) }, p),
    ).toBeUndefined();
  });

  it('reads an OpenSSH public key and an unencrypted OpenSSH private key (ssh-keygen)', () => {
    const publicKey = readEd25519PublicKeyFile(`${keys}bob.pub`);
    const key = loadSigningKey(`${keys}bob`);
    const p = pendingApproval('production', { timeoutMs: 1, keys: [{ name: 'bob', publicKey }] }, wait);
    const d: SignedDecision = { ...wait, stage: 'production', decision: 'reject', by: 'bob' };
    expect(
      refusalReason({ decision: 'reject', by: 'bob', signature: signDecision(d, key) }, p),
    ).toBeUndefined();
  });

  it('accepts the same key as PEM, base64 DER and base64 raw', () => {
    const pem = readEd25519PublicKeyFile(`${keys}alice.pub`);
    const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(pem, 'base64')]);
    expect(ed25519PublicKey(der.toString('base64'))).toBe(pem);
    expect(ed25519PublicKey(pem)).toBe(pem);
    expect(pem).toHaveLength(44);
  });

  it('refuses other keys and garbage with the accepted formats', () => {
    expect(() => readEd25519PublicKeyFile(`${keys}rsa.pub`)).toThrow(
      /rsa.pub: a rsa key; expected an Ed25519 public key/,
    );
    expect(() => readEd25519PublicKeyFile(`${keys}alice.key`)).toThrow(
      /a private key or certificate does not belong here/,
    );
    expect(() => readEd25519PublicKeyFile(`${keys}missing.pub`)).toThrow(
      /cannot read .*missing.pub \(ENOENT\)/,
    );
    expect(() => ed25519PublicKey('ssh-rsa AAAAB3NzaC1yc2E')).toThrow(/a ssh-rsa key/);
    expect(() => ed25519PublicKey('ssh-ed25519 AAAA')).toThrow(/a malformed OpenSSH public key/);
    expect(() => ed25519PublicKey('hello')).toThrow(/expected an Ed25519 public key: PEM/);
  });

  it('says why a private key cannot sign', () => {
    expect(() => loadSigningKey(`${keys}carol-protected`)).toThrow(
      /carol-protected: the key is protected with a passphrase \(aes256-ctr\)/,
    );
    expect(() => loadSigningKey(`${keys}alice.pub`)).toThrow(/alice.pub: not an Ed25519 private key/);
    expect(() => loadSigningKey(`${keys}nope`)).toThrow(/--key .*nope: cannot read the file \(ENOENT\)/);
  });
});
