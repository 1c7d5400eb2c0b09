// Resolves secret references (…Env / …File) where a secret is used: in activities and the
// daemon, never in workflow code, so secrets stay out of workflow histories.
import { readFileSync } from 'node:fs';

export class SecretError extends Error {
  override name = 'SecretError';
}

export function resolveSecret(
  ref: { env?: string | undefined; file?: string | undefined },
  what: string,
): string {
  if (ref.env !== undefined) {
    const value = process.env[ref.env];
    if (!value) throw new SecretError(`${what}: environment variable ${ref.env} is not set`);
    return value;
  }
  if (ref.file !== undefined) {
    try {
      return readFileSync(ref.file, 'utf8').trim();
    } catch (err) {
      throw new SecretError(`${what}: cannot read ${ref.file} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  throw new SecretError(`${what}: no secret reference given`);
}
