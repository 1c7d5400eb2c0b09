// Signed approval decisions: the exact text an approver signs and its verification against the
// Ed25519 key the stage lists for that name. Pure and deterministic, so the rollout workflow's
// Update validator and signal handlers run it inside the workflow sandbox, which has no Node
// crypto, no Buffer and no atob.
import { ed25519 } from '@noble/curves/ed25519.js';
import { z } from 'zod';

/** The optional `signature` field of an approve, reject or decide message. */
export const approvalSignatureSchema = z.strictObject({
  alg: z.literal('ed25519'),
  /** Base64 of the 64-byte signature (88 characters); bounded so a message stays small. */
  value: z.string().max(128),
});

export type ApprovalSignature = z.infer<typeof approvalSignatureSchema>;

/** An approver's public key as it travels in the workflow input: base64 of the raw 32 bytes. */
export interface ApproverKey {
  name: string;
  publicKey: string;
}

/** Everything a signature binds: a signature for any other rollout, wait or decision fails. */
export interface SignedDecision {
  rolloutId: string;
  stage: string;
  digest: string;
  /**
   * When the stage started to wait (status.approval.since). Rollout ids repeat when the same
   * digest is rolled out again, so this keeps an old signature from deciding a later wait.
   */
  requestedAt: string;
  decision: 'approve' | 'reject';
  by: string;
  comment?: string;
}

const messageVersion = 'freshet-approval-v1';

/** The canonical text that is signed: a JSON array, so no field can run into the next. */
export function approvalMessage(d: SignedDecision): string {
  return JSON.stringify([
    messageVersion,
    d.rolloutId,
    d.stage,
    d.digest,
    d.requestedAt,
    d.decision,
    d.by,
    d.comment ?? '',
  ]);
}

/** Why the signature does not prove that `key` made this decision, or undefined when it does. */
export function signatureProblem(
  d: SignedDecision,
  signature: unknown,
  key: ApproverKey,
): string | undefined {
  const parsed = approvalSignatureSchema.safeParse(signature);
  if (!parsed.success) {
    return 'signature: expected {"alg": "ed25519", "value": "<base64 of 64 bytes>"}';
  }
  const sig = decodeBase64(parsed.data.value);
  if (sig?.length !== 64) return 'signature: value is not the base64 of a 64-byte Ed25519 signature';
  const publicKey = decodeBase64(key.publicKey);
  if (publicKey?.length !== 32) return `the key listed for "${key.name}" is not a 32-byte Ed25519 public key`;
  // Copied into this realm's Uint8Array: the sandbox's TextEncoder comes from the host.
  const message = Uint8Array.from(new TextEncoder().encode(approvalMessage(d)));
  let valid = false;
  try {
    // Strict RFC 8032 checks (no ZIP-215 leniency): one decision has one valid encoding.
    valid = ed25519.verify(sig, message, publicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (valid) return undefined;
  return (
    `the signature is not ${key.name}'s for this decision (${d.decision} stage ${d.stage} of ` +
    `${d.rolloutId} at ${d.digest}, waiting since ${d.requestedAt}): signed for something else, ` +
    'tampered with, or made with another key'
  );
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const canonicalBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard, padded base64 to bytes; undefined for anything else (no lenient decoding). */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || !canonicalBase64.test(text)) return undefined;
  const digits = text.replace(/=+$/, '');
  const bytes = new Uint8Array(Math.floor((digits.length * 6) / 8));
  let bits = 0;
  let buffer = 0;
  let at = 0;
  for (const ch of digits) {
    buffer = ((buffer << 6) | alphabet.indexOf(ch)) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (buffer >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes.
  if ((buffer & ((1 << bits) - 1)) !== 0) return undefined;
  return bytes;
}
