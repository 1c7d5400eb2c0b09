// Reads a YAML config file, expands ${VAR} references, validates it against the schema and
// reports every problem with its path and a hint. Nothing else happens on a bad config.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { resolveApproverKeyFiles } from './approver-keys.ts';
import { type Config, configSchema } from './schema.ts';

export interface ConfigProblem {
  path: string;
  message: string;
  line?: number;
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
  return `  ${p.path || '(top level)'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`;
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

/**
 * Replaces ${VAR} and ${VAR:-default} in every string value. Secrets belong in `…Env`/`…File`
 * fields instead, so they are resolved only where used and never copied into workflow inputs.
 */
export function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[] = [],
  problems: ConfigProblem[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(envRef, (_match, key: string, fallback: string | undefined) => {
      const v = env[key];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push({
        path: formatPath(path),
        message: `environment variable ${key} is not set (or use \${${key}:-default})`,
      });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...path, i], problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, [...path, k], problems)]),
    );
  }
  return value;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Check that every …Env secret reference names a set variable and every …File exists. */
  checkSecrets?: boolean;
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
  const config = parseConfig(text, file, options);
  const base = dirname(resolve(file));
  const keyProblems = resolveApproverKeyFiles(config, (p) => (isAbsolute(p) ? p : resolve(base, p)));
  if (keyProblems.length > 0) throw new ConfigError(file, keyProblems);
  return resolvePaths(config, base);
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
  const problems: ConfigProblem[] = [];
  const raw = expandEnv(doc.toJS() ?? {}, options.env ?? process.env, [], problems);
  const result = configSchema.safeParse(raw);
  if (!result.success)
    problems.push(...result.error.issues.map((i) => problemFromIssue(i, doc.contents, lines)));
  if (problems.length > 0) throw new ConfigError(source, problems);
  const config = result.data as Config;
  if (options.checkSecrets) {
    const missing = missingSecrets(config, options.env ?? process.env);
    if (missing.length > 0) throw new ConfigError(source, missing);
  }
  return config;
}

function problemFromIssue(issue: z.core.$ZodIssue, root: unknown, lines: LineCounter): ConfigProblem {
  const line = lineOf(root, issue.path, lines);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see config/freshet.schema.json)`;
  } else if (issue.code === 'invalid_type' && issue.input === undefined) {
    message = `required (expected ${issue.expected})`;
  } else if (
    issue.code === 'invalid_union' &&
    'note' in issue &&
    issue.note === 'No matching discriminator'
  ) {
    message = 'unknown type; expected one of the documented types';
  }
  return { path: formatPath(issue.path), message, ...(line ? { line } : {}) };
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

function missingSecrets(config: Config, env: NodeJS.ProcessEnv): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (obj: object, path: string) => {
    for (const [key, value] of Object.entries(obj)) {
      if (typeof value !== 'string') continue;
      if (key.endsWith('Env') && !env[value]) {
        problems.push({ path: `${path}.${key}`, message: `environment variable ${value} is not set` });
      }
    }
  };
  config.registries.forEach((r, i) => {
    check(r.auth, `registries[${i}].auth`);
    if (r.webhook) check(r.webhook, `registries[${i}].webhook`);
  });
  check(config.temporal, 'temporal');
  return problems;
}

/** Relative file paths in the config are relative to the config file, not the working directory. */
function resolvePaths(config: Config, base: string): Config {
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(base, p));
  for (const cluster of Object.values(config.clusters)) cluster.kubeconfig = abs(cluster.kubeconfig);
  for (const r of config.registries) {
    const auth = r.auth as Record<string, unknown>;
    for (const key of ['usernameFile', 'passwordFile', 'tokenFile']) {
      if (typeof auth[key] === 'string') auth[key] = abs(auth[key] as string);
    }
    if (r.webhook?.tokenFile) r.webhook.tokenFile = abs(r.webhook.tokenFile);
  }
  const tls = config.temporal.tls;
  if (tls) {
    tls.caFile = abs(tls.caFile);
    tls.certFile = abs(tls.certFile);
    tls.keyFile = abs(tls.keyFile);
  }
  config.temporal.apiKeyFile = abs(config.temporal.apiKeyFile);
  return config;
}
