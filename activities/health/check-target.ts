// Where a check sends its request, with the credentials the activity resolved from the config.
// The config refuses URLs that carry credentials; a URL that still does (from a workflow input
// written by hand) is refused here too, and secret-looking query values never reach a detail,
// an error message, a log or the UI.
import { isSecretParameter } from '../../config/url-credentials.ts';
import { redact } from '../registry/errors.ts';
import { type CheckCredentials, noCredentials } from './credentials.ts';

export interface CheckTarget {
  url: URL;
  headers: Record<string, string>;
  /** The URL for people, with secret query values replaced by [redacted]. */
  display: string;
  /** Removes the secret values from any text, such as an error message that quotes a request. */
  scrub: (text: string) => string;
}

export class CheckUrlError extends TypeError {
  override name = 'CheckUrlError';
}

/** Throws a CheckUrlError (that does not quote `raw`) when `raw` is not a URL or carries credentials. */
export function checkTarget(raw: string, credentials: CheckCredentials = noCredentials): CheckTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CheckUrlError('the URL does not parse');
  }
  if (url.username !== '' || url.password !== '') {
    throw new CheckUrlError('the URL carries credentials (user:password@); configure basicAuth instead');
  }
  const secrets = [...credentials.secrets];
  const query = url.search
    .slice(1)
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0 || !isSecretParameter(decode(part.slice(0, eq)))) return part;
      const value = part.slice(eq + 1);
      secrets.push(value, decode(value));
      return `${part.slice(0, eq)}=[redacted]`;
    });
  const display = `${url.protocol}//${url.host}${url.pathname}${query.length > 0 ? `?${query.join('&')}` : ''}`;
  return { url, headers: { ...credentials.headers }, display, scrub: (text) => redact(text, secrets) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Why a request got no answer, in a few words (`connection refused`); timeouts are the caller's to name. */
export function describeFetchError(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
  }
  if (cause) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
