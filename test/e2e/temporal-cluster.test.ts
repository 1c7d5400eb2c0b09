// The stack's Temporal cluster is the real server on PostgreSQL, and Freshet rides out its
// crash: the server is SIGKILLed in the middle of a wave and started again on the same config
// and databases, and the rollout finishes with every Deployment patched exactly once.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { DeploymentState } from '../../activities/kubernetes/deployment.ts';
import { imageOf, type Latest, type NamespaceWatch, watchNamespace } from '../../bench/rollout-setup.ts';
import type { TemporalServerPorts } from '../../stack/configs.ts';
import { launcher } from '../../stack/launcher.ts';
import { binaries, type Endpoints, ports as portTable } from '../../stack/layout.ts';
import { type Started, stopProcess } from '../../stack/process.ts';
import {
  createTemporalDatabases,
  dropTemporalDatabases,
  freeMembershipPorts,
  registerNamespace,
  startTemporalServer,
  writeTemporalServerConfig,
} from '../../stack/temporal-cluster.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import { connectTemporal } from '../support/temporal.ts';
import type { SmokeActivities } from '../support/workflows/smoke.ts';

const stack = inject('stack');
const cluster = stack.temporalCluster;
if (!cluster)
  throw new Error('this test needs the stack\'s Temporal cluster: run it in the "e2e-cluster" project');
const dir = mkdtempSync(join(tmpdir(), 'freshet-cluster-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Ports the kernel has free now (held together, so no two are the same). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const found = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return found;
}

describe('the Temporal cluster', () => {
  it('is the Temporal server on PostgreSQL, with the default namespace, and runs a workflow', async () => {
    const env = await connectTemporal({
      ...stack,
      temporal: { ...stack.temporal, address: cluster.address, namespace: cluster.namespace },
    });
    const connection = env.connection;
    try {
      const info = await connection.workflowService.getClusterInfo({});
      expect(info.serverVersion).toBe('1.29.1');
      expect(info.persistenceStore).toBe('postgres12');
      expect(info.visibilityStore).toBe('postgres12');
      const ns = await connection.workflowService.describeNamespace({ namespace: cluster.namespace });
      expect(ns.namespaceInfo?.name).toBe('default');
      expect(Number(ns.config?.workflowExecutionRetentionTtl?.seconds)).toBe(72 * 3600);
      const attributes = await connection.operatorService.listSearchAttributes({
        namespace: cluster.namespace,
      });
      expect(Object.keys(attributes.customAttributes ?? {})).toEqual(
        expect.arrayContaining(['FreshetPipeline', 'FreshetImage', 'FreshetStage', 'FreshetPhase']),
      );

      const taskQueue = `cluster-smoke-${randomUUID()}`;
      const worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: cluster.namespace,
        taskQueue,
        workflowsPath: fileURLToPath(new URL('../support/workflows/smoke.ts', import.meta.url)),
        activities: { shout: async (text: string) => text.toUpperCase() } satisfies SmokeActivities,
      });
      const client = env.client;
      const workflowId = `cluster-smoke-${randomUUID()}`;
      const result = await worker.runUntil(
        client.workflow.execute('smokeWorkflow', { taskQueue, workflowId, args: ['cluster'] }),
      );
      expect(result).toBe('HELLO CLUSTER');
      expect((await client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
    } finally {
      await env.teardown();
    }
  });

  it('finishes a rollout with no duplicate patch when the server is SIGKILLed mid-wave and restarted', async () => {
    // A server of this test's own on the stack's PostgreSQL (fresh databases), so killing it
    // leaves the stack's server to the other tests.
    const [frontend, frontendHttp, history, matching, worker, metrics] = (await freePorts(6)) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const ports: TemporalServerPorts = {
      frontend,
      frontendHttp,
      history,
      matching,
      worker,
      metrics,
      ...(await freeMembershipPorts()),
    };
    const suffix = randomUUID().slice(0, 8);
    const databases = { history: `temporal_kill_${suffix}`, visibility: `temporal_kill_vis_${suffix}` };
    const started: Started[] = [];
    const l = launcher(binaries(), portTable(), dir, started, () => {});
    const serverDir = l.dir('server');
    const address = `127.0.0.1:${ports.frontend}`;
    let fx: RolloutFixture | undefined;
    const watches: NamespaceWatch[] = [];
    try {
      await createTemporalDatabases(l.bin, cluster.postgres, databases);
      writeTemporalServerConfig(serverDir, { ports, postgres: cluster.postgres, databases });
      let server = await startTemporalServer(l, serverDir, ports);
      await registerNamespace(l, server, address, 'default', ports);
      const own: Endpoints = {
        ...stack,
        temporal: {
          address,
          namespace: 'default',
          ui: '',
          httpApi: l.local(ports.frontendHttp),
          metrics: l.local(ports.metrics),
        },
      };
      // Staging's second wave patches one Deployment at a time: the kill lands between two of them.
      fx = await createRolloutFixture(own, { waves: '[ { count: 1 }, { percent: 100, maxParallel: 1 } ]' });
      const f = fx;
      const staging = await watchNamespace(f.kube, f.staging);
      const production = await watchNamespace(f.kube, f.production);
      watches.push(staging, production);
      const generation = (w: NamespaceWatch, name: string) => w.latest().get(name)?.metadata.generation ?? 0;
      const before = new Map(
        [staging, production].flatMap((w) =>
          f.deployments.map((d) => [`${w.namespace}/${d}`, generation(w, d)]),
        ),
      );
      const rebuilt = await f.push();
      const id = await f.request(rebuilt);
      const isNew = (d: DeploymentState | undefined) => d !== undefined && imageOf(d) === rebuilt.reference;
      const patched = (name: string) => (latest: Latest) => isNew(latest.get(name));

      // web-1 is the canary wave; web-2 opens the second wave.
      await staging.until('web-2 patched', patched('web-2'), 120_000);
      process.kill(server.pid, 'SIGKILL');
      const killedAt = Date.now();
      await stopProcess(server, 5_000);
      server = await startTemporalServer(l, serverDir, ports, 'temporal-server-restarted');
      const restartedAt = Date.now();

      const result = await f.result(id);
      expect(result.outcome).toBe('succeeded');
      for (const w of [staging, production]) {
        await w.until(
          `${w.namespace} rolled out`,
          (latest) => f.deployments.every((d) => patched(d)(latest)),
          60_000,
        );
      }
      // Progress was made after the restart, by the daemon that ran through the outage.
      const patchedAfter = [staging, production].flatMap((w) =>
        f.deployments.filter((d) => (w.firstSeen(d, isNew) ?? 0) > restartedAt),
      );
      expect(
        patchedAfter.length,
        `patches after the restart (${restartedAt - killedAt} ms outage)`,
      ).toBeGreaterThan(0);
      // Every version the watches saw: one spec change per Deployment, never a second.
      for (const w of [staging, production]) {
        for (const d of f.deployments) {
          const key = `${w.namespace}/${d}`;
          const generations = new Set(w.versions(d).map((v) => v.d.metadata.generation ?? 0));
          const changes = [...generations].filter((g) => g > (before.get(key) ?? 0));
          expect(changes, `${key} spec changes`).toEqual([(before.get(key) ?? 0) + 1]);
        }
      }
    } finally {
      for (const w of watches) w.close();
      await fx?.close();
      for (const proc of started.reverse()) await stopProcess(proc, 5_000);
      // After a failure the databases may not exist: that failure is the one to report.
      await dropTemporalDatabases(l.bin, cluster.postgres, databases).catch(() => undefined);
    }
  }, 300_000);
});
