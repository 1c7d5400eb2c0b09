import { describe, expect, it } from 'vitest';
import { imagePatch, parseDeployment } from '../../../activities/kubernetes/deployment.ts';

const manifest = (annotations?: Record<string, string>) =>
  parseDeployment({
    metadata: { name: 'web', namespace: 'staging', generation: 3, ...(annotations ? { annotations } : {}) },
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'proxy', image: 'envoy:1' },
            { name: 'web', image: 'a:1' },
          ],
        },
      },
    },
  });

describe('parseDeployment', () => {
  it('fills the defaults the activities rely on', () => {
    const d = manifest();
    expect(d.spec.replicas).toBe(1);
    expect(d.status).toMatchObject({ observedGeneration: 0, readyReplicas: 0, conditions: [] });
    expect(d.namespace).toBe('staging');
  });

  it('names the field of an object it cannot use', () => {
    expect(() => parseDeployment({ metadata: { name: 'web' }, spec: {} })).toThrow(
      /unexpected Deployment object: spec.template/,
    );
  });
});

describe('imagePatch', () => {
  it('guards the container name and image with test ops before replacing the image', () => {
    const ops = imagePatch(manifest({ keep: 'me' }), 'web', 'a:1', 'a:2', { 'freshet.dev/image': 'a:2' });
    expect(ops).toEqual([
      { op: 'test', path: '/spec/template/spec/containers/1/name', value: 'web' },
      { op: 'test', path: '/spec/template/spec/containers/1/image', value: 'a:1' },
      { op: 'replace', path: '/spec/template/spec/containers/1/image', value: 'a:2' },
      { op: 'add', path: '/metadata/annotations/freshet.dev~1image', value: 'a:2' },
    ]);
  });

  it('creates the annotations map when the Deployment has none', () => {
    const ops = imagePatch(manifest(), 'web', 'a:1', 'a:2', { 'freshet.dev/image': 'a:2' });
    expect(ops.at(-1)).toEqual({
      op: 'add',
      path: '/metadata/annotations',
      value: { 'freshet.dev/image': 'a:2' },
    });
  });

  it('never touches the pod template metadata (that would be a second change)', () => {
    const ops = imagePatch(manifest({}), 'web', 'a:1', 'a:2', { 'kubernetes.io/change-cause': 'x' });
    expect(ops.some((op) => op.path.startsWith('/spec/template/metadata'))).toBe(false);
  });
});
