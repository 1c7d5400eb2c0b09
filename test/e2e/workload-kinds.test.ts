// StatefulSets, DaemonSets and CronJobs roll out like Deployments, on the stack's real
// controllers and KWOK nodes: a rebuild goes through staging (a selector across two kinds, and a
// CronJob that must run one good Job on the new image), waits for approval, then production
// (each workload by kind and name). A broken build rolls the StatefulSet and the DaemonSet back
// in staging, and the StatefulSet is healthy again although its OrderedReady controller never
// replaces the pod that took the broken build by itself.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { requestRollout } from '../../activities/rollout/request.ts';
import type { Config } from '../../config/schema.ts';
import type { Daemon } from '../../worker/daemon.ts';
import { decideUpdate, type RolloutResult, rolloutStatusQuery } from '../../workflows/rollout-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { type PushedImage, pushImage } from '../support/image-pusher.ts';
import { createNamespace, deleteNamespace, type Kube, kubeClients } from '../support/kube.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';
import {
  cronJobManifest,
  daemonSetManifest,
  daemonSetRolledOut,
  statefulSetManifest,
  statefulSetRolledOut,
} from '../support/workload-manifests.ts';

const stack = inject('stack');

describe('StatefulSet, DaemonSet and CronJob targets', () => {
  const s = uniqueSuffix();
  const repository = `kinds-${s}/web`;
  const pipeline = `kinds-${s}`;
  const image = `kinds-${s}`;
  const staging = `stg-${s}`;
  const production = `prd-${s}`;
  const registry = `reg-${s}`;
  let kube: Kube;
  let config: Config;
  let daemon: Daemon;
  let connection: Connection;
  let client: Client;
  let baseline: PushedImage;
  let good: PushedImage;

  const images = async (ns: string) => ({
    db: (await kube.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' })).spec?.template.spec
      ?.containers[0]?.image,
    agent: (await kube.apps.readNamespacedDaemonSet({ namespace: ns, name: 'agent' })).spec?.template.spec
      ?.containers[0]?.image,
    report: (await kube.batch.readNamespacedCronJob({ namespace: ns, name: 'report' })).spec?.jobTemplate.spec
      ?.template.spec?.containers[0]?.image,
  });
  const rolledOut = async (ns: string) =>
    (await statefulSetRolledOut(kube, ns, 'db')) && (await daemonSetRolledOut(kube, ns, 'agent'));

  const request = async (pushed: PushedImage, cfg = config) =>
    (
      await requestRollout(
        { client, config: cfg, searchAttributes: true },
        {
          pipeline,
          image,
          registry,
          repository,
          tag: pushed.tag,
          digest: pushed.digest,
          trigger: 'manual',
          detectedAt: new Date().toISOString(),
        },
      )
    ).rolloutId;
  const result = async (id: string) => {
    const handle = client.workflow.getHandle(id);
    await waitFor(`rollout ${id} to start`, () => handle.describe().catch(() => undefined));
    return (await handle.result()) as RolloutResult;
  };

  beforeAll(async () => {
    await connectTemporal(stack);
    kube = kubeClients(stack.kubernetes.kubeconfig);
    baseline = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1.0' });
    for (const ns of [staging, production]) {
      await createNamespace(kube, ns);
      await kube.apps.createNamespacedStatefulSet({
        namespace: ns,
        body: statefulSetManifest({ name: 'db', image: baseline.reference, replicas: 2 }),
      });
      await kube.apps.createNamespacedDaemonSet({
        namespace: ns,
        body: daemonSetManifest({ name: 'agent', image: baseline.reference }),
      });
      await kube.batch.createNamespacedCronJob({
        namespace: ns,
        body: cronJobManifest({ name: 'report', image: baseline.reference }),
      });
    }
    const env = { TASK_QUEUE: `freshet-test-${s}`, TEMPORAL_ADDRESS: stack.temporal.address };
    const yaml = `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}" } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: ${image}, registry: ${registry}, repository: ${repository}, track: { tag: "1.0" }, pipeline: ${pipeline}, interval: 1h }
pipelines:
  ${pipeline}:
    stages:
      - name: staging
        cluster: local
        targets:
          - { namespace: ${staging}, selector: { app.kubernetes.io/part-of: shop }, kinds: [StatefulSet, DaemonSet] }
          - { namespace: ${staging}, kind: CronJob, name: report, awaitNextJob: true }
        waves: [ { percent: 100 } ]
        health: { rolloutTimeout: 150s }
      - name: production
        cluster: local
        approval: { required: true, timeout: 1h }
        targets:
          - { namespace: ${production}, kind: StatefulSet, name: db }
          - { namespace: ${production}, kind: DaemonSet, name: agent }
          - { namespace: ${production}, kind: CronJob, name: report }
        waves: [ { percent: 100 } ]
        health: { rolloutTimeout: 90s }
`;
    config = stackConfig(stack, yaml, env);
    await waitFor(
      'the baseline StatefulSets and DaemonSets to be rolled out',
      async () => (await rolledOut(staging)) && (await rolledOut(production)),
      { timeoutMs: 120_000 },
    );
    daemon = await startTestDaemon(config);
    connection = await Connection.connect({ address: stack.temporal.address });
    client = new Client({ connection, namespace: config.temporal.namespace });
  }, 180_000);

  afterAll(async () => {
    if (client) {
      for await (const wf of client.workflow.list({
        query: `ExecutionStatus = 'Running' AND TaskQueue = 'freshet-test-${s}'`,
      })) {
        await client.workflow
          .getHandle(wf.workflowId)
          .terminate('test over')
          .catch(() => undefined);
      }
    }
    await daemon?.close();
    await connection?.close();
    if (kube) for (const ns of [staging, production]) await deleteNamespace(kube, ns);
  });

  it('rolls a rebuild through staging, approval and production for every kind', async () => {
    good = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1.0' });
    const id = await request(good);
    const handle = client.workflow.getHandle(id);
    const waiting = await waitFor(
      'the rollout to wait for approval of production',
      async () => {
        const st = await handle.query(rolloutStatusQuery);
        if (st.outcome) throw new Error(`rollout ended early: ${st.outcome}: ${st.reason}`);
        return st.phase === 'awaiting-approval' ? st : undefined;
      },
      { timeoutMs: 200_000, intervalMs: 1_000 },
    );
    // Staging: the selector matched both kinds it names, the CronJob waited for a good Job.
    expect(
      waiting.targets
        .filter((t) => t.stage === 'staging')
        .map((t) => [t.kind, t.deployment, t.state])
        .sort(),
    ).toEqual([
      ['CronJob', 'report', 'ready'],
      ['DaemonSet', 'agent', 'ready'],
      ['StatefulSet', 'db', 'ready'],
    ]);
    const all = { db: good.reference, agent: good.reference, report: good.reference };
    expect(await images(staging)).toEqual(all);
    expect(await rolledOut(staging)).toBe(true);
    const jobs = (await kube.batch.listNamespacedJob({ namespace: staging })).items;
    expect(
      jobs.some(
        (j) =>
          j.spec?.template.spec?.containers[0]?.image === good.reference &&
          j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'),
      ),
      'a Job on the new image completed in staging',
    ).toBe(true);
    expect(await images(production)).toEqual({
      db: baseline.reference,
      agent: baseline.reference,
      report: baseline.reference,
    });

    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', by: 'alice' }] });
    const done = await result(id);
    expect(done.outcome, done.reason).toBe('succeeded');
    expect(done.reason).toBe('2 stages succeeded; 6 workloads updated');
    expect(await images(production)).toEqual(all);
    expect(await rolledOut(production)).toBe(true);
    const sts = await kube.apps.readNamespacedStatefulSet({ namespace: production, name: 'db' });
    expect(sts.metadata?.annotations).toMatchObject({
      'freshet.dev/rollout-id': id,
      'freshet.dev/previous-image': baseline.reference,
      'freshet.dev/image': good.reference,
      'freshet.dev/pipeline': pipeline,
    });
  }, 400_000);

  it('rolls a broken build back in staging: the StatefulSet and the DaemonSet run the good build again', async () => {
    const broken = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1.0', broken: true });
    // A short timeout for this build, and the CronJob left out: its Job check is the first test's.
    const cfg = structuredClone(config);
    const stage = cfg.pipelines[pipeline]?.stages[0];
    if (!stage) throw new Error('no staging stage');
    stage.health.rolloutTimeout = 25_000;
    stage.targets = stage.targets.filter((t) => t.kind !== 'CronJob');
    const out = await result(await request(broken, cfg));
    expect(out.outcome, out.reason).toBe('rolled_back');
    expect(out.reason).toMatch(/not ready after 25s/);
    expect(out.reason).toMatch(/ImagePullBackOff/);
    expect(out.reason).toMatch(/; rolled back 2 workloads$/);
    const back = out.targets.filter((t) => t.stage === 'staging');
    expect(back.map((t) => [t.kind, t.deployment, t.state]).sort()).toEqual([
      ['DaemonSet', 'agent', 'rolled_back'],
      ['StatefulSet', 'db', 'rolled_back'],
    ]);
    expect((await images(staging)).db).toBe(good.reference);
    expect((await images(staging)).agent).toBe(good.reference);
    await waitFor('staging to be healthy on the good build', () => rolledOut(staging), { timeoutMs: 60_000 });
    const pods = (await kube.core.listNamespacedPod({ namespace: staging, labelSelector: 'app=db' })).items;
    expect(pods.map((p) => p.spec?.containers[0]?.image)).toEqual(pods.map(() => good.reference));
    expect(await images(production)).toMatchObject({ db: good.reference, agent: good.reference });
  }, 200_000);
});
