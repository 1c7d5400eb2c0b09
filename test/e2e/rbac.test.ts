// Least privilege, proven on a real API server with RBAC on: the ServiceAccount, Roles and
// RoleBindings from deploy/kubernetes are applied as they are (only the namespaces renamed to this
// test's), the daemon's cluster gets a kubeconfig holding nothing but that ServiceAccount's token,
// and real rollouts run with it: a good build through staging and production, and a broken build
// that staging rolls back (the failure names the pods' waiting reason, which needs the ReplicaSet
// and Pod lists). The same token may not read Secrets, delete Deployments, or patch a Deployment
// in a namespace the manifests do not name. /readyz is green with that token (readiness needs no
// more than the Roles). The Deployment's pod template passes the "restricted" Pod Security profile
// that namespace.yaml enforces. Each verb the workload kinds add (get, list, watch, patch of
// StatefulSets, DaemonSets and CronJobs, list of Jobs, delete of pods), and watch of pods for the
// daemon's shared watch that freshness reads, is needed: with that one
// verb taken out of the Role, the activity that uses it fails with a 403 naming the call; with
// the full Role the same call works.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  EventsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  type V1Deployment,
  V1MicroTime,
  type V1Namespace,
  type V1PolicyRule,
  type V1Role,
  VersionApi,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiStatus } from '../../activities/kubernetes/errors.ts';
import { createKubernetesActivities } from '../../activities/kubernetes/index.ts';
import { createSharedWatches, type WatchError } from '../../activities/kubernetes/shared-watches.ts';
import type { TargetRef, TargetSpec, WorkloadKind } from '../../activities/kubernetes/types.ts';
import { requestRollout } from '../../activities/rollout/request.ts';
import { parseConfig } from '../../config/load.ts';
import type { Daemon } from '../../worker/daemon.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import type { PushedImage } from '../support/image-pusher.ts';
import { createNamespace, deleteNamespace, deploymentManifest, kubeClients } from '../support/kube.ts';
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
import {
  cronJobManifest,
  daemonSetManifest,
  daemonSetRolledOut,
  statefulSetManifest,
  statefulSetRolledOut,
} from '../support/workload-manifests.ts';

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

  // Without the Role's events rule these Events are missing (test/e2e/gitops-events.test.ts shows
  // the update going through all the same); the ServiceAccount may not create them elsewhere.
  it('records an Event for each update and rollback with the same token (create on events)', async () => {
    const events = fx.kube.config.makeApiClient(EventsV1Api);
    const reasons = async (namespace: string) =>
      (await events.listNamespacedEvent({ namespace })).items
        .filter((e) => e.reportingController === 'freshet.dev/freshet')
        .map((e) => `${e.regarding?.name} ${e.reason}`)
        .sort();
    const updated = fx.deployments.map((d) => `${d} FreshetUpdated`);
    expect(await reasons(fx.production)).toEqual(updated);
    // Staging: the good build's updates, the broken build's canary update and its rollback.
    expect(await reasons(fx.staging)).toEqual(
      [...updated, `${fx.deployments[0]} FreshetUpdated`, `${fx.deployments[0]} FreshetRolledBack`].sort(),
    );
    const probe = (namespace: string) => ({
      metadata: { name: 'probe' },
      regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: fx.deployments[0] },
      eventTime: new V1MicroTime(),
      reportingController: 'probe/probe',
      reportingInstance: 'probe',
      action: 'Probe',
      reason: 'Probe',
      type: 'Normal',
    });
    const saEvents = new KubeConfig();
    saEvents.loadFromFile(kubeconfigPath);
    const api = saEvents.makeApiClient(EventsV1Api);
    expect(
      await status(api.createNamespacedEvent({ namespace: other, body: probe(other), dryRun: 'All' })),
    ).toBe(403);
    expect(
      await status(
        api.createNamespacedEvent({ namespace: fx.staging, body: probe(fx.staging), dryRun: 'All' }),
      ),
    ).toBe('ok');
    expect(await status(api.listNamespacedEvent({ namespace: fx.staging }))).toBe(403);
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

describe('each verb the workload kinds add to the Roles is needed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-rbac-kinds-'));
  const manifests = loadManifests();
  const s = uniqueSuffix();
  const home = `freshet-k-${s}`;
  const ns = `kinds-${s}`;
  const unused = `kinds-prd-${s}`;
  const kube = kubeClients(stack.kubernetes.kubeconfig);
  const rbac = kube.config.makeApiClient(RbacAuthorizationV1Api);
  const repo = '127.0.0.1:5000/demo/web';
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  const app = (c: string, tag = '1.0') => `${repo}:${tag}@${digest(c)}`;
  const side = `127.0.0.1:5000/demo/side:1.0@${digest('5')}`;
  const brokenSide = `127.0.0.1:5000/demo/side:1.0@sha256:bad0${'5'.repeat(60)}`;
  const brokenApp = `${repo}:1.0@sha256:bad0${'9'.repeat(60)}`;
  let role: V1Role;
  let fullRules: V1PolicyRule[];
  let access: AuthorizationV1Api;
  let activities: ReturnType<typeof createKubernetesActivities>;
  let saClients: { name: string; config: KubeConfig; apps: AppsV1Api; batch: BatchV1Api; core: CoreV1Api };

  const config = parseConfig(
    `
temporal: { taskQueue: rbac-kinds-${s} }
registries: [ { name: demo, url: "http://127.0.0.1:5000" } ]
clusters: { local: {} }
images: [ { name: web, registry: demo, repository: demo/web, track: { tag: "1.0" }, pipeline: web } ]
pipelines:
  web:
    stages:
      - name: staging
        cluster: local
        targets:
          - { namespace: ${ns}, kind: StatefulSet, name: db }
          - { namespace: ${ns}, kind: DaemonSet, name: agent }
          - { namespace: ${ns}, kind: CronJob, name: report, awaitNextJob: true }
          - { namespace: ${ns}, selector: { tier: rbac }, kinds: [StatefulSet, DaemonSet, CronJob] }
`,
    'test config',
    { env: {} },
  );

  /** Two containers: `app` runs the pipeline's image, `side` another one (a broken `side` holds the pods unready). */
  function twoContainers<T extends { metadata?: { labels?: Record<string, string> } }>(
    body: T,
    spec: { containers: { name: string; image?: string }[] } | undefined,
  ): T {
    body.metadata = { ...body.metadata, labels: { ...body.metadata?.labels, tier: 'rbac' } };
    const first = spec?.containers[0];
    if (!spec || !first) throw new Error('manifest has no container');
    first.name = 'app';
    spec.containers.push({ ...structuredClone(first), name: 'side', image: side });
    return body;
  }

  const refOf = (kind: WorkloadKind, name: string): TargetRef => ({
    cluster: 'local',
    namespace: ns,
    kind,
    deployment: name,
    container: 'app',
  });
  const named: Record<string, TargetSpec> = {
    StatefulSet: { namespace: ns, kind: 'StatefulSet', name: 'db' },
    DaemonSet: { namespace: ns, kind: 'DaemonSet', name: 'agent' },
    CronJob: { namespace: ns, kind: 'CronJob', name: 'report', awaitNextJob: true },
  };
  const bySelector: TargetSpec = {
    namespace: ns,
    selector: { tier: 'rbac' },
    kinds: ['StatefulSet', 'DaemonSet', 'CronJob'],
  };
  const plan = (targets: TargetSpec[]) =>
    activities.planStage({
      pipeline: 'web',
      cluster: 'local',
      targets,
      registryHost: '127.0.0.1:5000',
      repository: 'demo/web',
      tag: '1.0',
      digest: digest('2'),
    });
  const update = (kind: WorkloadKind, name: string, from: string, to: string) =>
    activities.updateDeploymentImage({
      pipeline: 'web',
      ref: refOf(kind, name),
      newImage: to,
      previousImage: from,
      rolloutId: `rbac-${s}`,
      changeCause: `freshet rbac-${s}: ${to}`,
    });
  const awaitReady = (kind: WorkloadKind, name: string, image: string, awaitNextJob = false) =>
    activities.awaitDeploymentReady({
      ref: refOf(kind, name),
      image,
      timeoutMs: 90_000,
      ...(awaitNextJob ? { awaitNextJob } : {}),
    });

  /** The Role with one verb taken out of the rule for `group`/`resource` (undefined: the full Role). */
  const rulesWithout = (group: string, resource: string, verb: string): V1PolicyRule[] =>
    fullRules.flatMap((r) => {
      if (!r.apiGroups?.includes(group) || !r.resources?.includes(resource)) return [r];
      const others = (r.resources ?? []).filter((x) => x !== resource);
      const verbs = r.verbs.filter((v) => v !== verb);
      return [
        ...(others.length ? [{ ...r, resources: others }] : []),
        ...(verbs.length ? [{ ...r, resources: [resource], verbs }] : []),
      ];
    });

  /** Replaces the Role's rules and waits until the ServiceAccount's own access review agrees. */
  async function setRules(rules: V1PolicyRule[], probe: { group: string; resource: string; verb: string }) {
    const current = await rbac.readNamespacedRole({ namespace: ns, name: role.metadata?.name ?? '' });
    await rbac.replaceNamespacedRole({
      namespace: ns,
      name: role.metadata?.name ?? '',
      body: { ...current, rules },
    });
    const want = rules === fullRules;
    await waitFor(`${probe.verb} ${probe.resource} ${want ? 'granted' : 'denied'}`, async () => {
      const review = await access.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { namespace: ns, ...probe } } },
      });
      return review.status?.allowed === want;
    });
  }

  async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }

  async function setSide(kind: 'StatefulSet' | 'DaemonSet', name: string, image: string) {
    const body = [{ op: 'replace', path: '/spec/template/spec/containers/1/image', value: image }];
    if (kind === 'StatefulSet') await kube.apps.patchNamespacedStatefulSet({ namespace: ns, name, body });
    else await kube.apps.patchNamespacedDaemonSet({ namespace: ns, name, body });
  }

  /** The StatefulSet controller never replaces a pod that is not ready (OrderedReady): an operator deletes it. */
  async function replaceUnreadyPods(name: string) {
    await waitFor(`StatefulSet ${name} to observe its template`, async () => {
      const sts = await kube.apps.readNamespacedStatefulSet({ namespace: ns, name });
      return (sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0);
    });
    const pods = await kube.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${name}` });
    for (const pod of pods.items) {
      if (!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        await kube.core.deleteNamespacedPod({ namespace: ns, name: pod.metadata?.name ?? '' });
    }
  }

  /** A Job created from the CronJob, as `kubectl create job --from=cronjob/NAME` does. */
  async function jobFromCronJob(name: string) {
    const cj = await kube.batch.readNamespacedCronJob({ namespace: ns, name });
    const spec = cj.spec?.jobTemplate.spec;
    if (!spec || !cj.metadata?.uid) throw new Error('CronJob has no job template');
    await kube.batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: {
          name: `${name}-manual-${uniqueSuffix()}`,
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'CronJob', name, uid: cj.metadata.uid, controller: true },
          ],
        },
        spec,
      },
    });
  }

  beforeAll(async () => {
    await kube.core.createNamespace({
      body: { metadata: { name: home, labels: { 'freshet.dev/test': 'true' } } },
    });
    await createNamespace(kube, ns);
    await createNamespace(kube, unused);
    const sts = statefulSetManifest({ name: 'db', image: app('1'), replicas: 1 });
    await kube.apps.createNamespacedStatefulSet({
      namespace: ns,
      body: twoContainers(sts, sts.spec?.template.spec),
    });
    const ds = daemonSetManifest({ name: 'agent', image: app('1') });
    await kube.apps.createNamespacedDaemonSet({
      namespace: ns,
      body: twoContainers(ds, ds.spec?.template.spec),
    });
    // Suspended: no Job but the ones this test creates.
    const cj = cronJobManifest({ name: 'report', image: app('1'), schedule: '0 0 1 1 *' });
    if (cj.spec) cj.spec.suspend = true;
    await kube.batch.createNamespacedCronJob({
      namespace: ns,
      body: twoContainers(cj, cj.spec?.jobTemplate.spec?.template.spec),
    });

    await applyRbac(kube, manifests, { freshet: home, staging: ns, production: unused });
    role = manifests.find(
      (m) => m.kind === 'Role' && m.metadata?.namespace === 'staging',
    ) as unknown as V1Role;
    fullRules = role.rules ?? [];
    const { config: kc } = await serviceAccountKubeconfig(kube, home, dir);
    access = kc.makeApiClient(AuthorizationV1Api);
    saClients = {
      name: 'local',
      apps: kc.makeApiClient(AppsV1Api),
      batch: kc.makeApiClient(BatchV1Api),
      core: kc.makeApiClient(CoreV1Api),
      config: kc,
    };
    activities = createKubernetesActivities({ clusters: new Map([['local', saClients]]), config });
    await waitFor(
      'the StatefulSet and DaemonSet to be rolled out',
      async () =>
        (await statefulSetRolledOut(kube, ns, 'db')) && (await daemonSetRolledOut(kube, ns, 'agent')),
      { timeoutMs: 90_000 },
    );
  }, 150_000);

  afterAll(async () => {
    for (const n of [home, ns, unused]) await deleteNamespace(kube, n);
    rmSync(dir, { recursive: true, force: true });
  });

  const plural: Record<WorkloadKind, string> = {
    Deployment: 'deployments',
    StatefulSet: 'statefulsets',
    DaemonSet: 'daemonsets',
    CronJob: 'cronjobs',
  };
  const group = (kind: WorkloadKind) => (kind === 'CronJob' ? 'batch' : 'apps');
  const names: Record<string, string> = { StatefulSet: 'db', DaemonSet: 'agent', CronJob: 'report' };
  const kinds = ['StatefulSet', 'DaemonSet', 'CronJob'] as const;

  /** Denied without `verb`, then the same call with the full Role; returns what the allowed call returned. */
  async function needed<T>(
    probe: { group: string; resource: string; verb: string },
    call: () => Promise<T>,
    expected: RegExp[],
  ): Promise<T> {
    await setRules(rulesWithout(probe.group, probe.resource, probe.verb), probe);
    try {
      const err = await failure(call());
      expect(err.message).toMatch(/: 403 Forbidden \(check the credentials and RBAC/);
      for (const e of expected) expect(err.message).toMatch(e);
    } finally {
      await setRules(fullRules, probe);
    }
    return call();
  }

  it.each(kinds)('planStage needs get on %s for a named target', async (kind) => {
    const probe = { group: group(kind), resource: plural[kind], verb: 'get' };
    const target = named[kind] as TargetSpec;
    const out = await needed(probe, () => plan([target]), [
      new RegExp(`read ${kind} ${ns}/${names[kind]}`),
      new RegExp(`cannot get resource "${plural[kind]}"`),
    ]);
    expect(out.problems).toEqual([]);
    expect(out.targets.map((t) => [t.kind, t.deployment, t.container, t.action])).toEqual([
      [kind, names[kind], 'app', 'update'],
    ]);
  });

  it.each(kinds)('planStage needs list on %s for a selector target', async (kind) => {
    const probe = { group: group(kind), resource: plural[kind], verb: 'list' };
    const out = await needed(probe, () => plan([bySelector]), [
      new RegExp(`list ${kind}s in ${ns}`),
      new RegExp(`cannot list resource "${plural[kind]}"`),
    ]);
    expect(out.problems).toEqual([]);
    expect(out.targets.map((t) => t.kind).sort()).toEqual(['CronJob', 'DaemonSet', 'StatefulSet']);
  });

  it.each(kinds)('updateDeploymentImage needs patch on %s', async (kind) => {
    const probe = { group: group(kind), resource: plural[kind], verb: 'patch' };
    const out = await needed(probe, () => update(kind, names[kind] ?? '', app('1'), app('2')), [
      new RegExp(`patch ${kind} ${ns}/${names[kind]} container app`),
      new RegExp(`cannot patch resource "${plural[kind]}"`),
    ]);
    expect(out).toMatchObject({ changed: true, image: app('2') });
  });

  it.each(['StatefulSet', 'DaemonSet'] as const)(
    'awaitDeploymentReady needs watch on %s',
    async (kind) => {
      const name = names[kind] ?? '';
      // A broken side container holds the pods unready, so the wait has to watch.
      await setSide(kind, name, brokenSide);
      const probe = { group: 'apps', resource: plural[kind], verb: 'watch' };
      await setRules(rulesWithout(probe.group, probe.resource, probe.verb), probe);
      try {
        const err = await failure(awaitReady(kind, name, app('2')));
        expect(err.message).toMatch(new RegExp(`watch ${kind} ${ns}/${name}: 403 Forbidden`));
      } finally {
        await setRules(fullRules, probe);
      }
      const waiting = awaitReady(kind, name, app('2'));
      await setSide(kind, name, side);
      if (kind === 'StatefulSet') await replaceUnreadyPods(name);
      expect(await waiting).toMatchObject({ ready: true });
    },
    150_000,
  );

  it('awaitDeploymentReady needs watch on cronjobs while it waits for the next Job', async () => {
    const probe = { group: 'batch', resource: 'cronjobs', verb: 'watch' };
    await setRules(rulesWithout(probe.group, probe.resource, probe.verb), probe);
    try {
      const err = await failure(awaitReady('CronJob', 'report', app('2'), true));
      expect(err.message).toMatch(new RegExp(`watch CronJob ${ns}/report: 403 Forbidden`));
    } finally {
      await setRules(fullRules, probe);
    }
    const waiting = awaitReady('CronJob', 'report', app('2'), true);
    await jobFromCronJob('report');
    expect(await waiting).toMatchObject({ ready: true });
  }, 150_000);

  it("the daemon's shared Pod watch needs watch on pods (freshness LISTs every collection without it)", async () => {
    const probe = { group: '', resource: 'pods', verb: 'watch' };
    const follow = async () => {
      const errors: WatchError[] = [];
      const watches = createSharedWatches({
        cluster: 'local',
        config: saClients.config,
        clients: saClients,
        onError: (e) => errors.push(e),
      });
      try {
        return { objects: await watches.objects('Pod', ns), errors };
      } finally {
        await watches.close();
      }
    };
    await setRules(rulesWithout(probe.group, probe.resource, probe.verb), probe);
    try {
      const refused = await follow();
      expect(refused.objects).toBeUndefined();
      expect(refused.errors).toMatchObject([{ cluster: 'local', kind: 'Pod', namespace: ns, status: 403 }]);
    } finally {
      await setRules(fullRules, probe);
    }
    const allowed = await follow();
    expect(allowed.errors).toEqual([]);
    expect(allowed.objects?.list().length).toBeGreaterThan(0);
  });

  it('awaitDeploymentReady needs list on jobs for awaitNextJob', async () => {
    const probe = { group: 'batch', resource: 'jobs', verb: 'list' };
    const out = await needed(probe, () => awaitReady('CronJob', 'report', app('2'), true), [
      new RegExp(`list Jobs in ${ns}`),
      /cannot list resource "jobs"/,
    ]);
    expect(out).toMatchObject({ ready: true });
  });

  it('rollbackDeployment needs delete on pods to release a StatefulSet pod stuck on the broken build', async () => {
    expect(await update('StatefulSet', 'db', app('2'), brokenApp)).toMatchObject({ changed: true });
    await waitFor(
      'the StatefulSet pod on the broken build',
      async () => {
        const sts = await kube.apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
        const pods = await kube.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=db' });
        return pods.items.some(
          (p) =>
            p.metadata?.labels?.['controller-revision-hash'] === sts.status?.updateRevision &&
            p.spec?.containers[0]?.image === brokenApp &&
            !p.metadata?.deletionTimestamp,
        );
      },
      { timeoutMs: 60_000 },
    );
    const rollback = () =>
      activities.rollbackDeployment({
        ref: refOf('StatefulSet', 'db'),
        fromImage: brokenApp,
        toImage: app('2'),
        rolloutId: `rbac-${s}`,
        reason: 'the RBAC test',
      });
    const out = await needed({ group: '', resource: 'pods', verb: 'delete' }, rollback, [
      new RegExp(`delete pod ${ns}/db-0 of StatefulSet db`),
      /cannot delete resource "pods"/,
    ]);
    // The patch back landed the first time; the retry only released the stuck pod.
    expect(out).toMatchObject({ result: 'already', currentImage: app('2') });
    await waitFor(
      'the StatefulSet to be healthy on the good build',
      () => statefulSetRolledOut(kube, ns, 'db'),
      {
        timeoutMs: 60_000,
      },
    );
    const pods = await kube.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=db' });
    expect(pods.items.map((p) => p.spec?.containers[0]?.image)).toEqual([app('2')]);
  }, 150_000);
});
