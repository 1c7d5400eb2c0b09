// The fleet's freshness: a StatefulSet that no pipeline targets is reported with its init
// container, up to date on what its pods run, behind after a rebuild of that image's tag, and
// missing upstream once the tag is deleted. The image a configured watch follows is checked
// once; every other tag joins the registry's watch as a watch-only image.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collectInventoryNow, inventoryCommand } from '../../worker/cli/inventory.ts';
import type { Daemon } from '../../worker/daemon.ts';
import type { InventoryEntry } from '../../worker/inventory.ts';
import { watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { manifestAccept, type PushedImage, pushImage } from '../support/image-pusher.ts';
import { createNamespace, deleteNamespace, kubeClients } from '../support/kube.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const suffix = uniqueSuffix();
const namespace = `inv-${suffix}`;
const registry = `local-${suffix}`;
const web = `acme-${suffix}/web`;
const tools = `acme-${suffix}/tools`;
const db = `acme-${suffix}/db`;
const host = stack.registry.host;
const toolsRef = `${host}/${tools}:2`;
const dbRef = `${host}/${db}:16`;
let daemon: Daemon;

const configYaml = `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${registry}, url: "\${REGISTRY_URL}" } ]
clusters: { local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet } }
images:
  - { name: web-${suffix}, registry: ${registry}, repository: ${web}, track: { tag: "1.4" }, interval: 1s }
inventory: { namespaces: [${namespace}], interval: 1s, scanInterval: 1s }
`;
const config = stackConfig(stack, configYaml);
const cli = fileURLToPath(new URL('../../worker/cli/main.ts', import.meta.url));

/** Runs the real `freshet` command with this test's config (the same task queue as the daemon). */
function freshet(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-inventory-cli-'));
  const file = join(dir, 'freshet.yaml');
  writeFileSync(file, configYaml);
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: stack.temporal.address,
    TASK_QUEUE: config.temporal.taskQueue,
    REGISTRY_URL: stack.registry.url,
    KUBECONFIG_PATH: stack.kubernetes.kubeconfig,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args, '--config', file], { env }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const securityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
const entries = () => collectInventoryNow(daemon.client, config);
const entry = async (workload: string, container: string): Promise<InventoryEntry | undefined> =>
  (await entries()).find((e) => e.workload === workload && e.container === container);
const labels = (workload: string, kind: string, container: string, image: string) => ({
  cluster: 'local',
  namespace,
  kind,
  workload,
  container,
  image,
  in_pipeline: 'false',
});
const metric = async (name: string, l: Record<string, string>) =>
  sampleValue(await scrape(daemon.url), name, l);
const watch = () => daemon.client.workflow.getHandle(watchWorkflowId(config.temporal.instance, registry));

describe('inventory', () => {
  let tools1: PushedImage;
  let db1: PushedImage;

  beforeAll(async () => {
    await connectTemporal(stack);
    await createNamespace(kube, namespace);
  });
  afterAll(async () => {
    await watch()
      .terminate('test over')
      .catch(() => undefined);
    await daemon?.close();
    await deleteNamespace(kube, namespace);
  });

  it('reports a StatefulSet no pipeline targets, init container included, and its staleness', async () => {
    tools1 = await pushImage({
      registryUrl: stack.registry.url,
      repository: tools,
      tag: '2',
      created: new Date('2026-10-01T00:00:00Z'),
    });
    db1 = await pushImage({ registryUrl: stack.registry.url, repository: db, tag: '16' });
    await pushImage({ registryUrl: stack.registry.url, repository: web, tag: '1.4' });
    const podLabels = { app: 'db' };
    await kube.apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: 'db', labels: podLabels },
        spec: {
          replicas: 2,
          serviceName: 'db',
          selector: { matchLabels: podLabels },
          template: {
            metadata: { labels: podLabels },
            spec: {
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 1000,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              initContainers: [{ name: 'migrate', image: toolsRef, securityContext }],
              containers: [{ name: 'db', image: dbRef, securityContext }],
            },
          },
        },
      },
    });
    // A Deployment running the configured image: that image is checked once, as itself.
    await kube.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: `${host}/${web}:1.4`, securityContext }] },
          },
        },
      },
    });
    daemon = await startTestDaemon(config);

    const migrate = await waitFor(
      "db's init container up to date on the build its pods run",
      async () => {
        const e = await entry('db', 'migrate');
        return e?.upToDate && e.runningFrom === 'pods' ? e : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(migrate).toMatchObject({
      kind: 'StatefulSet',
      init: true,
      image: toolsRef,
      inPipeline: false,
      runningDigest: tools1.digest,
      latestDigest: tools1.digest,
      runningCreated: Date.parse('2026-10-01T00:00:00Z') / 1000,
    });
    expect(migrate.lastCheckAt).toBeDefined();
    await waitFor('db up to date too', async () => (await entry('db', 'db'))?.upToDate);

    // One watch, one image per distinct tag: the configured one as itself, the others by reference.
    const status = await watch().query(watchStatusQuery);
    expect(status.images.map((i) => i.image.name).sort()).toEqual([dbRef, toolsRef, `web-${suffix}`].sort());
    expect(status.images.every((i) => i.image.pipeline === undefined)).toBe(true);
    expect((await entry('web', 'web'))?.image).toBe(`web-${suffix}`);

    await waitFor(
      'the gauge of the init container at 1',
      async () =>
        (await metric('freshet_workload_up_to_date', labels('db', 'StatefulSet', 'migrate', toolsRef))) === 1,
    );

    const tools2 = await pushImage({ registryUrl: stack.registry.url, repository: tools, tag: '2' });
    const seen = await waitFor('the watch to see the rebuild of tools:2', async () => {
      const latest = (await watch().query(watchStatusQuery)).images.find((i) => i.image.name === toolsRef)
        ?.state.latest;
      return latest?.digest === tools2.digest ? latest : undefined;
    });
    const behind = await waitFor('the init container behind', async () => {
      const e = await entry('db', 'migrate');
      return e && !e.upToDate ? e : undefined;
    });
    expect(behind).toMatchObject({
      runningDigest: tools1.digest,
      latestDigest: tools2.digest,
      behindSince: Date.parse(seen.firstSeenAt) / 1000,
    });
    // The regular container of the same pods is still on the newest build of its own tag.
    expect(await entry('db', 'db')).toMatchObject({ upToDate: true, runningDigest: db1.digest });
    await waitFor(
      'the gauges of the init container: behind, since the rebuild was seen',
      async () =>
        (await metric('freshet_workload_up_to_date', labels('db', 'StatefulSet', 'migrate', toolsRef))) === 0,
    );
    expect(
      await metric(
        'freshet_workload_behind_since_timestamp_seconds',
        labels('db', 'StatefulSet', 'migrate', toolsRef),
      ),
    ).toBe(Date.parse(seen.firstSeenAt) / 1000);
    expect(await metric('freshet_workload_up_to_date', labels('db', 'StatefulSet', 'db', dbRef))).toBe(1);

    const table = await inventoryCommand(daemon.client, config, false);
    expect(table).toMatch(
      new RegExp(`${namespace}/StatefulSet/db\\s+migrate \\(init\\)\\s+\\S+\\s+\\S+\\s+\\S+\\s+behind`),
    );
  });

  it('reports an image deleted upstream as missing', async () => {
    const res = await fetch(`${stack.registry.url}/v2/${db}/manifests/${db1.digest}`, {
      method: 'DELETE',
      headers: { Accept: manifestAccept },
    });
    expect(res.status).toBe(202);
    const gone = await waitFor('db:16 missing upstream', async () => {
      const e = await entry('db', 'db');
      return e?.problem === 'absent' ? e : undefined;
    });
    expect(gone.lookupError).toMatch(/404/);
    await waitFor(
      'freshet_image_absent of db:16 at 1',
      async () => (await metric('freshet_image_absent', { image: dbRef })) === 1,
    );
    expect(
      await metric('freshet_image_lookup_failures_total', { image: dbRef, reason: 'absent' }),
    ).toBeGreaterThan(0);
    expect(await inventoryCommand(daemon.client, config, false)).toMatch(/missing upstream/);
  });

  it('freshet freshness --all lists the inventory from the command line', async () => {
    const json = await freshet(['freshness', '--all', '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as InventoryEntry[];
    expect(listed.map((e) => `${e.kind}/${e.workload}/${e.container}`).sort()).toEqual([
      'Deployment/web/web',
      'StatefulSet/db/db',
      'StatefulSet/db/migrate',
    ]);
    expect(listed.find((e) => e.container === 'migrate')).toMatchObject({ init: true, upToDate: false });
    const table = await freshet(['freshness', '--all']);
    expect(table.stdout).toMatch(/migrate \(init\)/);
    expect(table.stdout).toMatch(/3 containers, \d not on the newest build of their tag/);
  });
});
