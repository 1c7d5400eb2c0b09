// .ci/run checks what `npm run check` checks: typecheck and lint beside the tests, each phase
// timed, and CI fails when any phase fails. Read as text (running CI inside a unit test would
// take the whole stack), plus its phase runner executed on its own with bash.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const script = readFileSync(join(repo, '.ci/run'), 'utf8');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

/** Lines that run something: no comments, no blank lines. */
const commands = script
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));

const indexOf = (pattern: RegExp) => commands.findIndex((line) => pattern.test(line));

describe('CI runs what npm run check runs', () => {
  it('npm run check is typecheck, lint and the unit tests', () => {
    expect(pkg.scripts.check).toBe('npm run typecheck && npm run lint && npm run test:unit');
  });

  it('installs first, then runs typecheck, lint and npm test as timed phases', () => {
    const install = indexOf(/^bash stack\/install\.sh$/);
    const typecheck = indexOf(/^phase typecheck npm run typecheck$/);
    const lint = indexOf(/^phase lint npm run lint$/);
    const tests = indexOf(/^phase tests npm test( |$)/);
    expect(install, 'stack/install.sh (npm ci on a fresh machine)').toBeGreaterThanOrEqual(0);
    expect(typecheck, 'a typecheck phase').toBeGreaterThan(install);
    expect(lint, 'a lint phase').toBeGreaterThan(install);
    expect(tests, 'the test phase').toBeGreaterThan(install);
  });

  it('fails CI when any phase failed', () => {
    expect(commands).toContain('failed+=("$name")');
    expect(commands.at(-2)).toBe('exit 1');
    expect(script).toMatch(
      /if \[ "\$\{#failed\[@\]\}" -ne 0 \]; then\n\s+echo "\[ci\] failed: \$\{failed\[\*\]\}"\n\s+exit 1\nfi\n$/,
    );
  });

  it('times each phase and records a failing one without stopping the others', () => {
    const runner = /^phase\(\) \{\n[\s\S]*?\n\}\n/m.exec(script)?.[0];
    expect(runner, 'the phase function').toBeDefined();
    const out = execFileSync(
      'bash',
      [
        '-c',
        `set -euo pipefail\nfailed=()\n${runner}\nphase broken false\nphase fine true\necho "failed=\${failed[*]}"`,
      ],
      { encoding: 'utf8' },
    );
    expect(out).toMatch(/^\[ci\] broken took \d+s$/m);
    expect(out).toContain('[ci] broken failed (exit 1)');
    expect(out).toMatch(/^\[ci\] fine took \d+s$/m);
    expect(out).not.toContain('[ci] fine failed');
    expect(out.trim().split('\n').at(-1)).toBe('failed=broken');
  });

  it('is valid bash', () => {
    expect(() => execFileSync('bash', ['-n', join(repo, '.ci/run')])).not.toThrow();
  });
});
