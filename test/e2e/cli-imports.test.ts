// status and approve load the Temporal client and what they print with, never the Temporal
// worker (webpack, the native bridge), the Kubernetes client, the AWS SDK, the logger or the
// metrics registry. The CLI runs as a real child process against the stack's Temporal; a loader
// hook lists its modules (test/support/cli-modules.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCliTraced } from '../support/cli-modules.ts';
import { uniqueSuffix } from '../support/daemon.ts';

const stack = inject('stack');
const suffix = uniqueSuffix();
const dir = mkdtempSync(join(tmpdir(), 'freshet-cli-imports-'));
const config = join(dir, 'freshet.yaml');
writeFileSync(
  config,
  JSON.stringify({
    temporal: {
      address: stack.temporal.address,
      namespace: stack.temporal.namespace,
      taskQueue: `freshet-test-${suffix}`,
    },
    registries: [{ name: 'local', url: stack.registry.url }],
    clusters: { local: { kubeconfig: stack.kubernetes.kubeconfig, context: stack.kubernetes.context } },
    pipelines: {
      web: {
        stages: [
          { name: 'production', cluster: 'local', targets: [{ namespace: 'web', deployment: 'web' }] },
        ],
      },
    },
  }),
);

/** What neither command needs: the daemon's packages. */
const daemonOnly = (pkg: string) =>
  pkg === '@temporalio/worker' ||
  pkg === '@temporalio/core-bridge' ||
  pkg.startsWith('@aws-sdk/') ||
  pkg.startsWith('@smithy/') ||
  ['@kubernetes/client-node', 'pino', 'prom-client'].includes(pkg);

describe('what status and approve load', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('status: the Temporal client, not the worker, Kubernetes or AWS', async () => {
    const run = await runCliTraced(['status', '-c', config]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('No rollouts are running.');
    expect(run.code).toBe(0);
    expect(run.packages).toContain('@temporalio/client');
    expect([...run.packages].filter(daemonOnly)).toEqual([]);
  });

  it('approve: the Temporal client, not the worker, Kubernetes or AWS', async () => {
    const id = `freshet-rollout-none-${suffix}`;
    const run = await runCliTraced(['approve', id, '--by', 'alice', '-c', config]);
    expect(run.stderr.trim()).toBe(`no rollout ${id}`);
    expect(run.code).toBe(1);
    expect(run.packages).toContain('@temporalio/client');
    expect([...run.packages].filter(daemonOnly)).toEqual([]);
  });
});
