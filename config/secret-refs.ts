// How the config names a secret: never its value, only where the worker finds it, an environment
// variable (`…Env`) or a file (`…File`), resolved where the secret is used.
import { z } from 'zod';

export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');
export const filePath = z.string().min(1);

/** `{ keyEnv?, keyFile? }`, to spread into a strict object. */
export function secretRef<K extends string>(key: K) {
  return {
    [`${key}Env`]: envName.optional(),
    [`${key}File`]: filePath.optional(),
  } as { [P in `${K}Env`]: z.ZodOptional<typeof envName> } & {
    [P in `${K}File`]: z.ZodOptional<typeof filePath>;
  };
}

export function exactlyOneSecret(key: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const set = [`${key}Env`, `${key}File`].filter((k) => value[k] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [set.length === 0 ? `${key}Env` : `${key}File`],
        message: `set exactly one of ${key}Env (an environment variable name) or ${key}File (a file path)`,
      });
    }
  };
}

/** A user name (not secret, so it may be literal) and a password, for HTTP Basic auth. */
export const basicAuthFields = {
  username: z.string().min(1).optional(),
  ...secretRef('username'),
  ...secretRef('password'),
};

export function checkBasicAuth(
  v: { username?: string | undefined; usernameEnv?: string | undefined; usernameFile?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if ([v.username, v.usernameEnv, v.usernameFile].filter((x) => x !== undefined).length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['username'],
      message: 'set exactly one of username, usernameEnv or usernameFile',
    });
  }
  exactlyOneSecret('password')(v, ctx);
}
