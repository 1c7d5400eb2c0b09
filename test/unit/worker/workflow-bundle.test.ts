// The workflow bundle is built once per content hash and reused; a changed source, a corrupt
// file or a bundle of other sources is never run. Real bundler, real files, no server needed.
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowsPath } from '../../../worker/daemon.ts';
import {
  cachedWorkflowBundlePath,
  checkWorkflowBundle,
  resolveWorkflowBundle,
  valueImports,
  workflowBundleCacheDir,
  workflowBundleInputs,
  writeWorkflowBundle,
} from '../../../worker/workflow-bundle.ts';

const repoNodeModules = fileURLToPath(new URL('../../../node_modules', import.meta.url));
let dir: string;

/** A small project: workflows/ with a value import, a type-only import and a package import. */
function writeTree(root: string) {
  mkdirSync(join(root, 'workflows'), { recursive: true });
  mkdirSync(join(root, 'lib'));
  mkdirSync(join(root, 'activities'));
  symlinkSync(repoNodeModules, join(root, 'node_modules'));
  writeFileSync(
    join(root, 'workflows/index.ts'),
    [
      "import { sleep } from '@temporalio/workflow';",
      "import type { Greeting } from '../activities/types.ts';",
      "import { greet } from './greet.ts';",
      'export async function tiny(): Promise<Greeting> {',
      '  await sleep(1);',
      '  return greet();',
      '}',
    ].join('\n'),
  );
  writeFileSync(
    join(root, 'workflows/greet.ts'),
    "import {\n  word,\n} from '../lib/word.js';\nexport const greet = () => 'hello ' + word;\n",
  );
  writeFileSync(join(root, 'workflows/unused.ts'), 'export const unused = 1;\n');
  writeFileSync(join(root, 'lib/word.ts'), "export const word = 'world';\n");
  writeFileSync(join(root, 'activities/types.ts'), 'export type Greeting = string;\n');
  return join(root, 'workflows/index.ts');
}

function recordingLog() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  return {
    lines,
    messages: () => lines.map((l) => `${l.level} ${l.message}`),
    info: (fields: Record<string, unknown>, message: string) =>
      lines.push({ level: 'info', message, fields }),
    warn: (fields: Record<string, unknown>, message: string) =>
      lines.push({ level: 'warn', message, fields }),
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-bundle-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('valueImports', () => {
  it('finds value imports and re-exports, skips type-only ones', () => {
    const source = [
      "import { a, type B } from './a.ts';",
      "import type { C } from './c.ts';",
      "export type { D } from './d.ts';",
      "import * as e from '@scope/e/sub';",
      "export { f } from './f.ts';",
      "export * from './g.ts';",
      "import './side-effect.ts';",
      "const h = await import('./h.ts');",
      "import {\n  i,\n  j,\n} from 'zod';",
    ].join('\n');
    expect(valueImports(source).sort()).toEqual(
      ['./a.ts', '@scope/e/sub', './f.ts', './g.ts', './side-effect.ts', './h.ts', 'zod'].sort(),
    );
  });
});

describe('workflowBundleInputs', () => {
  it('hashes the workflow sources, what they import for values, and package versions', () => {
    const root = join(dir, 'inputs');
    const path = writeTree(root);
    const first = workflowBundleInputs(path);
    expect(first.files).toEqual([
      'lib/word.ts',
      'workflows/greet.ts',
      'workflows/index.ts',
      'workflows/unused.ts',
    ]);
    expect(first.packages['@temporalio/workflow']).toMatch(/^1\.24\./);
    expect(first.packages['@temporalio/worker']).toMatch(/^1\.24\./);
    expect(workflowBundleInputs(path).hash).toBe(first.hash);

    // Only a type flows from activities/: changing it cannot change the bundle.
    writeFileSync(join(root, 'activities/types.ts'), 'export type Greeting = string | number;\n');
    expect(workflowBundleInputs(path).hash).toBe(first.hash);

    writeFileSync(join(root, 'lib/word.ts'), "export const word = 'there';\n");
    const changedImport = workflowBundleInputs(path).hash;
    expect(changedImport).not.toBe(first.hash);

    writeFileSync(join(root, 'workflows/unused.ts'), 'export const unused = 2;\n');
    expect(workflowBundleInputs(path).hash).not.toBe(changedImport);
  });

  it("covers Freshet's own workflows and the config code they import", () => {
    const inputs = workflowBundleInputs(workflowsPath);
    expect(inputs.files).toContain('workflows/index.ts');
    expect(inputs.files).toContain('workflows/rollout/stage.ts');
    expect(inputs.files).toContain('config/duration.ts');
    expect(inputs.files.some((f) => f.startsWith('worker/'))).toBe(false);
    expect(Object.keys(inputs.packages)).toEqual(expect.arrayContaining(['zod', '@temporalio/workflow']));
  });
});

describe('workflowBundleCacheDir', () => {
  it('prefers FRESHET_CACHE_DIR, then XDG_CACHE_HOME/freshet, then ~/.cache/freshet', () => {
    expect(workflowBundleCacheDir({ FRESHET_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/c');
    expect(workflowBundleCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/freshet');
    expect(workflowBundleCacheDir({})).toMatch(/\/\.cache\/freshet$/);
  });
});

// Each build runs webpack: seconds, more on a loaded machine.
describe('resolveWorkflowBundle', { timeout: 120_000 }, () => {
  let path: string;
  let cacheDir: string;
  beforeAll(() => {
    path = writeTree(join(dir, 'cached'));
    cacheDir = join(dir, 'cache');
  });

  it('bundles on the first start and reuses the file on the second, without bundling', async () => {
    const log = recordingLog();
    const built = await resolveWorkflowBundle({ workflowsPath: path, cacheDir, log });
    expect(built.source).toBe('built');
    expect(built.path).toBe(cachedWorkflowBundlePath(workflowBundleInputs(path).hash, cacheDir));
    expect(log.messages()).toEqual(['info workflow bundle built']);
    const text = readFileSync(built.path ?? '', 'utf8');
    expect(text).toContain('hello ');
    // Mappings for stack traces, none of the sources' text.
    const map = JSON.parse(Buffer.from(text.slice(text.lastIndexOf('base64,') + 7), 'base64').toString()) as {
      sources: string[];
      sourcesContent?: unknown[];
      mappings: string;
    };
    expect(map.sources.some((s) => s.endsWith('workflows/greet.ts'))).toBe(true);
    expect(map.mappings.length).toBeGreaterThan(0);
    expect(map.sourcesContent ?? []).toEqual([]);
    const mtime = statSync(built.path ?? '').mtimeMs;

    const again = recordingLog();
    const reused = await resolveWorkflowBundle({ workflowsPath: path, cacheDir, log: again });
    expect(reused).toMatchObject({ source: 'reused', path: built.path, bundle: { codePath: built.path } });
    expect(again.messages()).toEqual(['info workflow bundle reused']);
    expect(again.lines[0]?.fields.ms).toEqual(expect.any(Number));
    expect(statSync(built.path ?? '').mtimeMs).toBe(mtime);
  });

  it('rebuilds a corrupt cached file instead of running it', async () => {
    const file = cachedWorkflowBundlePath(workflowBundleInputs(path).hash, cacheDir);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.length / 2));
    expect(checkWorkflowBundle(file, workflowBundleInputs(path).hash)).toMatchObject({
      ok: false,
      reason: 'corrupt',
    });

    const log = recordingLog();
    const result = await resolveWorkflowBundle({ workflowsPath: path, cacheDir, log });
    expect(result.source).toBe('built');
    expect(log.lines[0]).toMatchObject({
      level: 'warn',
      message: 'cached workflow bundle unusable; rebuilding',
      fields: { reason: 'corrupt' },
    });
    expect(checkWorkflowBundle(file, workflowBundleInputs(path).hash)).toEqual({ ok: true });
  });

  it('rebuilds a cached file stamped with other inputs', async () => {
    const { hash } = workflowBundleInputs(path);
    const file = cachedWorkflowBundlePath(hash, cacheDir);
    writeWorkflowBundle(file, 'var stale = 1;', 'f'.repeat(64));
    const log = recordingLog();
    expect((await resolveWorkflowBundle({ workflowsPath: path, cacheDir, log })).source).toBe('built');
    expect(log.lines[0]?.fields.reason).toBe('other-inputs');
    expect(readFileSync(file, 'utf8')).not.toContain('var stale');
  });

  it('uses a new hash, and so a new file, once a workflow source changes', async () => {
    const before = workflowBundleInputs(path).hash;
    writeFileSync(join(dir, 'cached/lib/word.ts'), "export const word = 'changed';\n");
    const after = workflowBundleInputs(path).hash;
    expect(after).not.toBe(before);
    const result = await resolveWorkflowBundle({ workflowsPath: path, cacheDir, log: recordingLog() });
    expect(result).toMatchObject({ source: 'built', path: cachedWorkflowBundlePath(after, cacheDir) });
    expect(readFileSync(result.path ?? '', 'utf8')).toContain('changed');
  });

  it('keeps the bundle in memory when the cache dir cannot be written', async () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const log = recordingLog();
    const result = await resolveWorkflowBundle({
      workflowsPath: path,
      cacheDir: join(blocker, 'cache'),
      log,
    });
    expect(result.source).toBe('built');
    expect('code' in result.bundle && result.bundle.code).toContain('changed');
    expect(log.messages()).toContain(
      'warn cannot cache the workflow bundle (read-only?); keeping it in memory: set FRESHET_CACHE_DIR or use freshet bundle-workflows',
    );
  });

  it('runs a given bundle of these sources, refuses one of other sources or a corrupt one', async () => {
    const { hash } = workflowBundleInputs(path);
    const given = join(dir, 'given.js');
    copyFileSync(cachedWorkflowBundlePath(hash, cacheDir), given);
    const ok = await resolveWorkflowBundle({ workflowsPath: path, given, cacheDir, log: recordingLog() });
    expect(ok).toMatchObject({ source: 'given', bundle: { codePath: given } });

    writeWorkflowBundle(given, 'var other = 1;', '0'.repeat(64));
    await expect(resolveWorkflowBundle({ workflowsPath: path, given, log: recordingLog() })).rejects.toThrow(
      /other-inputs .*freshet bundle-workflows/,
    );
    writeFileSync(given, `${readFileSync(given, 'utf8')}tampered`);
    await expect(resolveWorkflowBundle({ workflowsPath: path, given, log: recordingLog() })).rejects.toThrow(
      /corrupt/,
    );

    writeFileSync(given, 'var unstamped = 1;');
    const log = recordingLog();
    expect((await resolveWorkflowBundle({ workflowsPath: path, given, log })).source).toBe('given');
    expect(log.lines[0]?.level).toBe('warn');
  });
});
