// Least privilege, proven on a real API server with RBAC on: the ServiceAccount, Roles and
// RoleBindings from deploy/kubernetes are applied as they are (only the namespaces renamed to this
// test's), the daemon's cluster gets a kubeconfig holding nothing but that ServiceAccount's token,
// and real rollouts run with it: a good build through staging and production, and a broken build
// that staging rolls back (the failure names the pods' waiting reason, which needs the ReplicaSet
// and Pod lists). The same token may not read Secrets, delete Deployments, or patch a Deployment
// in a namespace the manifests do not name. /readyz is green with that token (readiness needs no
// more than the Roles). The Deployment's pod template passes the "restricted" Pod Security profile
// that namespace.yaml enforces.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type V1Deployment,
  type V1Namespace,
  VersionApi,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiStatus } from '../../activities/kubernetes/errors.ts';
import { requestRollout } from '../../activities/rollout/request.ts';
import type { Daemon } from '../../worker/daemon.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import type { PushedImage } from '../support/image-pusher.ts';
import { deleteNamespace, deploymentManifest } from '../support/kube.ts';
import { sampleValue, scrape } from '../support/metrics.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';
import {
  applyRbac,
  loadManifests,
  rbacKinds,
  renamed,
  serviceAccountKubeconfig,
} from '../support/service-account.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
async function status(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return apiStatus(err) ?? -1;
  }
}

describe('least-privilege RBAC from deploy/kubernetes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-rbac-'));
  const manifests = loadManifests();
  let fx: RolloutFixture;
  let home: string;
  let other: string;
  let namespaces: Record<string, string>;
  let sa: { core: CoreV1Api; apps: AppsV1Api };
  let daemon: Daemon | undefined;
  let good: PushedImage;
  let kubeconfigPath = '';

  beforeAll(async () => {
    fx = await createRolloutFixture(stack, {
      startDaemon: false,
      deployments: 2,
      replicas: 1,
    });
    const s = uniqueSuffix();
    home = `freshet-${s}`;
    other = `other-${s}`;
    namespaces = { freshet: home, staging: fx.staging, production: fx.production };

    // Freshet's own namespace, as namespace.yaml makes it (restricted Pod Security).
    const ns = manifests.find((m) => m.kind === 'Namespace') as V1Namespace;
    const nsBody = renamed(ns, namespaces);
    nsBody.metadata = {
      ...nsBody.metadata,
      labels: { ...nsBody.metadata?.labels, 'freshet.dev/test': 'true' },
    };
    await fx.kube.core.createNamespace({ body: nsBody });
    // A namespace the manifests grant nothing in, with a Deployment to try to patch.
    await fx.kube.core.createNamespace({
      body: { metadata: { name: other, labels: { 'freshet.dev/test': 'true' } } },
    });
    await waitFor(`ServiceAccount default in ${other}`, async () => {
      await fx.kube.core.readNamespacedServiceAccount({ name: 'default', namespace: other });
      return true;
    });
    await fx.kube.apps.createNamespacedDeployment({
      namespace: other,
      body: deploymentManifest({ name: 'web-1', image: fx.baseline.reference, replicas: 1 }),
    });

    await applyRbac(fx.kube, manifests, namespaces);
    const { path: kubeconfig, config: kc } = await serviceAccountKubeconfig(fx.kube, home, dir);
    kubeconfigPath = kubeconfig;
    sa = { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };

    // The fixture's own config (no approval gate), with the ServiceAccount's kubeconfig.
    const config = stackConfig(stack, fx.yaml, { ...fx.env, KUBECONFIG_PATH: kubeconfig });
    expect(config.temporal.taskQueue).toBe(fx.config.temporal.taskQueue);
    daemon = await startTestDaemon(config);
  });

  afterAll(async () => {
    await daemon?.close();
    await fx?.close();
    if (fx) for (const ns of [home, other]) if (ns) await deleteNamespace(fx.kube, ns);
    rmSync(dir, { recursive: true, force: true });
  });

  it('grants only Roles in the target namespaces, bound to the ServiceAccount', () => {
    const rbac = manifests.filter((m) => rbacKinds.has(m.kind ?? ''));
    expect(rbac.filter((m) => m.kind?.startsWith('Cluster'))).toEqual([]);
    const roles = rbac.filter((m) => m.kind === 'Role');
    expect(roles.map((r) => r.metadata?.namespace).sort()).toEqual(['production', 'staging']);
    expect(rbac.filter((m) => m.kind === 'ServiceAccount').map((m) => m.metadata?.namespace)).toEqual([
      'freshet',
    ]);
  });

  it('rolls a good build through staging and production with only the ServiceAccount token', async () => {
    good = await fx.push();
    const result = await fx.result(await fx.request(good));
    expect(result.outcome, result.reason).toBe('succeeded');
    for (const ns of [fx.staging, fx.production]) {
      expect(Object.values(await fx.images(ns))).toEqual(fx.deployments.map(() => good.reference));
      expect(await fx.allComplete(ns)).toBe(true);
    }
  });

  it('rolls a broken build back in staging, naming the pods waiting reason', async () => {
    const broken = await fx.push({ broken: true });
    // A short rollout timeout for this build only (the rollout snapshots the config it is asked
    // with), so the good builds keep the fixture's 60 s on a busy machine.
    const config = structuredClone(fx.config);
    const staging = config.pipelines[fx.pipeline]?.stages[0];
    if (!staging) throw new Error('no staging stage');
    staging.health.rolloutTimeout = 20_000;
    const { rolloutId } = await requestRollout(
      { client: fx.client, config, searchAttributes: true },
      {
        pipeline: fx.pipeline,
        image: fx.image,
        registry: `reg-${fx.suffix}`,
        repository: fx.repository,
        tag: broken.tag,
        digest: broken.digest,
        trigger: 'manual',
        detectedAt: new Date().toISOString(),
      },
    );
    const result = await fx.result(rolloutId);
    expect(result.outcome, result.reason).toBe('rolled_back');
    // "…not ready after 20s: 0/1 updated replicas ready; pods waiting: ImagePullBackOff (1)"
    // comes from listing the Deployment's ReplicaSets and Pods: RBAC allowed both.
    expect(result.reason).toMatch(/not ready after 20s: .*pods waiting: ImagePullBackOff/);
    expect(result.reason).toContain('rolled back 1 workload');
    await waitFor('staging to be back on the good build', async () => fx.allComplete(fx.staging), {
      timeoutMs: 60_000,
    });
    expect(Object.values(await fx.images(fx.staging))).toEqual(fx.deployments.map(() => good.reference));
    expect(Object.values(await fx.images(fx.production))).toEqual(fx.deployments.map(() => good.reference));
  });

  it('collects the freshness metrics with the same token (LIST Deployments and Pods)', async () => {
    if (!daemon) throw new Error('no daemon');
    await daemon.refreshFreshness();
    const metrics = await scrape(daemon.url);
    for (const deployment of fx.deployments) {
      for (const namespace of [fx.staging, fx.production]) {
        expect(
          sampleValue(metrics, 'freshet_image_up_to_date', { namespace, deployment }),
          `${namespace}/${deployment}`,
        ).toBeDefined();
      }
    }
  });

  it('denies Secrets, deletes and namespaces outside the Roles', async () => {
    const patch = [{ op: 'add', path: '/metadata/annotations', value: { 'freshet.dev/probe': 'x' } }];
    expect(await status(sa.core.listNamespacedSecret({ namespace: fx.staging }))).toBe(403);
    expect(await status(sa.core.readNamespacedSecret({ namespace: fx.production, name: 'any' }))).toBe(403);
    expect(await status(sa.core.listNamespacedSecret({ namespace: home }))).toBe(403);
    expect(
      await status(sa.apps.patchNamespacedDeployment({ namespace: other, name: 'web-1', body: patch })),
    ).toBe(403);
    expect(await status(sa.apps.readNamespacedDeployment({ namespace: other, name: 'web-1' }))).toBe(403);
    expect(
      await status(
        sa.apps.deleteNamespacedDeployment({ namespace: fx.staging, name: fx.deployments[0] ?? '' }),
      ),
    ).toBe(403);
    expect(
      await status(
        sa.apps.createNamespacedDeployment({
          namespace: fx.staging,
          body: deploymentManifest({ name: 'intruder', image: fx.baseline.reference }),
        }),
      ),
    ).toBe(403);
    expect(await status(sa.apps.listDeploymentForAllNamespaces({}))).toBe(403);
    expect(await status(sa.core.listNamespace({ limit: 1 }))).toBe(403);
    // While the granted calls work with that token.
    expect(await status(sa.apps.listNamespacedDeployment({ namespace: fx.staging, limit: 1 }))).toBe('ok');
    expect(await status(sa.core.listNamespacedPod({ namespace: fx.production }))).toBe('ok');
  });

  // Readiness must not need more than the Roles grant: /readyz asks each cluster for GET /version
  // (allowed to any authenticated client), not for a cluster-wide list.
  it('is ready (/readyz) with only namespaced permissions, and a bad token is not', async () => {
    if (!daemon) throw new Error('no daemon');
    const res = await fetch(`${daemon.url}/readyz`);
    const body = (await res.json()) as { ready: boolean; checks: Record<string, string> };
    expect(body.checks).toEqual({ temporal: 'ok', 'cluster local': 'ok' });
    expect(res.status).toBe(200);
    // GET /version still authenticates a token that is sent: a revoked or expired one gets 401.
    const bad = new KubeConfig();
    bad.loadFromString(readFileSync(kubeconfigPath, 'utf8'));
    bad.users = bad.users.map((u) => ({ ...u, token: 'not-a-valid-token' }));
    expect(await status(bad.makeApiClient(VersionApi).getCode())).toBe(401);
  });

  it("admits the Deployment's pod template under the restricted Pod Security profile", async () => {
    const deployment = renamed(manifests.find((m) => m.kind === 'Deployment') as V1Deployment, namespaces);
    const template = deployment.spec?.template;
    if (!template?.spec) throw new Error('deployment.yaml has no pod template');
    // A server-side dry run goes through admission (Pod Security included) and stores nothing.
    const pod = await fx.kube.core.createNamespacedPod({
      namespace: home,
      dryRun: 'All',
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'freshet-dry-run', labels: template.metadata?.labels ?? {} },
        spec: template.spec,
      },
    });
    expect(pod.spec?.securityContext?.runAsUser).toBe(1000);
    // The full object set is valid for the API server too.
    const objects = KubernetesObjectApi.makeApiClient(fx.kube.config);
    for (const m of manifests.filter((m) => ['ConfigMap', 'Deployment', 'Service'].includes(m.kind ?? ''))) {
      await objects.create(renamed(m, namespaces), undefined, 'All');
    }
  });
});
