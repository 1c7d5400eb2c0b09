// The rollout workflow's Kubernetes activities against the stack's real apiserver and deployment
// controller: KWOK makes good images Ready and keeps `sha256:bad0…` digests in ImagePullBackOff.
import { randomBytes } from 'node:crypto';
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { awaitDeploymentReady } from '../../activities/kubernetes/await.ts';
import type { KubernetesClients } from '../../activities/kubernetes/clients.ts';
import { patchContainerImage, readDeployment } from '../../activities/kubernetes/deployment.ts';
import { createKubernetesActivities } from '../../activities/kubernetes/index.ts';
import type { TargetRef } from '../../activities/kubernetes/types.ts';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import {
  createNamespace,
  deleteNamespace,
  deploymentManifest,
  kubeClients,
  rolloutComplete,
} from '../support/kube.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const local: KubernetesClients = { name: 'local', ...kube };

const repo = '127.0.0.1:5000/demo/web';
const good = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const bad = `sha256:bad0${'f'.repeat(60)}`;
const image = (digest: string, tag = '1.0') => `${repo}:${tag}@${digest}`;
const uniqueSuffix = () => randomBytes(3).toString('hex');

/** What the daemon's config would say about the test's namespace: the activities refuse the rest. */
function configFor(
  ns: string,
  targets = '{ namespace: NS, deployment: web }, { namespace: NS, deployment: gone }',
): Config {
  return parseConfig(
    `
temporal: { taskQueue: kact }
registries: [ { name: demo, url: "http://127.0.0.1:5000" } ]
clusters: { local: {}, restricted: {} }
images: [ { name: web, registry: demo, repository: demo/web, track: { tag: "1.0" }, pipeline: web } ]
pipelines:
  web:
    stages:
      - name: staging
        cluster: local
        targets: [ ${targets.replaceAll('NS', ns)}, { namespace: ${ns}, selector: { tier: front } }, { namespace: ${ns}, selector: { tier: none } } ]
      - { name: locked, cluster: restricted, targets: [ { namespace: ${ns}, selector: { app: locked } } ] }
`,
    'test config',
    { env: {} },
  );
}

let namespace = '';
let activities: ReturnType<typeof createKubernetesActivities>;
beforeEach(async () => {
  namespace = `kact-${uniqueSuffix()}`;
  activities = createKubernetesActivities({
    clusters: new Map([['local', local]]),
    config: configFor(namespace),
  });
  await createNamespace(kube, namespace);
});
afterEach(() => deleteNamespace(kube, namespace));

async function createDeployment(
  name: string,
  img: string,
  opts: { labels?: Record<string, string>; replicas?: number; progressDeadlineSeconds?: number } = {},
) {
  const body = deploymentManifest({ name, image: img, ...opts });
  body.metadata = { ...body.metadata, labels: { app: name, ...opts.labels } };
  await kube.apps.createNamespacedDeployment({ namespace, body });
}

const refOf = (deployment: string): TargetRef => ({
  cluster: 'local',
  namespace,
  deployment,
  container: deployment,
});

async function setImageBehindFreshetsBack(name: string, img: string) {
  await kube.apps.patchNamespacedDeployment({
    namespace,
    name,
    body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: img }],
  });
}

async function update(name: string, from: string, to: string) {
  return activities.updateDeploymentImage({
    pipeline: 'web',
    ref: refOf(name),
    newImage: to,
    previousImage: from,
    rolloutId: 'rollout-1',
    changeCause: `freshet rollout-1: ${to}`,
  });
}

async function expectFailure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('planStage', () => {
  it('plans explicit and selector targets once each, skips the pinned one and reports what is missing', async () => {
    await createDeployment('web', image(good(1)), { labels: { tier: 'front' } });
    await createDeployment('web-canary', image(good(2)), { labels: { tier: 'front' } });
    await createDeployment('web-done', image(good(3), '1.1'), { labels: { tier: 'front' } });
    await createDeployment('api', 'nginx:1.25', { labels: { tier: 'back' } });
    const plan = await activities.planStage({
      pipeline: 'web',
      cluster: 'local',
      targets: [
        { namespace, deployment: 'web' },
        { namespace, selector: { tier: 'front' } },
        { namespace, deployment: 'gone' },
        { namespace, selector: { tier: 'none' } },
      ],
      registryHost: '127.0.0.1:5000',
      repository: 'demo/web',
      tag: '1.1',
      digest: good(3),
    });
    expect(plan.newImage).toBe(image(good(3), '1.1'));
    expect(plan.problems).toEqual([
      `${namespace}/gone: Deployment not found`,
      `${namespace}: no Deployment matches selector tier=none`,
    ]);
    expect(plan.targets.map((t) => [t.deployment, t.container, t.action, t.currentImage])).toEqual([
      ['web', 'web', 'update', image(good(1))],
      ['web-canary', 'web-canary', 'update', image(good(2))],
      ['web-done', 'web-done', 'skip', image(good(3), '1.1')],
    ]);
    expect(plan.targets[2]?.reason).toBe(`already runs ${good(3)}`);
    expect(plan.targets.every((t) => t.cluster === 'local' && t.generation === 1)).toBe(true);
  });

  it('fails non-retryably, naming cluster and call, when RBAC forbids the list', async () => {
    const config = new KubeConfig();
    config.loadFromFile(stack.kubernetes.kubeconfig);
    // Impersonating a user with no RBAC bindings gets the apiserver's real 403.
    const restricted = new KubeConfig();
    restricted.loadFromOptions({
      clusters: config.clusters,
      contexts: config.contexts,
      currentContext: config.currentContext,
      users: config.users.map((u) => ({ ...u, impersonateUser: 'freshet-nobody' })),
    });
    const clients: KubernetesClients = {
      name: 'restricted',
      config: restricted,
      apps: restricted.makeApiClient(AppsV1Api),
      batch: restricted.makeApiClient(BatchV1Api),
      core: restricted.makeApiClient(CoreV1Api),
    };
    const nobody = createKubernetesActivities({
      clusters: new Map([['restricted', clients]]),
      config: configFor(namespace),
    });
    const failure = await expectFailure(
      nobody.planStage({
        pipeline: 'web',
        cluster: 'restricted',
        targets: [{ namespace, selector: { app: 'locked' } }],
        registryHost: '127.0.0.1:5000',
        repository: 'demo/web',
        tag: '1',
        digest: good(1),
      }),
    );
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(
      new RegExp(`^cluster restricted: list Deployments in ${namespace}: 403 Forbidden`),
    );
    expect(failure.message).toContain('freshet-nobody');
  });

  it('refuses an unknown cluster without retrying', async () => {
    const failure = await expectFailure(
      activities.planStage({
        pipeline: 'web',
        cluster: 'mars',
        targets: [],
        registryHost: 'r',
        repository: 'a/b',
        tag: '',
        digest: good(1),
      }),
    );
    expect(failure).toMatchObject({ type: 'NotInConfig', nonRetryable: true });
    expect(failure.message).toBe(
      `refused: cluster "mars" is not in this Freshet's config (clusters: local, restricted); configure it under clusters`,
    );
  });
});

describe('updateDeploymentImage', () => {
  it('sets the image and the annotations in one change, and a second run changes nothing', async () => {
    await createDeployment('web', image(good(1)));
    const first = await update('web', image(good(1)), image(good(2), '1.1'));
    expect(first).toEqual({ changed: true, generation: 2, image: image(good(2), '1.1') });
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(image(good(2), '1.1'));
    expect(d.metadata?.annotations).toMatchObject({
      'freshet.dev/rollout-id': 'rollout-1',
      'freshet.dev/previous-image': image(good(1)),
      'freshet.dev/image': image(good(2), '1.1'),
      'kubernetes.io/change-cause': `freshet rollout-1: ${image(good(2), '1.1')}`,
      'freshet.dev/pipeline': 'web',
      'freshet.dev/instance': 'kact',
    });
    // Pod template metadata stays as created: the image is the only change to the pod spec.
    expect(d.spec?.template.metadata?.annotations).toBeUndefined();

    const second = await update('web', image(good(1)), image(good(2), '1.1'));
    expect(second).toEqual({ changed: false, generation: 2, image: image(good(2), '1.1') });
    const after = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(after.metadata?.generation).toBe(2);
    expect(after.metadata?.managedFields?.filter((f) => f.manager === 'freshet')).toHaveLength(1);
  });

  it('fails non-retryably for a Deployment or container that does not exist', async () => {
    const gone = await expectFailure(update('gone', image(good(1)), image(good(2))));
    expect(gone).toMatchObject({ type: 'DeploymentNotFound', nonRetryable: true });
    await createDeployment('web', image(good(1)));
    const noContainer = await expectFailure(
      activities.updateDeploymentImage({
        pipeline: 'web',
        ref: { ...refOf('web'), container: 'sidecar' },
        newImage: image(good(2)),
        previousImage: image(good(1)),
        rolloutId: 'r',
        changeCause: 'c',
      }),
    );
    expect(noContainer).toMatchObject({ type: 'ContainerNotFound', nonRetryable: true });
    expect(noContainer.message).toContain('no container "sidecar" (containers: web)');
  });

  it('does not overwrite a change made after the Deployment was read', async () => {
    await createDeployment('web', image(good(1)));
    const stale = await readDeployment(local, namespace, 'web');
    await setImageBehindFreshetsBack('web', image(good(5), 'hotfix'));
    const result = await patchContainerImage(local, stale!, 'web', image(good(1)), image(good(2)), {});
    expect(result).toBe('moved');
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(image(good(5), 'hotfix'));
  });

  it('refuses to replace an image someone changed since the plan', async () => {
    await createDeployment('web', image(good(1)));
    await setImageBehindFreshetsBack('web', image(good(5), 'hotfix'));
    const drifted = await expectFailure(update('web', image(good(1)), image(good(2))));
    expect(drifted).toMatchObject({ type: 'DeploymentDrifted', nonRetryable: true });
    expect(drifted.message).toContain(
      `now runs ${image(good(5), 'hotfix')}, not ${image(good(1))} as planned`,
    );
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(image(good(5), 'hotfix'));
  });
});

describe('awaitDeploymentReady', () => {
  it('resolves once the controller has rolled a good image out to every replica', async () => {
    await createDeployment('web', image(good(1)));
    await update('web', image(good(1)), image(good(2)));
    const result = await activities.awaitDeploymentReady({
      ref: refOf('web'),
      image: image(good(2)),
      timeoutMs: 60_000,
    });
    expect(result).toEqual({ ready: true, generation: 2, readyReplicas: 3 });
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(rolloutComplete(d)).toBe(true);
  });

  it('fails with DeploymentNotReady naming ImagePullBackOff when a broken image passes timeoutMs', async () => {
    await createDeployment('web', image(good(1)));
    await waitFor('web to be available', async () =>
      rolloutComplete(await kube.apps.readNamespacedDeployment({ namespace, name: 'web' })),
    );
    await update('web', image(good(1)), image(bad));
    const started = Date.now();
    const failure = await expectFailure(
      activities.awaitDeploymentReady({ ref: refOf('web'), image: image(bad), timeoutMs: 15_000 }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(15_000);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(failure).toMatchObject({ type: 'DeploymentNotReady', nonRetryable: true });
    expect(failure.message).toMatch(
      new RegExp(
        `^${namespace}/web not ready after 1[5-9]s: 0/3 updated replicas ready; pods waiting: ImagePullBackOff \\(\\d\\)$`,
      ),
    );
    expect(failure.details?.[0]).toMatchObject({
      namespace,
      deployment: 'web',
      reason: 'timeout',
      desiredReplicas: 3,
      pods: { ready: 0, waiting: { ImagePullBackOff: expect.any(Number) } },
    });
  });

  it('fails as soon as the Deployment reports ProgressDeadlineExceeded', async () => {
    await createDeployment('web', image(bad), { replicas: 2, progressDeadlineSeconds: 3 });
    const started = Date.now();
    const failure = await expectFailure(
      activities.awaitDeploymentReady({ ref: refOf('web'), image: image(bad), timeoutMs: 90_000 }),
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(failure).toMatchObject({ type: 'DeploymentNotReady', nonRetryable: true });
    expect(failure.message).toMatch(
      /not ready after \d+s: progress deadline exceeded \(.*\); 0\/2 updated replicas ready; pods waiting: ImagePullBackOff \(2\)$/,
    );
    expect(failure.details?.[0]).toMatchObject({ reason: 'stalled' });
  });

  it('heartbeats progress inside an activity, while nothing moves too, and stops at once when cancelled', async () => {
    await createDeployment('web', image(bad));
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (detail: unknown) => {
      beats.push(detail);
      if (beats.length === 1) setTimeout(() => env.cancel('CANCELLED'), 2_000);
    });
    const started = Date.now();
    const err = await env
      .run(activities.awaitDeploymentReady, { ref: refOf('web'), image: image(bad), timeoutMs: 60_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(10_000);
    const progress = beats.filter((b) => b !== undefined);
    expect(progress[0]).toMatch(/^\d\/3 updated, \d ready/);
    // A broken build never gets ready, yet the heartbeats go on (every 500 ms), well inside the
    // wait's 5 s heartbeat timeout: a live worker is never taken for a dead one.
    expect(progress.length).toBeGreaterThanOrEqual(3);
  });

  it('honours an AbortSignal when called outside an activity', async () => {
    await createDeployment('web', image(bad));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('operator gave up')), 1_000);
    const started = Date.now();
    await expect(
      awaitDeploymentReady(
        local,
        { ref: refOf('web'), image: image(bad), timeoutMs: 60_000 },
        { signal: controller.signal },
      ),
    ).rejects.toThrow('operator gave up');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('rollbackDeployment', () => {
  const rollback = (fromImage: string, toImage: string) =>
    activities.rollbackDeployment({
      ref: refOf('web'),
      rolloutId: 'rollout-1',
      fromImage,
      toImage,
      reason: 'pods not ready',
    });

  it('reverts what the rollout set, then reports already on a second run', async () => {
    await createDeployment('web', image(good(1)));
    await update('web', image(good(1)), image(good(2)));
    const first = await rollback(image(good(2)), image(good(1)));
    expect(first).toEqual({ result: 'reverted', currentImage: image(good(1)), generation: 3 });
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(image(good(1)));
    expect(d.metadata?.annotations).toMatchObject({
      'freshet.dev/rolled-back-by': 'rollout-1',
      'freshet.dev/image': image(good(1)),
      'kubernetes.io/change-cause': 'freshet rollback of rollout-1: pods not ready',
    });

    const second = await rollback(image(good(2)), image(good(1)));
    expect(second).toEqual({ result: 'already', currentImage: image(good(1)), generation: 3 });
  });

  it('reports drift and leaves alone a Deployment someone else changed since', async () => {
    await createDeployment('web', image(good(1)));
    await update('web', image(good(1)), image(good(2)));
    await setImageBehindFreshetsBack('web', image(good(7), 'hotfix'));
    const result = await rollback(image(good(2)), image(good(1)));
    expect(result).toEqual({ result: 'drift', currentImage: image(good(7), 'hotfix'), generation: 3 });
    const d = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(image(good(7), 'hotfix'));
    expect(d.metadata?.generation).toBe(3);
    expect(d.metadata?.annotations?.['freshet.dev/rolled-back-by']).toBeUndefined();
  });

  it('reports drift with no image for a Deployment that is gone', async () => {
    expect(await rollback(image(good(2)), image(good(1)))).toEqual({
      result: 'drift',
      currentImage: '',
      generation: 0,
    });
  });
});

describe("the worker's config is the authority: updates and rollbacks", () => {
  const readImage = async (name: string) =>
    (await kube.apps.readNamespacedDeployment({ namespace, name })).spec?.template.spec?.containers[0]?.image;

  it('refuses to patch a Deployment or an image repository the config does not contain', async () => {
    await createDeployment('coredns', image(good(1)));
    await createDeployment('web', image(good(1)));
    const stranger = await expectFailure(update('coredns', image(good(1)), image(good(2))));
    expect(stranger).toMatchObject({ type: 'NotInConfig', nonRetryable: true });
    expect(stranger.message).toBe(
      `refused: Deployment ${namespace}/coredns (container coredns) on cluster local is not a target of pipeline "web" ` +
        'on that cluster; configure it under pipelines.web.stages[].targets',
    );
    const miner = await expectFailure(update('web', image(good(1)), `127.0.0.1:5000/evil/miner@${good(2)}`));
    expect(miner).toMatchObject({ type: 'NotInConfig', nonRetryable: true });
    expect(miner.message).toContain('image 127.0.0.1:5000/evil/miner is not an image of pipeline "web"');
    // The restricted cluster is configured too, but this pipeline targets web only on local.
    const both = createKubernetesActivities({
      clusters: new Map([
        ['local', local],
        ['restricted', { ...local, name: 'restricted' }],
      ]),
      config: configFor(namespace),
    });
    const elsewhere = await expectFailure(
      both.updateDeploymentImage({
        pipeline: 'web',
        ref: { ...refOf('web'), cluster: 'restricted' },
        newImage: image(good(2)),
        previousImage: image(good(1)),
        rolloutId: 'r',
        changeCause: 'c',
      }),
    );
    expect(elsewhere.message).toContain(
      `Deployment ${namespace}/web (container web) on cluster restricted is not a target`,
    );
    expect(await readImage('coredns')).toBe(image(good(1)));
    expect(await readImage('web')).toBe(image(good(1)));
  });

  it('patches a Deployment that a configured selector matches, and only while it matches', async () => {
    await createDeployment('cart', image(good(1)), { labels: { tier: 'front' } });
    await createDeployment('admin', image(good(1)), { labels: { tier: 'back' } });
    expect(await update('cart', image(good(1)), image(good(2)))).toMatchObject({ changed: true });
    const failure = await expectFailure(update('admin', image(good(1)), image(good(2))));
    expect(failure).toMatchObject({ type: 'NotInConfig' });
    expect(await readImage('admin')).toBe(image(good(1)));
  });

  it("records the owner, and leaves another pipeline's or instance's Deployment alone", async () => {
    await createDeployment('web', image(good(1)));
    await update('web', image(good(1)), image(good(2)));
    const other = parseConfig(
      `
temporal: { taskQueue: kact, instance: other-freshet }
registries: [ { name: demo, url: "http://127.0.0.1:5000" } ]
clusters: { local: {} }
images: [ { name: web, registry: demo, repository: demo/web, track: { tag: "1.0" }, pipeline: web } ]
pipelines:
  web: { stages: [ { name: s, cluster: local, targets: [ { namespace: ${namespace}, deployment: web } ] } ] }
`,
      'other',
      { env: {} },
    );
    const theirs = createKubernetesActivities({ clusters: new Map([['local', local]]), config: other });
    const refused = await expectFailure(
      theirs.updateDeploymentImage({
        pipeline: 'web',
        ref: refOf('web'),
        newImage: image(good(3)),
        previousImage: image(good(2)),
        rolloutId: 'rollout-2',
        changeCause: 'c',
      }),
    );
    expect(refused).toMatchObject({ type: 'DeploymentOwnedElsewhere', nonRetryable: true });
    expect(refused.message).toContain('belongs to pipeline "web" of Freshet instance "kact"');
    const plan = await theirs.planStage({
      pipeline: 'web',
      cluster: 'local',
      targets: [{ namespace, deployment: 'web' }],
      registryHost: '127.0.0.1:5000',
      repository: 'demo/web',
      tag: '1.0',
      digest: good(3),
    });
    expect(plan.targets).toEqual([]);
    expect(plan.problems).toEqual([
      `${namespace}/web: belongs to pipeline "web" of Freshet instance "kact" (annotations freshet.dev/pipeline, ` +
        'freshet.dev/instance), not to pipeline "web" of "other-freshet"; target it from one pipeline, or remove both annotations to hand it over',
    ]);
    expect(await readImage('web')).toBe(image(good(2)));
  });

  it('rolls back what this rollout set even when the config no longer has the target', async () => {
    await createDeployment('web', image(good(1)));
    await update('web', image(good(1)), image(good(2)));
    const newer = createKubernetesActivities({
      clusters: new Map([['local', local]]),
      config: configFor(namespace, `{ namespace: ${namespace}, deployment: api }`),
    });
    const result = await newer.rollbackDeployment({
      ref: refOf('web'),
      rolloutId: 'rollout-1',
      fromImage: image(good(2)),
      toImage: image(good(1)),
      reason: 'pods not ready',
    });
    expect(result).toMatchObject({ result: 'reverted', currentImage: image(good(1)) });
    expect(await readImage('web')).toBe(image(good(1)));
  });

  it('never rolls back an image that another rollout set, even the same one', async () => {
    await createDeployment('web', image(good(1)));
    await update('web', image(good(1)), image(good(2)));
    const result = await activities.rollbackDeployment({
      ref: refOf('web'),
      rolloutId: 'someone-else',
      fromImage: image(good(2)),
      toImage: image(good(1)),
      reason: 'forged',
    });
    expect(result).toEqual({ result: 'drift', currentImage: image(good(2)), generation: 2 });
    expect(await readImage('web')).toBe(image(good(2)));
  });

  it('refuses a malformed input with its path, before any API call', async () => {
    const failure = await expectFailure(
      activities.rollbackDeployment({ ref: { ...refOf('web'), namespace: 5 as unknown as string } } as never),
    );
    expect(failure).toMatchObject({ type: 'InvalidActivityInput', nonRetryable: true });
    expect(failure.message).toMatch(/^rollbackDeployment: malformed input at ref\.namespace: /);
  });
});
