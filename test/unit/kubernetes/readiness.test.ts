import { describe, expect, it } from 'vitest';
import { parseDeployment } from '../../../activities/kubernetes/deployment.ts';
import { rolloutVerdict } from '../../../activities/kubernetes/readiness.ts';

const image = `r/web@sha256:${'1'.repeat(64)}`;

function deployment(status: Record<string, unknown>, opts: { generation?: number; image?: string } = {}) {
  return parseDeployment({
    metadata: { name: 'web', namespace: 'staging', generation: opts.generation ?? 2 },
    spec: { replicas: 3, template: { spec: { containers: [{ name: 'web', image: opts.image ?? image }] } } },
    status,
  });
}

const complete = {
  observedGeneration: 2,
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
};
const deadline = {
  type: 'Progressing',
  status: 'False',
  reason: 'ProgressDeadlineExceeded',
  message: 'ReplicaSet "web-1" has timed out progressing.',
};

describe('rolloutVerdict', () => {
  it('is done when every replica is updated, ready and available and old pods are gone', () => {
    expect(rolloutVerdict(deployment(complete), 'web', image)).toEqual({
      state: 'done',
      progress: '3/3 updated, 3 ready',
    });
  });

  it('waits while old replicas still run beside the new ones', () => {
    expect(rolloutVerdict(deployment({ ...complete, replicas: 4 }), 'web', image).state).toBe('waiting');
  });

  it('reports partial progress', () => {
    const v = rolloutVerdict(deployment({ ...complete, updatedReplicas: 2, readyReplicas: 1 }), 'web', image);
    expect(v).toEqual({ state: 'waiting', progress: '2/3 updated, 1 ready' });
  });

  it('does not trust a status the controller wrote for an older generation, deadline included', () => {
    const stale = { ...complete, observedGeneration: 1, conditions: [deadline] };
    expect(rolloutVerdict(deployment(stale), 'web', image).state).toBe('waiting');
  });

  it('is stalled on ProgressDeadlineExceeded, with the controller message', () => {
    const v = rolloutVerdict(
      deployment({ observedGeneration: 2, replicas: 3, conditions: [deadline] }),
      'web',
      image,
    );
    expect(v).toMatchObject({ state: 'stalled' });
    expect('reason' in v && v.reason).toBe(
      'progress deadline exceeded (ReplicaSet "web-1" has timed out progressing.)',
    );
  });

  it('notices that someone else replaced the image being awaited', () => {
    const v = rolloutVerdict(deployment(complete, { image: 'r/web:hotfix' }), 'web', image);
    expect(v).toMatchObject({ state: 'replaced', reason: `container web runs r/web:hotfix, not ${image}` });
  });
});
