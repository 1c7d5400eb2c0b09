// One POST to a sink, reduced to what may be said about it: the status or the kind of network
// failure, never the URL (a Slack webhook URL is itself the secret) nor the response body.

export class DeliveryError extends Error {
  override name = 'DeliveryError';
  /** False when sending the same request again cannot help (the receiver refused it). */
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.retryable = retryable;
  }
}

export async function postBody(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new DeliveryError(networkProblem(err, timeoutMs), true);
  }
  await res.body?.cancel().catch(() => undefined);
  if (res.ok) return;
  // 408, 425, 429 and 5xx may pass later; any other 4xx refuses this request for good.
  const retryable = res.status >= 500 || [408, 425, 429].includes(res.status);
  throw new DeliveryError(`HTTP ${res.status}`, retryable);
}

function networkProblem(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  return code ? `network error (${code})` : 'network error';
}
