// Who writes a container's image (managedFields) and which GitOps controller manages a workload
// (tracking labels and annotations), as the plan and the wait read them.
import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../../activities/kubernetes/deployment.ts';
import {
  imageFieldOwners,
  imageWriter,
  ownsImageField,
  podSpecPaths,
} from '../../../activities/kubernetes/field-managers.ts';
import { gitOpsManagement, gitOpsWarning } from '../../../activities/kubernetes/gitops.ts';
import { planTargets } from '../../../activities/kubernetes/plan.ts';
import { imageRevertedFailure } from '../../../activities/kubernetes/reverted.ts';

const imageOf = (container: string) => ({
  'f:spec': {
    'f:template': {
      'f:spec': {
        'f:containers': { [`k:{"name":"${container}"}`]: { '.': {}, 'f:image': {}, 'f:name': {} } },
      },
    },
  },
});
const entry = (manager: string, time: string, fieldsV1: unknown, extra: Record<string, unknown> = {}) => ({
  manager,
  operation: 'Update',
  apiVersion: 'apps/v1',
  time,
  fieldsType: 'FieldsV1',
  fieldsV1,
  ...extra,
});

describe('managedFields: who owns a container image', () => {
  it('finds f:image under the container keyed by its name, and nothing for another container', () => {
    expect(ownsImageField(imageOf('app'), 'app')).toBe(true);
    expect(ownsImageField(imageOf('app'), 'sidecar')).toBe(false);
    expect(ownsImageField({ 'f:spec': { 'f:replicas': {} } }, 'app')).toBe(false);
    expect(ownsImageField('garbage', 'app')).toBe(false);
  });

  it('reads a CronJob pod spec and init containers when told where they are', () => {
    const cron = {
      'f:spec': {
        'f:jobTemplate': {
          'f:spec': {
            'f:template': { 'f:spec': { 'f:initContainers': { 'k:{"name":"migrate"}': { 'f:image': {} } } } },
          },
        },
      },
    };
    expect(
      ownsImageField(cron, 'migrate', { podSpecPath: podSpecPaths.cronJob, list: 'initContainers' }),
    ).toBe(true);
    expect(ownsImageField(cron, 'migrate')).toBe(false);
  });

  it('names the newest writer other than freshet, skipping status entries and malformed keys', () => {
    const fields = [
      entry('kube-controller-manager', '2026-01-01T10:09:00Z', imageOf('app'), { subresource: 'status' }),
      entry('freshet', '2026-01-01T10:05:00Z', imageOf('app')),
      entry('argocd-controller', '2026-01-01T10:06:00Z', imageOf('app'), { operation: 'Apply' }),
      entry('kubectl', '2026-01-01T10:01:00Z', {
        'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{bad': { 'f:image': {} } } } } },
      }),
      { manager: 42 },
    ];
    expect(imageFieldOwners(fields, 'app').map((o) => o.manager)).toEqual(['argocd-controller', 'freshet']);
    expect(imageWriter(fields, 'app')).toEqual({
      manager: 'argocd-controller',
      operation: 'Apply',
      time: '2026-01-01T10:06:00Z',
    });
    expect(imageWriter([entry('freshet', '2026-01-01T10:05:00Z', imageOf('app'))], 'app')?.manager).toBe(
      'freshet',
    );
    expect(imageWriter(undefined, 'app')).toBeUndefined();
    // The typed client hands `time` over as a Date.
    const typed = [{ ...entry('kubectl-edit', '', imageOf('app')), time: new Date('2026-01-01T10:07:00Z') }];
    expect(imageWriter(typed, 'app')).toEqual({
      manager: 'kubectl-edit',
      operation: 'Update',
      time: '2026-01-01T10:07:00.000Z',
    });
  });

  it('puts the writer in the ImageReverted failure, with its tool', () => {
    const fields = [
      entry('kustomize-controller', '2026-01-01T10:06:00Z', imageOf('app'), { operation: 'Apply' }),
    ];
    const failure = imageRevertedFailure(
      'prod',
      { kind: 'Deployment', namespace: 'shop', name: 'web', managedFields: fields },
      'app',
      'r/web:1@sha256:new',
      'r/web:1@sha256:old',
    );
    expect(failure.type).toBe('ImageReverted');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      'shop/web container app was set to r/web:1@sha256:old by field manager kustomize-controller (Flux) while Freshet waited for r/web:1@sha256:new; left to its new owner',
    );
    expect(failure.details?.[0]).toMatchObject({
      manager: 'kustomize-controller',
      operation: 'Apply',
      cluster: 'prod',
    });
  });
});

describe('GitOps management from tracking marks', () => {
  it('recognises Argo CD by its tracking-id annotation, or by its instance label', () => {
    expect(
      gitOpsManagement({
        labels: { 'app.kubernetes.io/instance': 'shop' },
        annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:web/web' },
      }),
    ).toEqual([
      { tool: 'argocd', by: 'Application shop', evidence: 'annotation argocd.argoproj.io/tracking-id' },
    ]);
    expect(gitOpsManagement({ labels: { 'app.kubernetes.io/instance': 'shop' } })).toMatchObject([
      { tool: 'argocd', by: 'Application shop' },
    ]);
  });

  it('recognises Flux Kustomizations and HelmReleases by their labels, and controllers by field manager', () => {
    expect(
      gitOpsManagement({
        labels: {
          'kustomize.toolkit.fluxcd.io/name': 'apps',
          'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
        },
      }),
    ).toEqual([
      {
        tool: 'flux',
        by: 'Kustomization flux-system/apps',
        evidence: 'label kustomize.toolkit.fluxcd.io/name',
      },
    ]);
    expect(
      gitOpsManagement({
        labels: { 'helm.toolkit.fluxcd.io/name': 'web', 'helm.toolkit.fluxcd.io/namespace': 'shop' },
      }),
    ).toMatchObject([{ tool: 'flux', by: 'HelmRelease shop/web' }]);
    expect(
      gitOpsManagement({ managedFields: [{ manager: 'argocd-controller' }, { manager: 'kubectl' }] }),
    ).toEqual([{ tool: 'argocd', by: 'argocd-controller', evidence: 'field manager argocd-controller' }]);
    expect(gitOpsManagement({ labels: { app: 'web' }, managedFields: [{ manager: 'kubectl' }] })).toEqual([]);
  });

  it('warns with the fix for each tool, and not for a workload no GitOps tool manages', () => {
    const w = gitOpsWarning('shop/web', 'app', {
      annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/web' },
      managedFields: [entry('argocd-controller', '2026-01-01T10:06:00Z', imageOf('app'))],
    });
    expect(w?.tools).toEqual(['argocd']);
    expect(w?.warning).toContain('shop/web is managed by Argo CD (Application shop');
    expect(w?.warning).toContain('field manager argocd-controller owns the image of container app');
    expect(w?.warning).toContain('managedFieldsManagers: [freshet]');
    expect(gitOpsWarning('shop/web', 'app', { labels: { app: 'web' } })).toBeUndefined();
  });

  it('puts the warning into the plan of an update, not of a target already on the digest', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const labels = {
      'kustomize.toolkit.fluxcd.io/name': 'apps',
      'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
    };
    const d = (name: string, image: string) =>
      parseDeployment({
        metadata: { name, namespace: 'shop', labels: { ...labels, app: name } },
        spec: { template: { spec: { containers: [{ name: 'app', image }] } } },
      });
    const plan = planTargets(
      [d('web-2', '127.0.0.1:5000/demo/web:1.0'), d('web-1', `127.0.0.1:5000/demo/web:1.1@${digest}`)],
      {
        pipeline: 'web',
        cluster: 'staging',
        targets: [{ namespace: 'shop', selector: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } }],
        registryHost: '127.0.0.1:5000',
        repository: 'demo/web',
        tag: '1.1',
        digest,
      },
      'prod',
    );
    expect(plan.problems).toEqual([]);
    expect(plan.warnings?.map((w) => [w.target, w.tools])).toEqual([['shop/web-2', ['flux']]]);
    expect(plan.warnings?.[0]?.message).toContain('Flux (Kustomization flux-system/apps');
  });
});
