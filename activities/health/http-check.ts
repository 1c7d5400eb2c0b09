// An HTTP health check is an observation: every way an endpoint can fail it (wrong status, body,
// timeout, no connection, even a bad pattern) is an outcome with ok:false, never an exception,
// so the workflow always learns why a stage looks unhealthy.
import { formatDuration } from '../../config/duration.ts';
import { type CheckTarget, CheckUrlError, checkTarget, describeFetchError } from './check-target.ts';
import type { CheckCredentials } from './credentials.ts';
import type { CheckOutcome, HttpCheckSpec } from './types.ts';

/** Only the start of a body is matched, so an endpoint that streams cannot hold a check open. */
export const bodyMatchLimit = 64 * 1024;

/** How a check's request is sent: through which fetch, with which credentials. */
export interface CheckRequestOptions {
  fetch?: typeof fetch;
  credentials?: CheckCredentials;
}

export async function runHttpCheck(
  spec: HttpCheckSpec,
  options: CheckRequestOptions = {},
): Promise<CheckOutcome> {
  const fetchImpl = options.fetch ?? fetch;
  const threshold =
    spec.bodyMatch === undefined
      ? `status ${spec.expectStatus}`
      : `status ${spec.expectStatus}, body ~ /${spec.bodyMatch}/`;
  const outcome = (ok: boolean, detail: string, status?: number): CheckOutcome => ({
    name: spec.name,
    kind: 'http',
    ok,
    ...(status === undefined ? {} : { value: status }),
    threshold,
    detail,
    at: new Date().toISOString(),
  });

  let target: CheckTarget;
  try {
    target = checkTarget(spec.url, options.credentials);
  } catch (err) {
    const why = err instanceof CheckUrlError ? err.message : 'the URL does not parse';
    return outcome(false, `GET not sent: ${why}`);
  }
  const request = `GET ${target.display}`;
  let pattern: RegExp | undefined;
  try {
    pattern = spec.bodyMatch === undefined ? undefined : new RegExp(spec.bodyMatch);
  } catch (err) {
    return outcome(
      false,
      target.scrub(`${request} not sent: bodyMatch is not a valid regular expression (${message(err)})`),
    );
  }

  const signal = AbortSignal.timeout(spec.timeoutMs);
  let status: number | undefined;
  try {
    const res = await fetchImpl(target.url, { headers: target.headers, signal });
    status = res.status;
    if (status !== spec.expectStatus) {
      await res.body?.cancel();
      return outcome(false, `${request} → ${status}, expected ${spec.expectStatus}`, status);
    }
    if (!pattern) {
      await res.body?.cancel();
      return outcome(true, `${request} → ${status}`, status);
    }
    const body = await readStart(res, bodyMatchLimit);
    return pattern.test(body)
      ? outcome(true, `${request} → ${status}, body matches /${spec.bodyMatch}/`, status)
      : outcome(false, `${request} → ${status}, body does not match /${spec.bodyMatch}/`, status);
  } catch (err) {
    const after = status === undefined ? '' : ` → ${status}, body`;
    if (signal.aborted) {
      return outcome(false, `${request}${after} timed out after ${formatDuration(spec.timeoutMs)}`, status);
    }
    return outcome(false, target.scrub(`${request}${after} → ${describeFetchError(err)}`), status);
  }
}

/** The first `limit` bytes of the body as text; the rest is never read. */
async function readStart(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
