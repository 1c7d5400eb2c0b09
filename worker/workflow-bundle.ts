// The workflow code the worker runs, bundled once and cached by the hash of what goes into it:
// every source file under workflows/ and the files they import (not `import type`), and the
// versions of the packages they import and of the bundler. A start with a cached bundle loads
// no bundler and writes nothing; a bundle built by `freshet bundle-workflows` ships in an image.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { findPackageJSON } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LogSink } from './webhooks/types.ts';

/** Bumped when the way Freshet calls the bundler changes (options, interceptors). */
const recipe = 'freshet-workflow-bundle/2';
/** What decides how the bundle is built, beside the packages the sources import. */
const bundlerPackages = ['@temporalio/worker', '@temporalio/workflow', 'webpack', 'swc-loader', '@swc/core'];
const stampPattern = /^\/\* freshet-workflow-bundle inputs:([0-9a-f]{64}) sha256:([0-9a-f]{64}) \*\//;

/** `$FRESHET_CACHE_DIR`, else `$XDG_CACHE_HOME/freshet`, else `~/.cache/freshet`. */
export function workflowBundleCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FRESHET_CACHE_DIR) return resolve(env.FRESHET_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'freshet');
  return join(homedir(), '.cache', 'freshet');
}

/** The cache's file for one inputs hash. */
export function cachedWorkflowBundlePath(inputsHash: string, cacheDir = workflowBundleCacheDir()): string {
  return join(cacheDir, `workflow-bundle-${inputsHash.slice(0, 20)}.js`);
}

export interface WorkflowBundleInputs {
  /** Source files, relative to the folder above workflows/, sorted. */
  files: string[];
  /** name → version of every package the sources import, and of the bundler's. */
  packages: Record<string, string>;
  /** sha256 over the recipe, the packages and every file's path and content. */
  hash: string;
}

const importPattern =
  /(?:^|[;\s])(?:import|export)(\s+type\b)?\s*(?:[\w*${}\s,]*?\s*from\s*)?['"]([^'"\n]+)['"]|\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g;

/** The specifiers a source file imports for their values (type-only imports are erased). */
export function valueImports(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(importPattern)) {
    if (m[1]) continue;
    const specifier = m[2] ?? m[3];
    if (specifier) found.push(specifier);
  }
  return found;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function packageVersion(name: string, from: string): string {
  const path = findPackageJSON(name, pathToFileURL(from).href);
  if (!path) throw new Error(`workflow bundle: package ${name} (imported near ${from}) not found`);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? 'unknown';
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') || f.endsWith('.js'))
    .map((f) => join(dir, f));
}

/**
 * Walks the imports from every file under the workflows folder. Conservative: a value import the
 * bundler would drop still counts, so the hash changes whenever the bundle may.
 */
export function workflowBundleInputs(workflowsPath: string): WorkflowBundleInputs {
  const workflowsDir = dirname(workflowsPath);
  const root = dirname(workflowsDir);
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [resolve(workflowsPath), ...sourcesUnder(workflowsDir)];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of valueImports(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        // A `./x.js` import of x.ts resolves as the bundler does (extensionAlias).
        const candidates = [target, target.replace(/\.js$/, '.ts'), `${target}.ts`, join(target, 'index.ts')];
        const found = candidates.find((c) => existsSync(c) && !c.endsWith('/'));
        if (found && !files.has(found)) queue.push(found);
        continue;
      }
      const name = packageName(specifier);
      if (!packages.has(name)) packages.set(name, packageVersion(name, file));
    }
  }
  const workerPackage = findPackageJSON('@temporalio/worker', import.meta.url) ?? workflowsPath;
  for (const name of bundlerPackages)
    if (!packages.has(name)) packages.set(name, packageVersion(name, workerPackage));

  const sorted = [...files].map((f) => relative(root, f)).sort();
  const hash = createHash('sha256').update(`${recipe}\n`);
  const packageEntries = [...packages].sort(([a], [b]) => a.localeCompare(b));
  for (const [name, version] of packageEntries) hash.update(`package ${name}@${version}\n`);
  for (const f of sorted) {
    const content = readFileSync(join(root, f));
    hash.update(`file ${f} ${content.length}\n`).update(content);
  }
  return { files: sorted, packages: Object.fromEntries(packageEntries), hash: hash.digest('hex') };
}

/**
 * Runs the bundler (webpack and swc, loaded only here). The source map keeps its mappings (stack
 * traces still name the .ts file and line) but not the sources' text: that text, 1.4 MB of the
 * 4 MB bundle, is only read by the stack-trace query with showStackTraceSources, which Freshet
 * leaves off, and every worker would otherwise hold it in memory twice.
 */
export async function buildWorkflowBundle(workflowsPath: string): Promise<string> {
  const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    logger: new DefaultLogger('WARN'),
    webpackConfigHook: (config) => ({ ...config, devtool: 'inline-nosources-source-map' }),
  });
  return code;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Prefixes the code with its stamp on the first line, so line numbers of the source map stay
 * right, and writes it through a temporary file: a reader sees the old file or the whole new one.
 */
export function writeWorkflowBundle(path: string, code: string, inputsHash: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, `/* freshet-workflow-bundle inputs:${inputsHash} sha256:${sha256(code)} */${code}`);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

export type BundleCheck =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'unstamped' | 'corrupt' | 'other-inputs'; detail: string };

/** Whether the file at `path` is an intact bundle built from the inputs hashed as `inputsHash`. */
export function checkWorkflowBundle(path: string, inputsHash: string): BundleCheck {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, reason: 'missing', detail: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
  const stamp = stampPattern.exec(text);
  if (!stamp) return { ok: false, reason: 'unstamped', detail: 'no freshet-workflow-bundle stamp' };
  const actual = sha256(text.slice(stamp[0].length));
  if (actual !== stamp[2])
    return { ok: false, reason: 'corrupt', detail: `content sha256 ${actual}, stamp says ${stamp[2]}` };
  if (stamp[1] !== inputsHash)
    return {
      ok: false,
      reason: 'other-inputs',
      detail: `built from inputs ${stamp[1]}, sources are ${inputsHash}`,
    };
  return { ok: true };
}

export type WorkflowBundle = { codePath: string } | { code: string };

export interface ResolvedWorkflowBundle {
  bundle: WorkflowBundle;
  /** reused: a cached bundle; built: bundled now; given: the file passed in. */
  source: 'reused' | 'built' | 'given';
  path?: string;
  ms: number;
}

/**
 * The bundle to run: `given` (a file from `freshet bundle-workflows`), checked against today's
 * sources when it carries a stamp; else the cache's file for the current inputs hash; else one
 * bundled now and cached. A cached file that is corrupt or stamped for other inputs is rebuilt,
 * never run. An unwritable cache dir (a read-only root) keeps the new bundle in memory.
 */
export async function resolveWorkflowBundle(options: {
  workflowsPath: string;
  given?: string;
  cacheDir?: string;
  log: Pick<LogSink, 'info' | 'warn'>;
}): Promise<ResolvedWorkflowBundle> {
  const { log } = options;
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  const inputs = workflowBundleInputs(options.workflowsPath);
  if (options.given) {
    const path = resolve(options.given);
    const check = checkWorkflowBundle(path, inputs.hash);
    if (!check.ok && check.reason !== 'unstamped')
      throw new Error(
        `workflow bundle ${path}: ${check.reason} (${check.detail}); rebuild it with freshet bundle-workflows`,
      );
    if (!check.ok)
      log.warn(
        { path },
        'workflow bundle has no stamp; cannot tell whether it matches these workflow sources',
      );
    log.info({ path, ms: elapsed() }, 'workflow bundle given');
    return { bundle: { codePath: path }, source: 'given', path, ms: elapsed() };
  }
  const path = cachedWorkflowBundlePath(inputs.hash, options.cacheDir);
  const check = checkWorkflowBundle(path, inputs.hash);
  if (check.ok) {
    log.info({ path, ms: elapsed() }, 'workflow bundle reused');
    return { bundle: { codePath: path }, source: 'reused', path, ms: elapsed() };
  }
  if (check.reason !== 'missing')
    log.warn(
      { path, reason: check.reason, detail: check.detail },
      'cached workflow bundle unusable; rebuilding',
    );
  const code = await buildWorkflowBundle(options.workflowsPath);
  try {
    writeWorkflowBundle(path, code, inputs.hash);
  } catch (err) {
    log.warn(
      { path, error: err instanceof Error ? err.message : String(err) },
      'cannot cache the workflow bundle (read-only?); keeping it in memory: set FRESHET_CACHE_DIR or use freshet bundle-workflows',
    );
    log.info({ ms: elapsed() }, 'workflow bundle built');
    return { bundle: { code }, source: 'built', ms: elapsed() };
  }
  log.info({ path, ms: elapsed() }, 'workflow bundle built');
  return { bundle: { codePath: path }, source: 'built', path, ms: elapsed() };
}
