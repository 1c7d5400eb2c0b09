// GitOps coexistence and Kubernetes Events, on the stack's real apiserver: every write Freshet
// makes carries the field manager `freshet` (read back from managedFields), a second writer that
// puts the image back under its own field manager ends the wait at once naming that manager, and
// each update and rollback records an Event on the Deployment, which a Role without `create` on
// events cannot stop the update of.
import { randomBytes } from 'node:crypto';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  EventsV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  V1MicroTime,
  type V1Role,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { KubernetesClients } from '../../activities/kubernetes/clients.ts';
import { type EventObserver, eventRecorder, imageUpdatedEvent } from '../../activities/kubernetes/events.ts';
import { imageFieldOwners } from '../../activities/kubernetes/field-managers.ts';
import { createKubernetesActivities } from '../../activities/kubernetes/index.ts';
import type { ImageRevertedDetails } from '../../activities/kubernetes/reverted.ts';
import { parseConfig } from '../../config/load.ts';
import {
  createNamespace,
  deleteNamespace,
  deploymentManifest,
  kubeClients,
  rolloutComplete,
} from '../support/kube.ts';
import { loadManifests, renamed } from '../support/service-account.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const local: KubernetesClients = { name: 'local', ...kube };
const events = kube.config.makeApiClient(EventsV1Api);

const repo = '127.0.0.1:5000/demo/web';
const good = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const bad = `sha256:bad0${'f'.repeat(60)}`;
const image = (digest: string) => `${repo}:1.0@${digest}`;

let namespace = '';
const configFor = (ns: string) =>
  parseConfig(
    `
temporal: { taskQueue: gitops }
registries: [ { name: demo, url: "http://127.0.0.1:5000" } ]
clusters: { local: {} }
images: [ { name: web, registry: demo, repository: demo/web, track: { tag: "1.0" }, pipeline: web } ]
pipelines:
  web:
    stages: [ { name: staging, cluster: local, targets: [ { namespace: ${ns}, deployment: web } ] } ]
`,
    'test config',
    { env: {} },
  );

function activitiesWith(clients: KubernetesClients, observer?: EventObserver) {
  return createKubernetesActivities({
    clusters: new Map([['local', clients]]),
    config: configFor(namespace),
    ...(observer ? { events: observer } : {}),
  });
}

const ref = () => ({ cluster: 'local', namespace, deployment: 'web', container: 'web' });
const update = (a: ReturnType<typeof activitiesWith>, from: string, to: string, rolloutId = 'ro-gitops-1') =>
  a.updateDeploymentImage({
    pipeline: 'web',
    ref: ref(),
    newImage: to,
    previousImage: from,
    rolloutId,
    changeCause: `freshet ${rolloutId}`,
  });

async function freshetEvents() {
  const list = await events.listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.reportingController === 'freshet.dev/freshet');
}

beforeEach(async () => {
  namespace = `gitops-${randomBytes(3).toString('hex')}`;
  await createNamespace(kube, namespace);
  await kube.apps.createNamespacedDeployment({
    namespace,
    body: deploymentManifest({ name: 'web', image: image(good(1)), replicas: 1 }),
  });
});
afterEach(() => deleteNamespace(kube, namespace));

describe('field manager freshet', () => {
  it('owns the image after an update and after a rollback, as managedFields record it', async () => {
    const a = activitiesWith(local);
    await update(a, image(good(1)), image(good(2)));
    const afterUpdate = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(imageFieldOwners(afterUpdate.metadata?.managedFields, 'web').map((o) => o.manager)).toEqual([
      'freshet',
    ]);
    const entry = afterUpdate.metadata?.managedFields?.find((m) => m.manager === 'freshet');
    expect(entry?.operation).toBe('Update');

    // Any other manager's patch of the image would take the field over: after the rollback it is
    // still Freshet's alone, so the rollback, too, wrote as freshet.
    const r = await a.rollbackDeployment({
      ref: ref(),
      rolloutId: 'ro-gitops-1',
      fromImage: image(good(2)),
      toImage: image(good(1)),
      reason: 'test rollback',
    });
    expect(r.result).toBe('reverted');
    const afterRollback = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(imageFieldOwners(afterRollback.metadata?.managedFields, 'web').map((o) => o.manager)).toEqual([
      'freshet',
    ]);
  });
});

describe('a second writer puts the image back', () => {
  it('ends the wait at once with ImageReverted naming the field manager that owns the image', async () => {
    const a = activitiesWith(local);
    await update(a, image(good(1)), image(bad));
    // A GitOps controller syncing Git's image back, under its own field manager.
    const revert = (async () => {
      await new Promise((r) => setTimeout(r, 1_500));
      await kube.apps.patchNamespacedDeployment({
        namespace,
        name: 'web',
        fieldManager: 'argocd-controller',
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image(good(1)) }],
      });
    })();
    const started = Date.now();
    const err = await a.awaitDeploymentReady({ ref: ref(), image: image(bad), timeoutMs: 90_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await revert;
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect(failure.type).toBe('ImageReverted');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('by field manager argocd-controller (Argo CD)');
    expect(failure.details?.[0] as ImageRevertedDetails).toMatchObject({
      manager: 'argocd-controller',
      operation: 'Update',
      currentImage: image(good(1)),
      image: image(bad),
    });
    // Seen from the watch, not after the 90 s readiness timeout.
    expect(waited).toBeLessThan(15_000);
  });
});

describe('Kubernetes Events', () => {
  it('records FreshetUpdated and FreshetRolledBack on the Deployment, once each however often retried', async () => {
    const recorded: string[] = [];
    const a = activitiesWith(local, { recorded: (e) => recorded.push(e.reason) });
    await update(a, image(good(1)), image(good(2)), 'ro-events-1');
    await a.rollbackDeployment({
      ref: ref(),
      rolloutId: 'ro-events-1',
      fromImage: image(good(2)),
      toImage: image(good(1)),
      reason: 'stg/web not ready',
    });
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    const list = await waitFor('two Freshet Events', async () => {
      const found = await freshetEvents();
      return found.length >= 2 ? found : undefined;
    });
    const byReason = Object.fromEntries(list.map((e) => [e.reason ?? '', e]));
    expect(Object.keys(byReason).sort()).toEqual(['FreshetRolledBack', 'FreshetUpdated']);
    expect(byReason.FreshetUpdated?.note).toBe(
      `Freshet updated web to ${image(good(2))} (rollout ro-events-1, container web)`,
    );
    expect(byReason.FreshetRolledBack?.note).toBe(
      `Freshet rolled back web to ${image(good(1))} (rollout ro-events-1, container web): stg/web not ready`,
    );
    expect(byReason.FreshetRolledBack?.type).toBe('Warning');
    for (const e of list) {
      expect(e.regarding).toMatchObject({ kind: 'Deployment', name: 'web', namespace, uid: d.metadata?.uid });
      expect(e.reportingInstance).toBe('freshet-gitops');
    }
    // The core v1 view that kubectl describe reads: involvedObject is the Deployment.
    const core = await kube.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=web,involvedObject.kind=Deployment,involvedObject.uid=${d.metadata?.uid}`,
    });
    // Beside the deployment controller's own (ScalingReplicaSet).
    expect(
      core.items
        .map((e) => e.reason ?? '')
        .filter((r) => r.startsWith('Freshet'))
        .sort(),
    ).toEqual(['FreshetRolledBack', 'FreshetUpdated']);
    expect(core.items.find((e) => e.reason === 'FreshetUpdated')?.message).toMatch(
      /^Freshet updated web to 127\.0\.0\.1:5000\/demo\/web:1\.0@sha256:[0-9a-f]{64} \(rollout ro-events-1, container web\)$/,
    );
    expect(recorded).toEqual(['FreshetUpdated', 'FreshetRolledBack']);

    // An activity retried after its patch went through records the same Event: found, not doubled.
    const again = eventRecorder('gitops', { recorded: (e) => recorded.push(`again ${e.reason}`) });
    const deploymentRef = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace,
      name: 'web',
      uid: d.metadata?.uid ?? '',
    };
    const event = imageUpdatedEvent({
      name: 'web',
      container: 'web',
      image: image(good(2)),
      rolloutId: 'ro-events-1',
    });
    await again(local, deploymentRef, event);
    await again(local, deploymentRef, event);
    expect(recorded.slice(2)).toEqual(['again FreshetUpdated', 'again FreshetUpdated']);
    expect((await freshetEvents()).filter((e) => e.reason === 'FreshetUpdated')).toHaveLength(1);
  });

  it('still updates without create on events, logging and counting the Event it could not record', async () => {
    // The Role deploy/kubernetes ships, without its events rule, bound to an impersonated user.
    const shipped = loadManifests().find((m) => m.kind === 'Role') as V1Role;
    const role = renamed(shipped, { staging: namespace });
    role.rules = (role.rules ?? []).filter((r) => !r.apiGroups?.includes('events.k8s.io'));
    expect(role.rules.length).toBe((shipped.rules ?? []).length - 1);
    const rbac = kube.config.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace, body: role });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'freshet-no-events' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata?.name ?? '' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'freshet-no-events' }],
      },
    });
    const restricted = new KubeConfig();
    restricted.loadFromOptions({
      clusters: kube.config.clusters,
      contexts: kube.config.contexts,
      currentContext: kube.config.currentContext,
      users: kube.config.users.map((u) => ({ ...u, impersonateUser: 'freshet-no-events' })),
    });
    const clients: KubernetesClients = {
      name: 'local',
      config: restricted,
      apps: restricted.makeApiClient(AppsV1Api),
      core: restricted.makeApiClient(CoreV1Api),
      batch: restricted.makeApiClient(BatchV1Api),
    };
    const failed: { reason: string; error: string }[] = [];
    const a = activitiesWith(clients, { failed: (e) => failed.push(e) });
    const result = await waitFor('the RoleBinding to take effect', () =>
      update(a, image(good(1)), image(good(2))).catch(() => undefined),
    );
    expect(result).toMatchObject({ changed: true, image: image(good(2)) });
    expect(failed).toMatchObject([{ reason: 'FreshetUpdated', error: expect.stringMatching(/^403/) }]);
    expect(await freshetEvents()).toEqual([]);
    // With the shipped Role the same user may record it: the rule is what makes the difference.
    await rbac.replaceNamespacedRole({
      namespace,
      name: role.metadata?.name ?? '',
      body: renamed(shipped, { staging: namespace }),
    });
    const probe = restricted.makeApiClient(EventsV1Api);
    await waitFor('the shipped Role to allow creating Events', () =>
      probe
        .createNamespacedEvent({
          namespace,
          dryRun: 'All',
          body: {
            metadata: { name: 'probe' },
            regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: 'web' },
            eventTime: new V1MicroTime(),
            reportingController: 'probe/probe',
            reportingInstance: 'probe',
            action: 'Probe',
            reason: 'Probe',
            type: 'Normal',
          },
        })
        .then(() => true),
    );
    await update(a, image(good(2)), image(good(3)), 'ro-gitops-2');
    expect((await freshetEvents()).map((e) => e.reason)).toEqual(['FreshetUpdated']);
    await waitFor('the Deployment to settle', async () =>
      rolloutComplete(await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })),
    );
  });
});
