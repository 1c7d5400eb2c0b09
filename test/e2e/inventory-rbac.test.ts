// The inventory's RBAC, proven on a real API server: with exactly the ClusterRole of
// deploy/kubernetes/inventory/rbac.yaml, a ServiceAccount's token scans every namespace; without
// any one of its resources, the scan fails and names what was refused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  type V1ClusterRole,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { ClusterClients } from '../../worker/clusters.ts';
import { scanInventory } from '../../worker/inventory.ts';
import { uniqueSuffix } from '../support/daemon.ts';
import { createNamespace, deleteNamespace, kubeClients } from '../support/kube.ts';
import { type Manifest, serviceAccountKubeconfig } from '../support/service-account.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const kube = kubeClients(stack.kubernetes.kubeconfig);
const suffix = uniqueSuffix();
const namespace = `invrbac-${suffix}`;
const roleName = `freshet-inventory-${suffix}`;
const file = fileURLToPath(new URL('../../deploy/kubernetes/inventory/rbac.yaml', import.meta.url));
const manifests = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Manifest);
const role = manifests.find((m) => m.kind === 'ClusterRole') as unknown as V1ClusterRole;
const binding = manifests.find((m) => m.kind === 'ClusterRoleBinding') as Manifest & {
  roleRef: { name: string };
  subjects: { namespace: string }[];
};
const inventory = { namespaces: ['*'], interval: 60_000, scanInterval: 60_000 };

describe('inventory RBAC from deploy/kubernetes/inventory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-inventory-rbac-'));
  const objects = KubernetesObjectApi.makeApiClient(kube.config);
  let clusters: Map<string, ClusterClients>;

  beforeAll(async () => {
    await createNamespace(kube, namespace);
    await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'freshet' } } });
    await objects.create({ ...role, metadata: { ...role.metadata, name: roleName } });
    await objects.create({
      ...binding,
      metadata: { ...binding.metadata, name: roleName },
      roleRef: { ...binding.roleRef, name: roleName },
      subjects: binding.subjects.map((s) => ({ ...s, namespace })),
    });
    await kube.apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: 'db' },
        spec: {
          replicas: 0,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: {
            metadata: { labels: { app: 'db' } },
            spec: { containers: [{ name: 'db', image: 'registry.example/db:16' }] },
          },
        },
      },
    });
    const { config } = await serviceAccountKubeconfig(kube, namespace, dir);
    clusters = new Map([
      [
        'local',
        {
          name: 'local',
          config,
          apps: config.makeApiClient(AppsV1Api),
          core: config.makeApiClient(CoreV1Api),
          batch: config.makeApiClient(BatchV1Api),
        },
      ],
    ]);
  });
  afterAll(async () => {
    await objects
      .delete({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: roleName },
      })
      .catch(() => undefined);
    await objects
      .delete({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: roleName },
      })
      .catch(() => undefined);
    await deleteNamespace(kube, namespace);
    rmSync(dir, { recursive: true, force: true });
  });

  it('scans every namespace with exactly these rules', async () => {
    const read = await waitFor('a scan with the ServiceAccount', async () => {
      const r = await scanInventory(inventory, clusters);
      return r.failedClusters.length === 0 ? r : undefined;
    });
    expect(read.workloads.find((w) => w.namespace === namespace && w.name === 'db')).toMatchObject({
      kind: 'StatefulSet',
    });
  });

  const resources = (role.rules ?? []).flatMap((r) => r.resources ?? []);
  it.each(resources)('needs list on %s', async (resource) => {
    const rules = (role.rules ?? [])
      .map((r) => ({ ...r, resources: (r.resources ?? []).filter((x) => x !== resource) }))
      .filter((r) => r.resources.length > 0);
    await objects.replace({ ...role, metadata: { ...role.metadata, name: roleName }, rules });
    try {
      const read = await waitFor(`the scan refused without ${resource}`, async () => {
        const r = await scanInventory(inventory, clusters);
        return r.failedClusters.length > 0 ? r : undefined;
      });
      expect(read.failedClusters).toEqual(['local']);
      expect(read.problems.join('\n')).toMatch(/403|[Ff]orbidden/);
    } finally {
      await objects.replace({ ...role, metadata: { ...role.metadata, name: roleName } });
      // Each case starts from the whole role, so a refusal is this resource's own.
      await waitFor(
        'the whole role back in force',
        async () => (await scanInventory(inventory, clusters)).failedClusters.length === 0,
      );
    }
  });
});
