// Resolves secret references (…Env / …File) where a secret is used: in activities and the
// daemon, never in workflow code, so secrets stay out of workflow histories.
import { readFileSync } from 'node:fs';

export class SecretError extends Error {
  override name = 'SecretError';
}

export function resolveSecret(
  ref: { env?: string | undefined; file?: string | undefined },
  what: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (ref.env !== undefined) {
    const value = env[ref.env];
    if (!value) throw new SecretError(`${what}: environment variable ${ref.env} is not set`);
    return value;
  }
  if (ref.file !== undefined) {
    let value: string;
    try {
      value = readFileSync(ref.file, 'utf8').trim();
    } catch (err) {
      throw new SecretError(`${what}: cannot read ${ref.file} (${(err as NodeJS.ErrnoException).code})`);
    }
    if (!value) throw new SecretError(`${what}: ${ref.file} is empty`);
    return value;
  }
  throw new SecretError(`${what}: no secret reference given`);
}
