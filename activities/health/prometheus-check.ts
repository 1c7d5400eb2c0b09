// A Prometheus check holds every sample of an instant query to a bound. A query that sees
// nothing, or sees NaN, fails: a check that cannot observe must not pass silently.
import { z } from 'zod';
import { formatDuration } from '../../config/duration.ts';
import { type CheckTarget, CheckUrlError, checkTarget, describeFetchError } from './check-target.ts';
import type { CheckRequestOptions } from './http-check.ts';
import type { CheckOutcome, PrometheusCheckSpec } from './types.ts';

/** Prometheus cannot answer now (no connection, 5xx, 429); thrown so Temporal retries the activity. */
export class PrometheusUnavailableError extends Error {
  override readonly name = 'PrometheusUnavailableError';
}

/** Below Prometheus's own 2m query timeout: a hung connection must not outlive the activity. */
const requestTimeoutMs = 30_000;

/** [unix seconds, value as text]; the text may be NaN, +Inf or -Inf. */
const sampleValue = z.tuple([z.number(), z.string()]);

const queryAnswer = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({
        resultType: z.literal('vector'),
        result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sampleValue })),
      }),
      z.object({ resultType: z.literal('scalar'), result: sampleValue }),
      z.object({ resultType: z.literal('matrix'), result: z.array(z.unknown()) }),
      z.object({ resultType: z.literal('string'), result: sampleValue }),
    ]),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string() }),
]);
type QueryAnswer = z.infer<typeof queryAnswer>;
type QueryData = Extract<QueryAnswer, { status: 'success' }>['data'];

interface Sample {
  labels: Record<string, string>;
  value: number;
  /** As Prometheus wrote it, for details and for non-finite values that JSON cannot carry. */
  text: string;
}

export async function runPrometheusCheck(
  spec: PrometheusCheckSpec,
  options: CheckRequestOptions = {},
): Promise<CheckOutcome> {
  const fetchImpl = options.fetch ?? fetch;
  const threshold = describeBound(spec);
  const query = spec.query.replace(/\s+/g, ' ').trim();
  const outcome = (ok: boolean, detail: string, value?: number | string): CheckOutcome => ({
    name: spec.name,
    kind: 'prometheus',
    ok,
    ...(value === undefined ? {} : { value }),
    threshold,
    detail,
    at: new Date().toISOString(),
  });

  let target: CheckTarget;
  try {
    target = checkTarget(spec.url, options.credentials);
  } catch (err) {
    const why = err instanceof CheckUrlError ? err.message : 'the URL does not parse';
    return outcome(false, `${query}: not sent: ${why}`);
  }
  target.url.pathname = `${target.url.pathname.replace(/\/+$/, '')}/api/v1/query`;
  target.url.searchParams.append('query', spec.query);
  const unavailable = (why: string) =>
    new PrometheusUnavailableError(target.scrub(`prometheus ${target.display}: query ${query} → ${why}`));

  let status: number;
  let text: string;
  try {
    const res = await fetchImpl(target.url, {
      headers: { ...target.headers, accept: 'application/json' },
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    throw unavailable(
      timedOut ? `timed out after ${formatDuration(requestTimeoutMs)}` : describeFetchError(err),
    );
  }
  const answer = queryAnswer.safeParse(parseJson(text));
  const parsed = answer.success ? answer.data : undefined;
  // A Prometheus that cannot answer says nothing about the stage: retry instead of failing the check.
  if (status >= 500 || status === 429) {
    throw unavailable(`${status}${parsed?.status === 'error' ? describeError(parsed) : ''}`);
  }
  if (parsed === undefined) {
    const what = status >= 400 ? `answered ${status}` : 'gave an answer that is not a query result';
    return outcome(false, target.scrub(`${query}: Prometheus ${what}: ${snippet(text)}`));
  }
  if (parsed.status === 'error') {
    return outcome(false, target.scrub(`${query}: Prometheus rejected the query${describeError(parsed)}`));
  }

  const samples = samplesOf(parsed.data);
  if (typeof samples === 'string') return outcome(false, `${query}: ${samples}`);
  if (samples.length === 0) return outcome(false, `${query}: query returned no data`);

  const worst = samples.reduce((a, b) => (badness(b, spec) > badness(a, spec) ? b : a));
  const verdict = judge(worst, spec, threshold);
  const value = Number.isFinite(worst.value) ? worst.value : worst.text;
  let detail = `${query} = ${worst.text}${verdict.text}`;
  if (samples.length > 1) {
    const failing = samples.filter((s) => !judge(s, spec, threshold).ok).length;
    const summary =
      failing > 0
        ? `${failing} of ${samples.length} series out of bounds`
        : `worst of ${samples.length} series`;
    detail += ` at ${describeLabels(worst.labels)} (${summary})`;
  }
  return outcome(verdict.ok, detail, value);
}

/** The samples to judge, or why the answer has none that a bound can apply to. */
function samplesOf(data: QueryData): Sample[] | string {
  switch (data.resultType) {
    case 'vector':
      return data.result.map((s) => sample(s.metric, s.value[1]));
    case 'scalar':
      return [sample({}, data.result[1])];
    case 'matrix':
      return 'query returned a range vector; a check needs an instant vector or a scalar';
    case 'string':
      return 'query returned a string, not a number';
  }
}

function sample(labels: Record<string, string>, text: string): Sample {
  const special: Record<string, number> = { NaN: Number.NaN, '+Inf': Infinity, '-Inf': -Infinity };
  return { labels, text, value: special[text] ?? Number(text) };
}

/** How far past its bound a sample is (negative when inside); NaN is the worst of all. */
function badness(s: Sample, { max, min }: PrometheusCheckSpec): number {
  if (Number.isNaN(s.value)) return Infinity;
  return Math.max(
    max === undefined ? -Infinity : s.value - max,
    min === undefined ? -Infinity : min - s.value,
  );
}

/** Whether a sample keeps the bound, and the text that follows `query = value` in a detail. */
function judge(
  s: Sample,
  { max, min }: PrometheusCheckSpec,
  threshold: string,
): { ok: boolean; text: string } {
  if (Number.isNaN(s.value)) return { ok: false, text: `, not a number (cannot hold it to ${threshold})` };
  if (max !== undefined && s.value > max) return { ok: false, text: ` > max ${max}` };
  if (min !== undefined && s.value < min) return { ok: false, text: ` < min ${min}` };
  if (max !== undefined && min !== undefined) return { ok: true, text: `, between ${min} and ${max}` };
  if (max !== undefined) return { ok: true, text: ` <= max ${max}` };
  if (min !== undefined) return { ok: true, text: ` >= min ${min}` };
  return { ok: true, text: '' };
}

/** Follows the status or the words it explains: ` (bad_data): parse error…`. */
function describeError(answer: Extract<QueryAnswer, { status: 'error' }>): string {
  return answer.errorType ? ` (${answer.errorType}): ${answer.error}` : `: ${answer.error}`;
}

function describeBound({ max, min }: PrometheusCheckSpec): string {
  if (max !== undefined && min !== undefined) return `between ${min} and ${max}`;
  if (max !== undefined) return `<= ${max}`;
  if (min !== undefined) return `>= ${min}`;
  return 'any number';
}

function describeLabels(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine || '(empty body)';
}
