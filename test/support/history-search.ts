// Searches every history of a task queue for strings that must never be there (secrets): the raw
// history JSON, and every base64 field decoded, recursively (payload data of inputs, results,
// signals, markers, memo, search attributes and failure details, and anything encoded inside).
import type { Client } from '@temporalio/client';

export interface HistoryHit {
  workflowId: string;
  runId: string;
  /** Where in the history: `events[12].activityTaskScheduledEventAttributes.input.payloads[0].data`. */
  at: string;
  needle: string;
}

export interface HistorySearch {
  workflows: string[];
  events: number;
  /** How many base64 fields were decoded and searched. */
  decoded: number;
  hits: HistoryHit[];
}

export async function searchHistories(
  client: Client,
  taskQueue: string,
  needles: readonly string[],
): Promise<HistorySearch> {
  const result: HistorySearch = { workflows: [], events: 0, decoded: 0, hits: [] };
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    // Bytes as base64, as the API's JSON form (and `temporal workflow show -o json`) writes them.
    const json = JSON.parse(JSON.stringify(history, bytesAsBase64)) as { events?: unknown[] };
    result.workflows.push(`${wf.workflowId} (${wf.type}, ${wf.status.name})`);
    result.events += json.events?.length ?? 0;
    const hit = (at: string, needle: string) =>
      result.hits.push({ workflowId: wf.workflowId, runId: wf.runId, at, needle });
    const raw = JSON.stringify(json);
    for (const needle of needles) if (raw.includes(needle)) hit('(raw history JSON)', needle);
    walk(
      json,
      'history',
      (at, text) => {
        for (const needle of needles) if (text.includes(needle)) hit(at, needle);
      },
      () => {
        result.decoded++;
      },
    );
  }
  return result;
}

/** A JSON.stringify replacer; it reads the holder, since a Buffer's own toJSON runs first. */
function bytesAsBase64(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  return original instanceof Uint8Array ? Buffer.from(original).toString('base64') : value;
}

const base64 = /^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Calls `visit` with every string in `value`, and with the decoded text of every base64 one. */
function walk(
  value: unknown,
  at: string,
  visit: (at: string, text: string) => void,
  decoded: () => void,
  depth = 0,
): void {
  if (typeof value === 'string') {
    visit(at, value);
    if (depth < 4 && value.length >= 4 && base64.test(value)) {
      const text = Buffer.from(value, 'base64').toString('utf8');
      decoded();
      visit(`${at} (decoded)`, text);
      walk(parseJson(text), `${at} (decoded)`, visit, decoded, depth + 1);
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      walk(v, `${at}[${i}]`, visit, decoded, depth);
    });
    return;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, `${at}.${k}`, visit, decoded, depth);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
