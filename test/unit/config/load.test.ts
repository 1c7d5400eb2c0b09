import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, schemaFile } from '../../../config/json-schema.ts';
import { ConfigError, expandEnv, formatPath, loadConfigFile, parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

const examples = fileURLToPath(new URL('../../../config/examples/', import.meta.url));

function problems(yaml: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfig(yaml, 'test.yaml', { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('config loading', () => {
  it('fills in defaults and converts durations to milliseconds', () => {
    const c = parseConfig(base, 'test.yaml', { env: {} });
    expect(c.temporal).toMatchObject({
      address: 'localhost:7233',
      namespace: 'default',
      taskQueue: 'freshet',
    });
    expect(c.images[0]).toMatchObject({ interval: 60_000, platform: 'linux/amd64' });
    const stage = c.pipelines.web?.stages[0];
    expect(stage?.waves).toEqual([{ percent: 100, maxParallel: 10 }]);
    expect(stage?.health).toEqual({ rolloutTimeout: 300_000, soak: 0, checks: [] });
    expect(c.registries[0]).toMatchObject({
      auth: { type: 'anonymous' },
      maxConcurrency: 4,
      timeout: 10_000,
    });
    expect(c.pipelines.web?.onNewerDigest).toBe('supersede');
  });

  it('names the path of a bad duration with a hint', () => {
    const yaml = base.replace('targets: [', 'approval: { timeout: 5 minutes }\n        targets: [');
    const found = problems(yaml);
    expect(found).toEqual([
      expect.objectContaining({
        path: 'pipelines.web.stages[0].approval.timeout',
        message: 'expected a duration such as 30s, 5m or 24h',
      }),
    ]);
    expect(found[0]?.line).toBe(13);
  });

  it('reports unknown keys, such as typos, by name', () => {
    const found = problems(base.replace('pipeline: web }', 'pipeline: web, intervall: 1m }'));
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe('images[0]');
    expect(found[0]?.message).toMatch(/unknown key "intervall"/);
  });

  it('checks cross-references and lists what exists', () => {
    const yaml = base
      .replace('registry: local,', 'registry: hub,')
      .replace('pipeline: web }', 'pipeline: api }')
      .replace('cluster: staging\n', 'cluster: prod\n');
    const found = problems(yaml);
    expect(found.map((p) => `${p.path}: ${p.message}`).sort()).toEqual([
      'images[0].pipeline: no pipeline named "api" (pipelines: web)',
      'images[0].registry: no registry named "hub" (registries: local)',
      'pipelines.web.stages[0].cluster: no cluster named "prod" (clusters: staging)',
    ]);
  });

  it('rejects duplicate names', () => {
    const yaml = base.replace(
      'registries:\n',
      'registries:\n  - { name: local, url: "http://127.0.0.1:5001" }\n',
    );
    expect(problems(yaml)).toEqual([
      expect.objectContaining({ path: 'registries[1].name', message: '"local" is defined twice' }),
    ]);
  });

  it('requires exactly one of the alternatives in targets, waves, tracks and checks', () => {
    const yaml = base
      .replace('deployment: api }', 'deployment: api, selector: { app: x } }')
      .replace('track: { tag: "1.4" }', 'track: { tag: "1.4", semver: "^1" }')
      .replace('targets: [', 'waves: [ { count: 1, percent: 50 } ]\n        targets: [');
    const paths = problems(yaml)
      .map((p) => p.path)
      .sort();
    expect(paths).toEqual([
      'images[0].track',
      'pipelines.web.stages[0].targets[0]',
      'pipelines.web.stages[0].waves[0]',
    ]);
  });

  it('rejects a pattern policy without a capture group or with a broken regex', () => {
    const noGroup = problems(
      base.replace('track: { tag: "1.4" }', () => "track: { pattern: '^\\d+-alpine$' }"),
    );
    expect(noGroup[0]?.message).toMatch(/one capture group/);
    const broken = problems(base.replace('track: { tag: "1.4" }', () => "track: { pattern: '^(\\d+' }"));
    expect(broken[0]).toMatchObject({ path: 'images[0].track.pattern' });
    expect(broken[0]?.message).toMatch(/not a valid regular expression/);
  });

  it('rejects an HTTP check whose bodyMatch is not a regular expression', () => {
    const found = problems(
      base.replace(
        'targets: [',
        () =>
          'health: { checks: [ { http: { url: "http://web/healthz", bodyMatch: "(ok" } } ] }\n        targets: [',
      ),
    );
    expect(found).toMatchObject([
      {
        path: 'pipelines.web.stages[0].health.checks[0].http.bodyMatch',
        message: expect.stringMatching(/not a valid regular expression/),
      },
    ]);
  });

  it('asks for exactly one secret reference and never a literal password', () => {
    const literal = problems(
      base.replace(
        'url: "http://127.0.0.1:5000" }',
        'url: "http://x:5000", auth: { type: basic, username: u, password: hunter2 } }',
      ),
    );
    expect(literal.map((p) => p.path)).toContain('registries[0].auth');
    expect(literal.map((p) => p.message).join()).toMatch(/unknown key "password"/);
    const none = problems(
      base.replace(
        'url: "http://127.0.0.1:5000" }',
        'url: "http://x:5000", auth: { type: basic, username: u } }',
      ),
    );
    expect(none).toEqual([expect.objectContaining({ path: 'registries[0].auth.passwordEnv' })]);
    expect(JSON.stringify(literal)).not.toContain('hunter2');
  });

  it('expands ${VAR} and ${VAR:-default}, and names unset variables', () => {
    const problemsOut: { path: string; message: string }[] = [];
    const out = expandEnv({ a: ['x-${A}-${B:-b}'], c: '${C}' }, { A: '1' }, [], problemsOut);
    expect(out).toEqual({ a: ['x-1-b'], c: '' });
    expect(problemsOut).toEqual([
      { path: 'c', message: 'environment variable C is not set (or use ${C:-default})' },
    ]);
  });

  it('reports missing secret variables when asked to', () => {
    const yaml = base.replace(
      'url: "http://127.0.0.1:5000" }',
      'url: "http://x:5000", auth: { type: basic, usernameEnv: REG_USER, passwordEnv: REG_PASS } }',
    );
    expect(() => parseConfig(yaml, 't', { env: { REG_USER: 'u' }, checkSecrets: true })).toThrow(
      /registries\[0\]\.auth\.passwordEnv: environment variable REG_PASS is not set/,
    );
    expect(() =>
      parseConfig(yaml, 't', { env: { REG_USER: 'u', REG_PASS: 'p' }, checkSecrets: true }),
    ).not.toThrow();
  });

  it('reports YAML syntax errors with their line', () => {
    const found = problems('registries:\n  - name: a\n   url: b\n');
    expect(found[0]?.message).toMatch(/^YAML: /);
    expect(found[0]?.line).toBeGreaterThan(0);
  });

  it('formats paths the way users write them', () => {
    expect(formatPath(['pipelines', 'web', 'stages', 1, 'approval', 'timeout'])).toBe(
      'pipelines.web.stages[1].approval.timeout',
    );
    expect(formatPath([])).toBe('');
  });

  it('loads every example config, resolving file paths against the config file', () => {
    const env = {
      REG_USER: 'u',
      REG_PASS: 'p',
      REG_WEBHOOK_TOKEN: 't',
      HUB_WEBHOOK_TOKEN: 'h',
      GHCR_USER: 'g',
      GHCR_TOKEN: 'g',
    };
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const c = loadConfigFile(join(examples, f), { env });
      expect(c.images.length, f).toBeGreaterThan(0);
    }
    const stack = loadConfigFile(join(examples, 'stack.yaml'), { env: {} });
    expect(stack.clusters.local?.kubeconfig).toBe(
      fileURLToPath(new URL('../../../stack/.run/kubeconfig', import.meta.url)),
    );
  });

  it('keeps config/freshet.schema.json in sync with the schema', () => {
    expect(readFileSync(schemaFile, 'utf8')).toBe(configJsonSchema());
  });
});
