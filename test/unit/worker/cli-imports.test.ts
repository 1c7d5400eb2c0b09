// How fast a command starts is mostly what it loads. --help (of every command) loads no package
// at all, and validate-config only the config's parsers: neither loads Temporal (the worker
// alone is webpack and a native bridge), the Kubernetes client, the AWS SDK, the logger or the
// metrics registry. The CLI runs as a real child process; a loader hook lists its modules.
import { describe, expect, it } from 'vitest';
import { help } from '../../../worker/cli/help.ts';
import { packageOf, runCliTraced } from '../../support/cli-modules.ts';

/** Packages that only the daemon (or a command that talks to a cluster) needs. */
const heavy = (pkg: string) =>
  pkg.startsWith('@temporalio/') ||
  pkg.startsWith('@aws-sdk/') ||
  pkg.startsWith('@smithy/') ||
  ['@kubernetes/client-node', 'pino', 'prom-client', '@grpc/grpc-js'].includes(pkg);

// Each run starts a real Node process: on a busy machine a dozen of them take seconds.
describe('what a freshet command loads', { timeout: 60_000 }, () => {
  it('--help loads no package', async () => {
    const run = await runCliTraced(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: freshet COMMAND');
    expect(run.files).toContain('worker/cli/main.ts');
    expect([...run.packages]).toEqual([]);
  });

  it('COMMAND --help loads no package, for every command', async () => {
    const commands = Object.keys(help).filter((c) => c !== 'main');
    expect(commands).toEqual(expect.arrayContaining(['start', 'status', 'approve', 'bundle-workflows']));
    const runs = await Promise.all(commands.map((c) => runCliTraced([c, '--help'])));
    const seen = runs.map((run, i) => ({
      command: commands[i],
      code: run.code,
      usage: run.stdout.startsWith(`Usage: freshet ${commands[i]}`),
      packages: [...run.packages],
    }));
    expect(seen).toEqual(commands.map((command) => ({ command, code: 0, usage: true, packages: [] })));
  });

  it('validate-config loads the config parsers and nothing of Temporal, Kubernetes or AWS', async () => {
    const run = await runCliTraced(['validate-config', 'config/examples/full.yaml']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^config\/examples\/full\.yaml: OK/);
    // The hook sees ES modules and CommonJS packages alike (yaml loads as CommonJS).
    expect(run.packages).toContain('zod');
    expect(run.packages).toContain('yaml');
    expect(run.files).toContain('config/schema.ts');
    expect([...run.packages].filter(heavy)).toEqual([]);
  });
});

describe('packageOf', () => {
  it('names the innermost package of a module URL, scoped or not', () => {
    expect(packageOf('file:///r/node_modules/@temporalio/worker/lib/index.js')).toBe('@temporalio/worker');
    expect(packageOf('file:///r/node_modules/a/node_modules/ms/index.js')).toBe('ms');
    expect(packageOf('file:///r/worker/cli/main.ts')).toBeUndefined();
    expect(packageOf('node:fs')).toBeUndefined();
  });
});
