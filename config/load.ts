// Reads a YAML config file, expands ${VAR} references, validates it against the schema and
// reports every problem with its path and a hint. Nothing else happens on a bad config.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { resolveApproverKeyFiles } from './approver-keys.ts';
import { type Config, configSchema } from './schema.ts';
import { configReferences, isFileKey } from './secret-references.ts';

export interface ConfigProblem {
  path: string;
  message: string;
  line?: number;
  /** The ${VAR}s the value at `path` came from; their values never appear in `message`. */
  from?: string[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: ConfigProblem[];
  constructor(source: string, problems: ConfigProblem[]) {
    super(
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map(formatProblem).join('\n')}`,
    );
    this.problems = problems;
  }
}

function formatProblem(p: ConfigProblem): string {
  const where = [
    ...(p.line ? [`line ${p.line}`] : []),
    ...(p.from?.length ? [`from ${p.from.map((v) => `\${${v}}`).join(', ')}`] : []),
  ];
  return `  ${p.path || '(top level)'}${where.length ? ` (${where.join(', ')})` : ''}: ${p.message}`;
}

/** `pipelines.web.stages[1].approval.timeout` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

const envRef = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** One ${VAR} replaced by its value from the environment, and where. */
export interface Expansion {
  path: string;
  name: string;
  value: string;
}

/**
 * Replaces ${VAR} and ${VAR:-default} in every string value. Secrets belong in `…Env`/`…File`
 * fields instead, so they are resolved only where used and never copied into workflow inputs.
 * Each replacement from the environment is noted in `expansions`, so errors can leave it out.
 */
export function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[] = [],
  problems: ConfigProblem[] = [],
  expansions: Expansion[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(envRef, (_match, key: string, fallback: string | undefined) => {
      const v = env[key];
      if (v !== undefined && v !== '') {
        expansions.push({ path: formatPath(path), name: key, value: v });
        return v;
      }
      if (fallback !== undefined) return fallback;
      problems.push({
        path: formatPath(path),
        message: `environment variable ${key} is not set (or use \${${key}:-default})`,
      });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...path, i], problems, expansions));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, [...path, k], problems, expansions)]),
    );
  }
  return value;
}

/**
 * A problem with every value that came from the environment replaced by its ${VAR}, wherever
 * the message quotes it (cross-references quote other paths' values too), and the variables
 * behind its own path named in `from`.
 */
export function withoutExpandedValues(
  problem: ConfigProblem,
  expansions: readonly Expansion[],
): ConfigProblem {
  const related = (at: string) =>
    at === problem.path ||
    problem.path === '' ||
    at.startsWith(`${problem.path}.`) ||
    at.startsWith(`${problem.path}[`);
  let message = problem.message;
  // Longest first, so a value that contains another is replaced whole. Very short values are
  // replaced only in problems about their own path: elsewhere they would mangle ordinary words.
  for (const e of [...expansions].sort((a, b) => b.value.length - a.value.length)) {
    if (e.value.length >= 4 || related(e.path)) message = message.split(e.value).join(`\${${e.name}}`);
  }
  const from = [...new Set(expansions.filter((e) => related(e.path)).map((e) => e.name))];
  return { ...problem, message, ...(from.length > 0 ? { from } : {}) };
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Check that every …Env names a set variable and every …File is a readable, non-empty file. */
  checkSecrets?: boolean;
  /** Where relative paths (kubeconfig, …File) start; by default they stay as written. */
  baseDir?: string;
}

export function loadConfigFile(file: string, options: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [
      { path: '', message: `cannot read the file (${(err as NodeJS.ErrnoException).code})` },
    ]);
  }
  const base = dirname(resolve(file));
  const config = parseConfig(text, file, { ...options, baseDir: base });
  const keyProblems = resolveApproverKeyFiles(config, (p) => (isAbsolute(p) ? p : resolve(base, p)));
  if (keyProblems.length > 0) throw new ConfigError(file, keyProblems);
  return config;
}

export function parseConfig(text: string, source = 'config', options: LoadOptions = {}): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({
        path: '',
        line: lines.linePos(e.pos[0]).line,
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const document: unknown = doc.toJS();
  if (document === null || document === undefined) {
    throw new ConfigError(source, [
      {
        path: '',
        message:
          'the config is empty; it needs at least registries, images and, to roll out, clusters and pipelines (see config/examples/minimal.yaml)',
      },
    ]);
  }
  const problems: ConfigProblem[] = [];
  const expansions: Expansion[] = [];
  const raw = expandEnv(document, options.env ?? process.env, [], problems, expansions);
  const result = configSchema.safeParse(raw);
  if (!result.success)
    problems.push(...result.error.issues.map((i) => problemFromIssue(i, raw, doc.contents, lines)));
  const fail = (found: ConfigProblem[]) =>
    new ConfigError(
      source,
      found.map((p) => withoutExpandedValues(p, expansions)),
    );
  if (problems.length > 0 || !result.success) throw fail(problems);
  const config = options.baseDir ? resolvePaths(result.data, options.baseDir) : result.data;
  if (options.checkSecrets) {
    const missing = missingSecrets(config, options.env ?? process.env);
    if (missing.length > 0) throw fail(missing);
  }
  return config;
}

function problemFromIssue(
  issue: z.core.$ZodIssue,
  raw: unknown,
  root: unknown,
  lines: LineCounter,
): ConfigProblem {
  const line = lineOf(root, issue.path, lines);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see config/freshet.schema.json)`;
  } else if (issue.code === 'invalid_type') {
    message = wrongType(issue.expected, issue.path, raw);
  } else if (
    issue.code === 'invalid_union' &&
    'note' in issue &&
    issue.note === 'No matching discriminator'
  ) {
    message = 'unknown type; expected one of the documented types';
  }
  return { path: formatPath(issue.path), message, ...(line ? { line } : {}) };
}

/** `required (expected an array)` for a missing key, `expected an array, got a string` for a present one. */
function wrongType(expected: string, path: readonly PropertyKey[], raw: unknown): string {
  const found = valueAt(raw, path);
  const want = expectedNames[expected] ?? expected;
  if (!found.present) return `required (expected ${want})`;
  const at = path.length === 0 ? `${want} (keys such as registries and images)` : want;
  return `expected ${at}, got ${describeValue(found.value, expected)}`;
}

const expectedNames: Record<string, string> = {
  array: 'an array',
  object: 'an object',
  record: 'an object',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

function describeValue(value: unknown, expected: string): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && expected === 'int' && Number.isFinite(value)) return 'a fraction';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'boolean' ? 'true or false' : `a ${typeof value}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): { present: boolean; value?: unknown } {
  let value = raw;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return { present: false };
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { present: value !== undefined, value };
}

/** The line of the deepest YAML node that exists along `path`, for error messages. */
function lineOf(root: unknown, path: readonly PropertyKey[], lines: LineCounter): number | undefined {
  let node = root as YamlNode | null | undefined;
  let line: number | undefined;
  const note = (n: YamlNode | null | undefined) => {
    if (n?.range) line = lines.linePos(n.range[0]).line;
  };
  note(node);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      note(pair.key as YamlNode);
      node = pair.value as YamlNode;
      note(node);
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key] as YamlNode;
      note(node);
    } else break;
  }
  return line;
}

/**
 * Every secret reference that would not resolve: an `…Env` naming an unset variable, a `…File`
 * that is missing, unreadable or empty. Never reads out what a file holds.
 */
function missingSecrets(config: Config, env: NodeJS.ProcessEnv): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const ref of configReferences(config)) {
    const why = ref.key.endsWith('Env')
      ? env[ref.value]
        ? undefined
        : `environment variable ${ref.value} is not set`
      : isFileKey(ref.key)
        ? unreadableFile(ref.value)
        : undefined;
    if (why) problems.push({ path: formatPath(ref.path), message: why });
  }
  return problems;
}

function unreadableFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path} (${code})`;
  }
  return text.trim() === '' ? `${path} is empty` : undefined;
}

/** Relative file paths in the config (kubeconfig, every `…File`, a Docker config's `file`) are relative to the config file. */
function resolvePaths(config: Config, base: string): Config {
  for (const ref of configReferences(config)) {
    if (ref.key.endsWith('Env') || isAbsolute(ref.value)) continue;
    ref.owner[ref.key] = resolve(base, ref.value);
  }
  return config;
}
