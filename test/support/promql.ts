// A small PromQL scanner for checking dashboards and rule files: which metrics an expression
// selects (with the labels it matches on and the functions around each selector) and which label
// names it groups or matches by. Not a parser: syntax is left to promtool and Prometheus itself.

export interface Selector {
  /** The metric name, or undefined for a selector like {__name__=~"..."}. */
  metric: string | undefined;
  /** Label names in the selector's matchers. */
  labels: string[];
  /** Followed by a range ([5m] or a subquery). */
  range: boolean;
  /** Has an offset modifier. */
  offset: boolean;
  /** Enclosing function and aggregation names, innermost last. */
  within: string[];
}

export interface PromqlScan {
  selectors: Selector[];
  /** Labels named in by/without (aggregations). */
  groupingLabels: string[];
  /** Labels named in on/ignoring/group_left/group_right (vector matching). */
  matchingLabels: string[];
  functions: string[];
}

export const aggregations = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);
const labelListKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const keywords = new Set([
  ...labelListKeywords,
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'atan2',
  'inf',
  'nan',
]);

type Token = { kind: 'ident' | 'string' | 'number' | 'punct' | 'range'; text: string };

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' && c !== '`' ? 2 : 1;
      tokens.push({ kind: 'string', text: expr.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '[') {
      const j = expr.indexOf(']', i);
      if (j < 0) throw new Error(`unclosed [ in ${expr}`);
      tokens.push({ kind: 'range', text: expr.slice(i + 1, j) });
      i = j + 1;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?(?:(?:ms|[smhdwy])[0-9]*)*)/.exec(
        expr.slice(i),
      );
      const text = m?.[0] || c;
      tokens.push({ kind: 'number', text });
      i += text.length;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const text = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))?.[0] ?? c;
      tokens.push({ kind: 'ident', text });
      i += text.length;
    } else {
      const two = expr.slice(i, i + 2);
      const text = ['==', '!=', '>=', '<=', '=~', '!~'].includes(two) ? two : c;
      tokens.push({ kind: 'punct', text });
      i += text.length;
    }
  }
  return tokens;
}

export function scanPromql(expr: string): PromqlScan {
  const tokens = tokenize(expr);
  const scan: PromqlScan = { selectors: [], groupingLabels: [], matchingLabels: [], functions: [] };
  // One entry per open parenthesis: the function or aggregation it belongs to, else ''.
  const parens: string[] = [];
  let pendingCall: string | undefined;
  const at = (i: number) => tokens[i];
  let i = 0;
  while (i < tokens.length) {
    const t = at(i);
    if (!t) break;
    if (t.kind === 'ident' && labelListKeywords.has(t.text)) {
      // A label list: by (a, b) — group_left/right may have none.
      const list: string[] = [];
      let j = i + 1;
      if (at(j)?.text === '(') {
        j++;
        while (j < tokens.length && at(j)?.text !== ')') {
          const l = at(j);
          if (l?.kind === 'ident') list.push(l.text);
          j++;
        }
        j++;
      }
      const into = t.text === 'by' || t.text === 'without' ? scan.groupingLabels : scan.matchingLabels;
      into.push(...list);
      i = j;
      continue;
    }
    if (
      t.kind === 'ident' &&
      (aggregations.has(t.text) || at(i + 1)?.text === '(') &&
      !keywords.has(t.text)
    ) {
      // A function call or an aggregation (whose by/without may come before the parenthesis).
      scan.functions.push(t.text);
      pendingCall = t.text;
      i++;
      continue;
    }
    if (t.text === '(') {
      parens.push(pendingCall ?? '');
      pendingCall = undefined;
      i++;
      continue;
    }
    if (t.text === ')') {
      parens.pop();
      i++;
      continue;
    }
    const startsSelector =
      (t.kind === 'ident' && !keywords.has(t.text)) || (t.kind === 'punct' && t.text === '{');
    if (startsSelector) {
      const selector: Selector = {
        metric: t.kind === 'ident' ? t.text : undefined,
        labels: [],
        range: false,
        offset: false,
        within: parens.filter(Boolean),
      };
      let j = t.kind === 'ident' ? i + 1 : i;
      if (at(j)?.text === '{') {
        j++;
        while (j < tokens.length && at(j)?.text !== '}') {
          const l = at(j);
          if (l?.kind === 'ident' && ['=', '!=', '=~', '!~'].includes(at(j + 1)?.text ?? '')) {
            if (l.text === '__name__' && selector.metric === undefined) selector.metric = at(j + 2)?.text;
            else selector.labels.push(l.text);
          }
          j++;
        }
        j++;
      }
      if (at(j)?.kind === 'range') {
        selector.range = true;
        j++;
      }
      if (at(j)?.text === 'offset') {
        selector.offset = true;
        j += 2;
      }
      scan.selectors.push(selector);
      i = j;
      continue;
    }
    i++;
  }
  return scan;
}

/** Replaces Grafana's variables with values Prometheus accepts. */
export function substituteGrafanaVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a, b, c) => {
    const name = a ?? b ?? c;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for Grafana variable ${whole} in ${expr}`);
    return value;
  });
}

export const grafanaBuiltins = { __rate_interval: '1m', __interval: '15s', __range: '10m' };

/** `label_values(metric{…}, label)` of a Grafana variable query → [selector expression, label]. */
export function parseLabelValuesQuery(query: string): { match: string; label: string } | undefined {
  const m = /^\s*label_values\(\s*(.*?)\s*,\s*([a-zA-Z_]\w*)\s*\)\s*$/s.exec(query);
  return m?.[1] && m[2] ? { match: m[1], label: m[2] } : undefined;
}

// The repository's dashboard and rule files, as the unit and e2e tests read them.

export interface DashboardTarget {
  expr: string;
  refId: string;
  legendFormat?: string;
  instant?: boolean;
  format?: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
}

export interface DashboardVariable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type?: string; uid?: string };
  allValue?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: DashboardVariable[] };
  panels: DashboardPanel[];
}

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleFile {
  groups: { name: string; interval?: string; rules: Rule[] }[];
}

export const variableQuery = (v: DashboardVariable) =>
  typeof v.query === 'string' ? v.query : v.query.query;
