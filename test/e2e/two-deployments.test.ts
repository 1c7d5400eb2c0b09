// Two Freshet deployments in one Temporal namespace (invariant 14): with a registry of the same
// name on two task queues, each deployment runs its own watch and detects rebuilds; a deployment
// given another's instance name never touches that one's watch, and fails /readyz naming both
// task queues.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Daemon, startDaemon, workflowsPath } from '../../worker/daemon.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const s = uniqueSuffix();
const registry = `reg-${s}`;
const repository = `two-${s}/app`;
const queues = { a: `freshet-a-${s}`, b: `freshet-b-${s}`, c: `freshet-c-${s}` };
const dir = mkdtempSync(join(tmpdir(), 'freshet-two-'));
const bundlePath = join(dir, 'workflows.js');
const daemons: Daemon[] = [];

/** The same registry and image names in every deployment; only the temporal block differs. */
const configOn = (temporal: string, extraImage = '') =>
  stackConfig(
    stack,
    `
temporal: { address: "\${TEMPORAL_ADDRESS}", ${temporal} }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}" } ]
images:
  - { name: app, registry: ${registry}, repository: ${repository}, track: { tag: "1" }, interval: 1s }
${extraImage}`,
  );

type Logged = { level: string; fields: Record<string, unknown>; message: string };

async function start(temporal: string, extraImage = '') {
  const logged: Logged[] = [];
  const sink = (level: string) => (fields: object, message: string) =>
    logged.push({ level, fields: fields as Record<string, unknown>, message });
  const daemon = await startDaemon({
    config: configOn(temporal, extraImage),
    listen: '127.0.0.1:0',
    workflowBundlePath: bundlePath,
    batchWindowMs: 100,
    freshnessIntervalMs: 60_000,
    logger: { info: sink('info'), warn: sink('warn'), error: sink('error') },
  });
  daemons.push(daemon);
  return { daemon, logged };
}

async function readyz(daemon: Daemon) {
  const res = await fetch(`${daemon.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
}

/** The watch workflows a task queue runs, as Temporal's visibility lists them. */
async function watchesOn(daemon: Daemon, taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  const query = `WorkflowType = 'watchWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;
  for await (const wf of daemon.client.workflow.list({ query })) ids.push(wf.workflowId);
  return ids;
}

const latestOf = async (daemon: Daemon, workflowId: string) =>
  (await daemon.client.workflow.getHandle(workflowId).query(watchStatusQuery)).images[0]?.state.latest
    ?.digest;

describe('two Freshet deployments in one namespace', () => {
  let a: Daemon;
  let b: Daemon;

  beforeAll(async () => {
    await connectTemporal(stack);
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
    writeFileSync(bundlePath, code);
    await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    ({ daemon: a } = await start(`taskQueue: ${queues.a}`));
    ({ daemon: b } = await start(`taskQueue: ${queues.b}`));
  });
  afterAll(async () => {
    const client = daemons[0]?.client;
    for (const queue of Object.values(queues)) {
      for await (const wf of client?.workflow.list({
        query: `ExecutionStatus = 'Running' AND TaskQueue = '${queue}'`,
      }) ?? []) {
        await client?.workflow
          .getHandle(wf.workflowId)
          .terminate('test over')
          .catch(() => undefined);
      }
    }
    for (const d of daemons) await d.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each runs its own watch on its own task queue, and each detects a rebuild', async () => {
    const watchA = await waitFor("a watch on a's task queue", async () => (await watchesOn(a, queues.a))[0]);
    const watchB = await waitFor("a watch on b's task queue", async () => (await watchesOn(b, queues.b))[0], {
      timeoutMs: 10_000,
    });
    expect(watchA).not.toBe(watchB);
    expect(watchB).toBe(watchWorkflowId(queues.b, registry));
    for (const daemon of [a, b]) expect((await readyz(daemon)).status).toBe(200);
    const baselineA = await waitFor('a to see the baseline', () => latestOf(a, watchA));
    const baselineB = await waitFor('b to see the baseline', () => latestOf(b, watchB));
    expect(baselineB).toBe(baselineA);

    const rebuilt = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    await waitFor('a to detect the rebuild', async () => (await latestOf(a, watchA)) === rebuilt.digest);
    await waitFor('b to detect the rebuild', async () => (await latestOf(b, watchB)) === rebuilt.digest);
  });

  it("a daemon given another deployment's instance name leaves its watch alone and fails /readyz naming both task queues", async () => {
    const watchOfA = a.client.workflow.getHandle(watchWorkflowId(a.instance, registry));
    const extra = `  - { name: extra, registry: ${registry}, repository: ${repository}-extra, track: { tag: "1" }, interval: 1h }`;
    const { daemon: c, logged } = await start(`taskQueue: ${queues.c}, instance: ${queues.a}`, extra);
    expect(c.instance).toBe(queues.a);

    const { status, body } = await readyz(c);
    expect(status).toBe(503);
    expect(body.checks[`workflow ${watchWorkflowId(queues.a, registry)}`]).toBe(
      `runs on task queue "${queues.a}", not this Freshet's "${queues.c}": another deployment uses the instance ` +
        `name "${queues.a}"; give each deployment its own temporal.instance`,
    );
    expect(body.checks.temporal).toBe('ok');

    const errors = logged.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({
      workflowId: watchWorkflowId(queues.a, registry),
      taskQueue: queues.c,
      otherTaskQueue: queues.a,
    });
    expect(errors[0]?.message).toContain(queues.a);
    expect(errors[0]?.message).toContain(queues.c);

    // Its images never reached a's watch, which still runs on a's task queue.
    const status2 = await watchOfA.query(watchStatusQuery);
    expect(status2.images.map((i) => i.image.name)).toEqual(['app']);
    expect((await watchOfA.describe()).taskQueue).toBe(queues.a);
    expect((await readyz(a)).status).toBe(200);
    // Asked again, it reports the problem again but logs it once.
    expect((await readyz(c)).status).toBe(503);
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(1);
  });
});
