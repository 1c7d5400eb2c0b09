// Signs an approval decision with the approver's Ed25519 private key, for `freshet approve
// --key FILE`. The rollout workflow verifies the signature against the stage's listed key.
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type ApprovalSignature,
  approvalMessage,
  type SignedDecision,
} from '../../workflows/approval-signature.ts';
import { CliError } from './output.ts';

export function signDecision(decision: SignedDecision, key: KeyObject): ApprovalSignature {
  const value = sign(null, Buffer.from(approvalMessage(decision), 'utf8'), key).toString('base64');
  return { alg: 'ed25519', value };
}

/**
 * An Ed25519 private key from a PKCS#8 PEM file (openssl genpkey -algorithm ed25519) or an
 * OpenSSH one without a passphrase (ssh-keygen -t ed25519 -N '').
 */
export function loadSigningKey(file: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`--key ${file}: cannot read the file (${(err as NodeJS.ErrnoException).code})`);
  }
  let key: KeyObject;
  try {
    key = text.includes('-----BEGIN OPENSSH PRIVATE KEY-----')
      ? keyFromOpenSsh(text)
      : createPrivateKey({ key: text, format: 'pem' });
  } catch (err) {
    if (err instanceof CliError) throw new CliError(`--key ${file}: ${err.message}`);
    throw new CliError(
      `--key ${file}: not an Ed25519 private key (expected PKCS#8 PEM from openssl genpkey -algorithm ed25519, or an unencrypted OpenSSH key from ssh-keygen -t ed25519)`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CliError(`--key ${file}: a ${key.asymmetricKeyType} key; approvals are signed with Ed25519`);
  }
  return key;
}

// PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410): the DER prefix before the seed.
const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The seed from OpenSSH's own key format (PROTOCOL.key), which Node cannot read by itself. */
function keyFromOpenSsh(text: string): KeyObject {
  const body = text.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const reader = new SshReader(Buffer.from(body, 'base64'));
  if (reader.take(15).toString('latin1') !== 'openssh-key-v1\0') throw new Error('not an OpenSSH key');
  const cipher = reader.string().toString('latin1');
  reader.string(); // kdf name
  reader.string(); // kdf options
  if (cipher !== 'none') {
    throw new CliError(
      `the key is protected with a passphrase (${cipher}); use a copy without one (ssh-keygen -p -N '' -f COPY)`,
    );
  }
  if (reader.uint32() !== 1) throw new Error('one key per file expected');
  reader.string(); // public key
  const secret = new SshReader(reader.string());
  // Two equal check numbers: the section decrypted (here: was stored) intact.
  const check = secret.uint32();
  if (secret.uint32() !== check) throw new Error('corrupt key');
  const type = secret.string().toString('latin1');
  if (type !== 'ssh-ed25519') throw new CliError(`a ${type} key; approvals are signed with Ed25519`);
  secret.string(); // public key
  const seedAndPublic = secret.string();
  if (seedAndPublic.length !== 64) throw new Error('corrupt key');
  return createPrivateKey({
    key: Buffer.concat([pkcs8Prefix, seedAndPublic.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8',
  });
}

class SshReader {
  private at = 0;
  private readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
  take(n: number): Buffer {
    if (n < 0 || this.at + n > this.bytes.length) throw new Error('truncated key');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  uint32(): number {
    return this.take(4).readUInt32BE(0);
  }
  string(): Buffer {
    return this.take(this.uint32());
  }
}
