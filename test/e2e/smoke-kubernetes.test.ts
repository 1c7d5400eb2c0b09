// The stack's control plane is real: the deployment controller, the scheduler and KWOK's
// simulated kubelets roll Deployments out, and broken builds never become ready.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  condition,
  createNamespace,
  deleteNamespace,
  deploymentManifest,
  kubeClients,
  rolloutComplete,
} from '../support/kube.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const namespace = `smoke-${randomBytes(3).toString('hex')}`;
const goodDigest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

describe('kubernetes stack', () => {
  beforeAll(() => createNamespace(kube, namespace));
  afterAll(() => deleteNamespace(kube, namespace));

  it('has three Ready KWOK nodes', async () => {
    const nodes = await kube.core.listNode();
    const ready = nodes.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    expect(ready.map((n) => n.metadata?.name).sort()).toEqual(['kwok-node-0', 'kwok-node-1', 'kwok-node-2']);
  });

  it('makes a 3-replica Deployment Available, then rolls an image update out to a new ReplicaSet', async () => {
    const image = `127.0.0.1:5000/smoke/web@${goodDigest(1)}`;
    await kube.apps.createNamespacedDeployment({
      namespace,
      body: deploymentManifest({ name: 'web', image }),
    });
    const first = await waitFor('web to become Available', async () => {
      const d = await kube.apps.readNamespacedDeployment({ name: 'web', namespace });
      return rolloutComplete(d) && condition(d, 'Available')?.status === 'True' ? d : undefined;
    });
    expect(first.status?.readyReplicas).toBe(3);
    const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
    const running = pods.items.filter((p) => p.status?.phase === 'Running');
    expect(running).toHaveLength(3);
    // KWOK's pod stage reports the digest reference as imageID, as a kubelet would.
    expect(running.every((p) => p.status?.containerStatuses?.[0]?.imageID === image)).toBe(true);

    const next = `127.0.0.1:5000/smoke/web@${goodDigest(2)}`;
    await kube.apps.patchNamespacedDeployment({
      name: 'web',
      namespace,
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: next }],
    });
    await waitFor('web to roll out the new image', async () => {
      const d = await kube.apps.readNamespacedDeployment({ name: 'web', namespace });
      return rolloutComplete(d) && (d.metadata?.generation ?? 0) >= 2 ? d : undefined;
    });
    const sets = await kube.apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=web' });
    const byImage = new Map(
      sets.items.map((rs) => [rs.spec?.template?.spec?.containers[0]?.image, rs.spec?.replicas]),
    );
    expect(byImage.get(next)).toBe(3);
    expect(byImage.get(image)).toBe(0);
  });

  it('keeps a broken build unready until the Deployment reports ProgressDeadlineExceeded', async () => {
    const image = `127.0.0.1:5000/smoke/api@sha256:bad0${'1'.repeat(60)}`;
    const body = deploymentManifest({ name: 'api', image, replicas: 2, progressDeadlineSeconds: 5 });
    await kube.apps.createNamespacedDeployment({ namespace, body });
    const stalled = await waitFor(
      'api to report ProgressDeadlineExceeded',
      async () => {
        const d = await kube.apps.readNamespacedDeployment({ name: 'api', namespace });
        return condition(d, 'Progressing')?.reason === 'ProgressDeadlineExceeded' ? d : undefined;
      },
      { timeoutMs: 45_000 },
    );
    expect(stalled.status?.readyReplicas ?? 0).toBe(0);
    const pods = await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=api' });
    expect(pods.items.length).toBeGreaterThan(0);
    for (const pod of pods.items) {
      expect(pod.status?.phase).toBe('Pending');
      expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ImagePullBackOff');
    }
  });
});
