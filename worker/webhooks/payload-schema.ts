// Pieces every webhook parser shares: the grammar of image names (so a hint carries only names a
// registry could hold) and the conversion of a zod failure into a short 400 reason. Reasons name
// the field and what was expected, never the value received, so nothing from the request is echoed.
import { z } from 'zod';
import { WebhookPayloadError } from './types.ts';

const pathComponent = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';

export const repositoryName = z
  .string()
  .max(255, 'expected a repository name of at most 255 characters')
  .regex(
    new RegExp(`^${pathComponent}(?:/${pathComponent})*$`),
    'expected a repository name such as acme/web',
  );

export const tagName = z.string().regex(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/, 'expected a tag such as 1.4');

const digestPattern = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
export const digest = z.string().regex(digestPattern, 'expected a digest such as sha256:<hex>');

const hostPattern = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?)(?::\d{1,5})?$/;
export const registryHost = z
  .string()
  .regex(hostPattern, 'expected a registry host such as registry.example.com:5000');

export function isDigest(text: string): boolean {
  return digestPattern.test(text);
}

/**
 * The registry host in front of `<host>/<repository>…` (`docker_url`, `resource_url`), or
 * undefined when the text does not start with a host followed by that repository.
 */
export function hostBefore(repository: string, imageUrl: string): string | undefined {
  const slash = imageUrl.indexOf('/');
  if (slash <= 0) return undefined;
  const host = imageUrl.slice(0, slash);
  const rest = imageUrl.slice(slash + 1);
  if (!rest.startsWith(repository) || !hostPattern.test(host)) return undefined;
  const after = rest.slice(repository.length);
  return after === '' || after.startsWith(':') || after.startsWith('@') ? host : undefined;
}

/** Parses `value` with `schema`, or throws a `WebhookPayloadError` naming the first bad field. */
export function parseOrReject<S extends z.ZodType>(
  schema: S,
  value: unknown,
  at: readonly PropertyKey[] = [],
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = formatPath([...at, ...(issue?.path ?? [])]);
  const message = issue?.message ?? 'unexpected payload';
  throw new WebhookPayloadError(path ? `${path}: ${message}` : message);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}
