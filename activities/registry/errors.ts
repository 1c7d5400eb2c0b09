// Errors that tell a person which registry, request and image failed and what to check, and
// whether trying again can help. Messages never carry credentials (invariant 10).

export interface RegistryErrorInit {
  registry: string;
  method: string;
  /** What was asked for, e.g. `acme/web:1.4`, `acme/web tags`, `token for repository:acme/web:pull`. */
  target: string;
  /** HTTP status; undefined when no answer came (network error, timeout) or none was needed. */
  status?: number;
  retryable: boolean;
  /** Human text after the arrow: `401 unauthorized (check the registry's credentials)`. */
  problem: string;
  /** How long the registry asked us to wait, when it asked for longer than we wait in-process. */
  retryAfterMs?: number;
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly registry: string;
  readonly method: string;
  readonly target: string;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(init: RegistryErrorInit) {
    super(`registry ${init.registry}: ${init.method} ${init.target} → ${init.problem}`);
    this.registry = init.registry;
    this.method = init.method;
    this.target = init.target;
    this.status = init.status;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** 429 and server-side failures may pass; anything else is the request's or the config's fault. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * The text after the arrow for a refused request. `detail` is the registry's own error code and
 * message, already redacted; `credentials` says whether any were configured, to aim the hint.
 */
export function describeStatus(
  status: number,
  opts: {
    credentials: boolean;
    credentialsHint?: string | undefined;
    detail?: string | undefined;
    notFound?: string;
  },
): string {
  const text =
    status === 404 && opts.notFound
      ? `404 ${opts.notFound}`
      : statusText(status, opts.credentials, opts.credentialsHint);
  return opts.detail ? `${text}; registry says ${opts.detail}` : text;
}

function statusText(status: number, credentials: boolean, hint: string | undefined): string {
  switch (status) {
    case 400:
      return '400 bad request';
    case 401:
      if (!credentials) return '401 unauthorized (the registry needs credentials; configure auth for it)';
      return hint
        ? `401 unauthorized (check ${hint})`
        : "401 unauthorized (check the registry's credentials)";
    case 403:
      return '403 forbidden (the credentials lack pull access to this repository)';
    case 404:
      return '404 tag or repository not found';
    case 429:
      return '429 too many requests (rate limited by the registry)';
    default:
      if (status >= 500) return `${status} server error`;
      return `${status} unexpected answer`;
  }
}

/** Replaces every occurrence of a secret with `[redacted]`; empty secrets are ignored. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return out;
}
