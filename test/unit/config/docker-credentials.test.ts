import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

const withAuth = (auth: string) =>
  base.replace('url: "http://127.0.0.1:5000" }', `url: "http://127.0.0.1:5000", auth: ${auth} }`);

function problems(yaml: string, options: { checkSecrets?: boolean } = {}) {
  try {
    parseConfig(yaml, 'test.yaml', { env: {}, ...options });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('docker config and credential helper auth in the config', () => {
  it('reads a docker config file with the default helper timeout, its path relative to the config', () => {
    const c = parseConfig(withAuth('{ type: dockerConfig, file: docker/config.json }'), 'x', {
      env: {},
      baseDir: '/etc/freshet',
    });
    expect(c.registries[0]?.auth).toEqual({
      type: 'dockerConfig',
      file: '/etc/freshet/docker/config.json',
      helperTimeout: 10_000,
    });
  });

  it('reads a helper by name or by absolute command, with its timeout', () => {
    const byName = parseConfig(withAuth('{ type: helper, helper: ecr-login, timeout: 3s }'), 'x', {
      env: {},
    });
    expect(byName.registries[0]?.auth).toEqual({ type: 'helper', helper: 'ecr-login', timeout: 3_000 });
    const byCommand = parseConfig(
      withAuth('{ type: helper, command: /opt/bin/docker-credential-gcr }'),
      'x',
      {
        env: {},
      },
    );
    expect(byCommand.registries[0]?.auth).toEqual({
      type: 'helper',
      command: '/opt/bin/docker-credential-gcr',
      timeout: 10_000,
    });
  });

  it('refuses a helper name with a path, a relative command, both or neither, and timeouts out of bounds', () => {
    expect(problems(withAuth('{ type: helper, helper: ../sh }'))).toEqual([
      'registries[0].auth.helper: expected a helper name, the part after docker-credential- (such as ecr-login)',
    ]);
    expect(problems(withAuth('{ type: helper, command: bin/helper }'))).toEqual([
      'registries[0].auth.command: expected an absolute path; to run docker-credential-NAME from PATH, set helper: NAME',
    ]);
    const either =
      'set exactly one of helper (runs docker-credential-<helper> from PATH) or command (the absolute path of a helper)';
    expect(problems(withAuth('{ type: helper }'))).toEqual([`registries[0].auth.helper: ${either}`]);
    expect(problems(withAuth('{ type: helper, helper: gcr, command: /bin/x }'))).toEqual([
      `registries[0].auth.command: ${either}`,
    ]);
    expect(problems(withAuth('{ type: helper, helper: gcr, timeout: 2m }'))).toEqual([
      'registries[0].auth.timeout: must be at most 1m: one watch cycle checks all its images within 2 minutes',
    ]);
    expect(problems(withAuth('{ type: dockerConfig }'))).toEqual([
      expect.stringMatching(/^registries\[0\]\.auth\.file: /),
    ]);
    expect(problems(withAuth('{ type: dockerConfig, file: x, password: y }'))).toEqual([
      expect.stringMatching(/^registries\[0\]\.auth: .*unknown key "password"/),
    ]);
  });

  it('validate-config --check-secrets checks that the docker config file is there and not empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'freshet-docker-config-'));
    const missing = join(dir, 'missing.json');
    expect(problems(withAuth(`{ type: dockerConfig, file: "${missing}" }`), { checkSecrets: true })).toEqual([
      `registries[0].auth.file: ${missing} does not exist`,
    ]);
    const present = join(dir, 'config.json');
    writeFileSync(present, '{"auths": {}}');
    expect(problems(withAuth(`{ type: dockerConfig, file: "${present}" }`), { checkSecrets: true })).toEqual(
      [],
    );
  });
});
