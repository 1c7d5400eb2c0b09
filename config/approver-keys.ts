// Approvers' Ed25519 public keys as a config may spell them, turned into the one small form a
// rollout carries in its input: base64 of the raw 32 bytes (44 characters).
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Config } from './schema.ts';

export class ApproverKeyError extends Error {}

const formats =
  'expected an Ed25519 public key: PEM ("-----BEGIN PUBLIC KEY-----", from openssl pkey -pubout), ' +
  'an OpenSSH line ("ssh-ed25519 AAAA…", from ssh-keygen -t ed25519), or base64 of the raw 32 bytes';

/** Base64 of the raw key; throws an ApproverKeyError that says which formats are accepted. */
export function ed25519PublicKey(text: string): string {
  const trimmed = text.trim();
  const raw = trimmed.startsWith('-----BEGIN')
    ? fromPem(trimmed)
    : trimmed.startsWith('ssh-')
      ? fromOpenSsh(trimmed)
      : fromBase64(trimmed);
  try {
    ed25519.Point.fromBytes(raw, false);
  } catch {
    throw new ApproverKeyError('not a valid Ed25519 public key (the point is not on the curve)');
  }
  return Buffer.from(raw).toString('base64');
}

/** The reason `text` is not an accepted public key, or undefined (for the config schema). */
export function ed25519PublicKeyProblem(text: string): string | undefined {
  try {
    ed25519PublicKey(text);
    return undefined;
  } catch (err) {
    if (err instanceof ApproverKeyError) return err.message;
    throw err;
  }
}

export function readEd25519PublicKeyFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ApproverKeyError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    return ed25519PublicKey(text);
  } catch (err) {
    if (err instanceof ApproverKeyError) throw new ApproverKeyError(`${file}: ${err.message}`);
    throw err;
  }
}

function fromPem(pem: string): Uint8Array {
  if (!pem.startsWith('-----BEGIN PUBLIC KEY-----')) {
    throw new ApproverKeyError(`${formats}; a private key or certificate does not belong here`);
  }
  return rawFromSpki(pem);
}

function rawFromSpki(key: string | Buffer): Uint8Array {
  let jwk: { kty?: string; crv?: string; x?: string };
  try {
    const parsed =
      typeof key === 'string' ? createPublicKey(key) : createPublicKey({ key, format: 'der', type: 'spki' });
    if (parsed.asymmetricKeyType !== 'ed25519') {
      throw new ApproverKeyError(`a ${parsed.asymmetricKeyType} key; ${formats}`);
    }
    jwk = parsed.export({ format: 'jwk' });
  } catch (err) {
    if (err instanceof ApproverKeyError) throw err;
    throw new ApproverKeyError(formats);
  }
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** `ssh-ed25519 <base64 of string "ssh-ed25519", string key> [comment]` (RFC 8709). */
function fromOpenSsh(line: string): Uint8Array {
  const [type, blob] = line.split(/\s+/);
  if (type !== 'ssh-ed25519' || !blob) throw new ApproverKeyError(`a ${type} key; ${formats}`);
  const bytes = Buffer.from(blob, 'base64');
  const typeLength = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
  const name = bytes.subarray(4, 4 + typeLength).toString('latin1');
  const keyAt = 4 + typeLength;
  const keyLength = bytes.length >= keyAt + 4 ? bytes.readUInt32BE(keyAt) : -1;
  if (name !== 'ssh-ed25519' || keyLength !== 32 || bytes.length !== keyAt + 4 + 32) {
    throw new ApproverKeyError(`a malformed OpenSSH public key; ${formats}`);
  }
  return bytes.subarray(keyAt + 4);
}

function fromBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new ApproverKeyError(formats);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 32) return bytes;
  // The DER SubjectPublicKeyInfo, as in a PEM file without its armor.
  if (bytes.length === 44) return rawFromSpki(bytes);
  throw new ApproverKeyError(formats);
}

/**
 * Makes approvers' key files absolute (relative to the config file) and reads each once, so a
 * missing or wrong key is a config error at load, not a failed rollout request later.
 */
export function resolveApproverKeyFiles(
  config: Config,
  absolute: (path: string) => string,
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  for (const [pipeline, p] of Object.entries(config.pipelines)) {
    p.stages.forEach((stage, s) => {
      stage.approval?.approvers?.forEach((a, i) => {
        if (typeof a === 'string' || a.publicKeyFile === undefined) return;
        a.publicKeyFile = absolute(a.publicKeyFile);
        try {
          readEd25519PublicKeyFile(a.publicKeyFile);
        } catch (err) {
          if (!(err instanceof ApproverKeyError)) throw err;
          const path = `pipelines.${pipeline}.stages[${s}].approval.approvers[${i}].publicKeyFile`;
          problems.push({ path, message: err.message });
        }
      });
    });
  }
  return problems;
}
