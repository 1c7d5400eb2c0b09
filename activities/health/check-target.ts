// Check URLs may carry credentials (user:pass@host, ?token=…). fetch refuses the first kind, and
// neither may reach an outcome's detail or an error message: both end up in Temporal history,
// logs and the UI.
import { redact } from '../registry/errors.ts';

/** Query parameters whose values are treated as secrets: token, apiKey, password, client_secret… */
const secretParam = /token|key|password|secret/i;

export interface CheckTarget {
  /** The URL to fetch; user:pass@ has moved into `headers` as Basic auth. */
  url: URL;
  headers: Record<string, string>;
  /** The URL for people, with credentials and secret query values replaced by [redacted]. */
  display: string;
  /** Removes the secret values from any text, such as an error message that quotes a URL. */
  scrub: (text: string) => string;
}

/** Throws a TypeError (that does not quote `raw`) when `raw` is not a URL. */
export function checkTarget(raw: string): CheckTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError('not a valid URL');
  }
  const secrets: string[] = [];
  const headers: Record<string, string> = {};
  const hasUserinfo = url.username !== '' || url.password !== '';
  if (hasUserinfo) {
    const basic = Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString('base64');
    headers.authorization = `Basic ${basic}`;
    secrets.push(url.password, decode(url.password), basic);
    url.username = '';
    url.password = '';
  }
  const query = url.search
    .slice(1)
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0 || !secretParam.test(decode(part.slice(0, eq)))) return part;
      const value = part.slice(eq + 1);
      secrets.push(value, decode(value));
      return `${part.slice(0, eq)}=[redacted]`;
    });
  const display = `${url.protocol}//${hasUserinfo ? '[redacted]@' : ''}${url.host}${url.pathname}${
    query.length > 0 ? `?${query.join('&')}` : ''
  }`;
  return { url, headers, display, scrub: (text) => redact(text, secrets) };
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
