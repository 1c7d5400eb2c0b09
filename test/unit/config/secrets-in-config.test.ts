// Secrets in a config stay references: a check URL that carries credentials is refused with a
// hint where they go instead, an error never quotes the value of a ${VAR}, and --check-secrets
// looks at every …Env and …File reference.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

function failure(yaml: string, env: NodeJS.ProcessEnv = {}, checkSecrets = false): ConfigError {
  try {
    parseConfig(yaml, 'test.yaml', { env, checkSecrets });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('the config was accepted');
}

const problems = (yaml: string, env: NodeJS.ProcessEnv = {}) =>
  failure(yaml, env).problems.map((p) => `${p.path}: ${p.message}`);

const withChecks = (checks: string) =>
  base.replace('        targets: [', `        health: { checks: [ ${checks} ] }\n        targets: [`);
const checkPath = 'pipelines.web.stages[0].health.checks[0]';

describe('config: credentials in a check URL are refused', () => {
  it('refuses user:password@ in an HTTP check URL and says to use basicAuth', () => {
    const found = problems(withChecks('{ http: { url: "http://ops:hunter2@web:8080/healthz" } }'));
    expect(found).toEqual([
      `${checkPath}.http.url: the URL carries credentials (user:password@); they would be copied into every rollout's history. ` +
        'Move them into basicAuth: { username: …, passwordEnv: … } (or passwordFile) and drop them from the URL',
    ]);
    expect(found.join()).not.toContain('hunter2');
  });

  it('refuses a secret-looking query parameter and says to send it as a header', () => {
    for (const param of [
      'token',
      'access_token',
      'api_key',
      'apikey',
      'key',
      'password',
      'secret',
      'sig',
      'signature',
      'X-Amz-Signature',
      'client_secret',
      'auth',
    ]) {
      const found = problems(withChecks(`{ http: { url: "http://web/healthz?a=1&${param}=hunter2" } }`));
      expect(found, param).toEqual([
        `${checkPath}.http.url: the query parameter "${param}" looks like a secret; it would be copied into every rollout's history. ` +
          'Send it as a header instead: headers: { Authorization: { valueEnv: … } } or bearer: { tokenEnv: … } (…File for a file)',
      ]);
      expect(found.join()).not.toContain('hunter2');
    }
  });

  it('refuses credentials in a Prometheus or registry URL the same way', () => {
    expect(
      problems(
        withChecks(
          '{ prometheus: { url: "https://prom.example/?access_token=hunter2", query: up, min: 1 } }',
        ),
      ),
    ).toEqual([
      expect.stringMatching(
        /^pipelines\.web\.stages\[0\]\.health\.checks\[0\]\.prometheus\.url: the query parameter "access_token" looks like a secret/,
      ),
    ]);
    expect(problems(base.replace('"http://127.0.0.1:5000"', '"https://bot:hunter2@ghcr.io"'))).toEqual([
      "registries[0].url: the URL carries credentials (user:password@); they would be copied into every rollout's history. " +
        'Move them into auth: { type: basic, username: …, passwordEnv: … } (or passwordFile) and drop them from the URL',
    ]);
  });

  it('keeps ordinary query parameters', () => {
    const c = parseConfig(withChecks('{ http: { url: "http://web/healthz?verbose=1&monkey=2" } }'), 't', {
      env: {},
    });
    expect(c.pipelines.web?.stages[0]?.health.checks[0]?.http?.url).toBe(
      'http://web/healthz?verbose=1&monkey=2',
    );
  });
});

describe('config: check credentials are references', () => {
  it('takes headers, basicAuth and bearer as …Env/…File references', () => {
    const c = parseConfig(
      withChecks(
        '{ http: { url: "http://web/healthz", headers: { X-Token: { valueEnv: HEALTH_TOKEN } }, basicAuth: { username: ops, passwordFile: /run/health-pass } } }, ' +
          '{ prometheus: { url: "http://prom:9090", query: up, min: 1, bearer: { tokenEnv: PROM_TOKEN } } }',
      ),
      't',
      { env: {} },
    );
    const [http, prometheus] = c.pipelines.web?.stages[0]?.health.checks ?? [];
    expect(http?.http).toMatchObject({
      headers: { 'X-Token': { valueEnv: 'HEALTH_TOKEN' } },
      basicAuth: { username: 'ops', passwordFile: '/run/health-pass' },
    });
    expect(prometheus?.prometheus).toMatchObject({ bearer: { tokenEnv: 'PROM_TOKEN' } });
  });

  it('refuses a literal header value, two ways to authenticate, and an Authorization header beside them', () => {
    expect(
      problems(withChecks('{ http: { url: "http://web/", headers: { X-Token: { value: hunter2 } } } }')),
    ).toEqual([
      `${checkPath}.http.headers.X-Token: unknown key "value" (check the spelling; see config/freshet.schema.json)`,
      `${checkPath}.http.headers.X-Token.valueEnv: set exactly one of valueEnv (an environment variable name) or valueFile (a file path)`,
    ]);
    expect(
      problems(
        withChecks(
          '{ http: { url: "http://web/", basicAuth: { username: ops, passwordEnv: P }, bearer: { tokenEnv: T } } }',
        ),
      ),
    ).toEqual([
      `${checkPath}.http: set at most one of basicAuth or bearer; both would set the Authorization header`,
    ]);
    expect(
      problems(
        withChecks(
          '{ http: { url: "http://web/", bearer: { tokenEnv: T }, headers: { authorization: { valueEnv: A } } } }',
        ),
      ),
    ).toEqual([`${checkPath}.http.headers.authorization: bearer already sets the Authorization header`]);
    expect(
      problems(withChecks('{ http: { url: "http://web/", headers: { "bad header": { valueEnv: A } } } }')),
    ).toEqual([`${checkPath}.http.headers: "bad header" is not a valid HTTP header name`]);
  });
});

describe('config: errors never quote the value of a ${VAR}', () => {
  const secret = 'ghp_S3cr3tT0ken';

  it('names the path and the variable, not its value', () => {
    const yaml = base.replace('cluster: staging\n', 'cluster: "${STAGE_CLUSTER}"\n');
    const err = failure(yaml, { STAGE_CLUSTER: secret });
    expect(err.problems).toEqual([
      {
        path: 'pipelines.web.stages[0].cluster',
        from: ['STAGE_CLUSTER'],
        line: 12,
        message: 'no cluster named "${STAGE_CLUSTER}" (clusters: staging)',
      },
    ]);
    expect(err.message).toContain(
      'pipelines.web.stages[0].cluster (line 12, from ${STAGE_CLUSTER}): no cluster named',
    );
    expect(err.message).not.toContain(secret);
    expect(JSON.stringify(err.problems)).not.toContain(secret);
  });

  it('keeps the value out of messages about other paths and of built-in messages', () => {
    const yaml = withChecks('{ http: { url: "http://web/", bodyMatch: "${PATTERN}" } }')
      .replace('name: local,', 'name: "${REG_NAME}",')
      .replace('registry: local,', 'registry: hub,');
    const err = failure(yaml, { REG_NAME: 'reg-s3cr3t-name', PATTERN: `(${secret}` });
    const text = `${err.message}\n${JSON.stringify(err.problems)}`;
    expect(text).not.toContain('reg-s3cr3t-name');
    expect(text).not.toContain(secret);
    expect(err.problems.map((p) => `${p.path}: ${p.message}`).sort()).toEqual([
      'images[0].registry: no registry named "hub" (registries: ${REG_NAME})',
      expect.stringMatching(
        /^pipelines\.web\.stages\[0\]\.health\.checks\[0\]\.http\.bodyMatch: not a valid regular expression/,
      ),
    ]);
  });

  it('redacts a value that was only part of a string', () => {
    const yaml = base.replace('cluster: staging\n', 'cluster: "prod-${SUFFIX}"\n');
    const err = failure(yaml, { SUFFIX: 'x9y8z7w6' });
    expect(err.problems[0]?.message).toBe('no cluster named "prod-${SUFFIX}" (clusters: staging)');
  });
});

describe('config: --check-secrets covers …File references', () => {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('reports a missing, empty or unreadable file and an unset variable, by path', () => {
    const empty = file('empty', '  \n');
    const unreadable = file('unreadable', 'secret');
    chmodSync(unreadable, 0o000);
    const good = file('good', 'a-password\n');
    const yaml = withChecks(
      `{ http: { url: "http://web/", headers: { X-Token: { valueFile: "${join(dir, 'absent')}" } }, basicAuth: { username: ops, passwordFile: "${empty}" } } }, ` +
        `{ prometheus: { url: "http://prom:9090", query: up, min: 1, bearer: { tokenEnv: PROM_TOKEN } } }`,
    ).replace(
      'url: "http://127.0.0.1:5000" }',
      `url: "http://127.0.0.1:5000", auth: { type: basic, username: u, passwordFile: "${unreadable}" } }\n  - { name: other, url: "http://127.0.0.1:5001", auth: { type: token, tokenFile: "${good}" } }`,
    );
    const found = failure(yaml, {}, true).problems.map((p) => `${p.path}: ${p.message}`);
    const runsAsRoot = process.getuid?.() === 0;
    expect(found).toEqual([
      ...(runsAsRoot ? [] : [`registries[0].auth.passwordFile: cannot read ${unreadable} (EACCES)`]),
      `${checkPath}.http.headers.X-Token.valueFile: ${join(dir, 'absent')} does not exist`,
      `${checkPath}.http.basicAuth.passwordFile: ${empty} is empty`,
      'pipelines.web.stages[0].health.checks[1].prometheus.bearer.tokenEnv: environment variable PROM_TOKEN is not set',
    ]);
    expect(JSON.stringify(found)).not.toContain('a-password');
  });

  it('passes when every reference resolves', () => {
    const good = file('token', 't0ken\n');
    const yaml = withChecks(`{ http: { url: "http://web/", bearer: { tokenFile: "${good}" } } }`);
    expect(() => parseConfig(yaml, 't', { env: {}, checkSecrets: true })).not.toThrow();
  });
});

describe('freshet validate-config', () => {
  const cli = fileURLToPath(new URL('../../../worker/cli/main.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'freshet-validate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, [cli, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
      );
    });

  it('--check-secrets finds an empty …File next to the config, and no error prints a ${VAR} value', async () => {
    writeFileSync(join(dir, 'token'), '\n');
    const file = join(dir, 'freshet.yaml');
    writeFileSync(
      file,
      withChecks('{ http: { url: "http://web/", bearer: { tokenFile: ./token } } }').replace(
        'cluster: staging\n',
        'cluster: "${STAGE_CLUSTER}"\n',
      ),
    );
    // Each run starts the whole CLI (a few seconds on a busy machine): the first two together.
    const [wrong, secrets] = await Promise.all([
      run(['validate-config', file], { STAGE_CLUSTER: 'ghp_S3cr3tT0ken' }),
      run(['validate-config', file, '--check-secrets'], { STAGE_CLUSTER: 'staging' }),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain(
      'pipelines.web.stages[0].cluster (line 12, from ${STAGE_CLUSTER}): no cluster named "${STAGE_CLUSTER}"',
    );
    expect(wrong.out).not.toContain('ghp_S3cr3tT0ken');

    expect(secrets.code).toBe(1);
    expect(secrets.out).toContain(`${checkPath}.http.bearer.tokenFile: ${join(dir, 'token')} is empty`);
    writeFileSync(join(dir, 'token'), 't0ken-value\n');
    const ok = await run(['validate-config', file, '--check-secrets'], { STAGE_CLUSTER: 'staging' });
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.out).not.toContain('t0ken-value');
  }, 120_000);
});
