import { describe, expect, it } from 'vitest';
import {
  cronJobVerdict,
  daemonSetVerdict,
  parseJob,
  statefulSetVerdict,
} from '../../../activities/kubernetes/readiness.ts';
import { stuckStatefulSetPods } from '../../../activities/kubernetes/statefulset-rollback.ts';
import {
  type CronJobState,
  type DaemonSetState,
  parseWorkload,
  type StatefulSetState,
} from '../../../activities/kubernetes/workload.ts';

const image = `r/web@sha256:${'1'.repeat(64)}`;
const template = (img = image) => ({ spec: { containers: [{ name: 'web', image: img }] } });

function sts(status: Record<string, unknown>, spec: Record<string, unknown> = {}): StatefulSetState {
  return parseWorkload('StatefulSet', {
    metadata: { name: 'db', namespace: 'ns', generation: 2, uid: 'sts-uid' },
    spec: { replicas: 3, template: template(), selector: { matchLabels: { app: 'db' } }, ...spec },
    status,
  }) as StatefulSetState;
}

const stsDone = {
  observedGeneration: 2,
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  currentRevision: 'db-new',
  updateRevision: 'db-new',
};

describe('statefulSetVerdict', () => {
  it('is done when every replica is on the update revision and ready', () => {
    expect(statefulSetVerdict(sts(stsDone), 'web', image)).toEqual({
      state: 'done',
      progress: '3/3 updated, 3/3 ready',
    });
  });

  it('waits while the current revision is not yet the update revision', () => {
    const v = statefulSetVerdict(
      sts({ ...stsDone, updatedReplicas: 2, currentRevision: 'db-old' }),
      'web',
      image,
    );
    expect(v).toEqual({ state: 'waiting', progress: '2/3 updated, 3/3 ready' });
  });

  it('waits while a replica is not ready, and while the generation is not observed', () => {
    expect(statefulSetVerdict(sts({ ...stsDone, readyReplicas: 2 }), 'web', image).state).toBe('waiting');
    expect(statefulSetVerdict(sts({ ...stsDone, observedGeneration: 1 }), 'web', image)).toEqual({
      state: 'waiting',
      progress: '3/3 updated, 3/3 ready (generation 2 not yet observed)',
    });
  });

  it('respects a partition: only ordinals at or above it must be updated, and says so', () => {
    const partitioned = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } };
    const one = { ...stsDone, updatedReplicas: 1, currentRevision: 'db-old' };
    expect(statefulSetVerdict(sts(one, partitioned), 'web', image)).toEqual({
      state: 'done',
      progress: '1/1 updated, 3/3 ready (partition 2: ordinals 2..2 only)',
    });
    expect(statefulSetVerdict(sts({ ...one, updatedReplicas: 0 }, partitioned), 'web', image).state).toBe(
      'waiting',
    );
  });

  it('is done with OnDelete once the spec is observed: the controller replaces no pod itself', () => {
    const v = statefulSetVerdict(
      sts(
        { ...stsDone, updatedReplicas: 0, currentRevision: 'db-old' },
        { updateStrategy: { type: 'OnDelete' } },
      ),
      'web',
      image,
    );
    expect(v.state).toBe('done');
    expect(v.progress).toContain('OnDelete');
  });

  it('reports a container that no longer runs the awaited image as replaced', () => {
    const v = statefulSetVerdict(sts(stsDone, { template: template('r/web:other') }), 'web', image);
    expect(v).toMatchObject({ state: 'replaced', reason: `container web runs r/web:other, not ${image}` });
  });
});

function ds(status: Record<string, unknown>, spec: Record<string, unknown> = {}): DaemonSetState {
  return parseWorkload('DaemonSet', {
    metadata: { name: 'agent', namespace: 'ns', generation: 4 },
    spec: { template: template(), ...spec },
    status,
  }) as DaemonSetState;
}

const dsDone = {
  observedGeneration: 4,
  desiredNumberScheduled: 3,
  currentNumberScheduled: 3,
  updatedNumberScheduled: 3,
  numberAvailable: 3,
  numberReady: 3,
};

describe('daemonSetVerdict', () => {
  it('is done when every node runs the updated pod and it is available', () => {
    expect(daemonSetVerdict(ds(dsDone), 'web', image)).toEqual({
      state: 'done',
      progress: '3/3 nodes updated, 3 available',
    });
  });

  it('waits for updatedNumberScheduled, numberAvailable and the observed generation', () => {
    expect(daemonSetVerdict(ds({ ...dsDone, updatedNumberScheduled: 2 }), 'web', image).state).toBe(
      'waiting',
    );
    expect(daemonSetVerdict(ds({ ...dsDone, numberAvailable: 2 }), 'web', image)).toEqual({
      state: 'waiting',
      progress: '3/3 nodes updated, 2 available',
    });
    expect(daemonSetVerdict(ds({ ...dsDone, observedGeneration: 3 }), 'web', image).state).toBe('waiting');
  });
});

function cronJob(img = image): CronJobState {
  return parseWorkload('CronJob', {
    metadata: { name: 'report', namespace: 'ns', generation: 2, uid: 'cj-uid' },
    spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: template(img) } } },
  }) as CronJobState;
}

function job(
  name: string,
  img: string,
  conditions: { type: string; status: string; message?: string }[] = [],
) {
  return parseJob({
    metadata: {
      name,
      ownerReferences: [{ kind: 'CronJob', uid: 'cj-uid', name: 'report', apiVersion: 'batch/v1' }],
    },
    spec: { template: template(img) },
    status: { conditions },
  });
}

describe('cronJobVerdict', () => {
  it('is done once the Job template carries the image when no Job is awaited', () => {
    expect(cronJobVerdict(cronJob(), 'web', image, false, [])).toEqual({
      state: 'done',
      progress: 'updated (schedule "*/5 * * * *"); the next Job runs the new image',
    });
  });

  it('waits for the next Job on the new image, ignoring Jobs of the old one', () => {
    const old = job('report-1', 'r/web:old', [{ type: 'Complete', status: 'True' }]);
    expect(cronJobVerdict(cronJob(), 'web', image, true, [old])).toEqual({
      state: 'waiting',
      progress: 'waiting for the next Job (schedule "*/5 * * * *")',
    });
    expect(cronJobVerdict(cronJob(), 'web', image, true, [old, job('report-2', image)]).progress).toBe(
      'Job report-2 on the new image is running',
    );
  });

  it('is done when a Job on the new image completed', () => {
    const done = job('report-2', image, [{ type: 'Complete', status: 'True' }]);
    expect(cronJobVerdict(cronJob(), 'web', image, true, [done]).state).toBe('done');
  });

  it('fails when a Job on the new image failed', () => {
    const failed = job('report-2', image, [
      { type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' },
    ]);
    expect(cronJobVerdict(cronJob(), 'web', image, true, [failed])).toEqual({
      state: 'failed',
      progress: 'Job report-2 failed',
      reason: 'Job report-2 on the new image failed (BackoffLimitExceeded)',
    });
  });

  it('ignores Jobs that another CronJob owns', () => {
    const stranger = parseJob({
      metadata: { name: 'x', ownerReferences: [{ kind: 'CronJob', uid: 'other' }] },
      spec: { template: template() },
      status: { conditions: [{ type: 'Failed', status: 'True' }] },
    });
    expect(cronJobVerdict(cronJob(), 'web', image, true, [stranger]).state).toBe('waiting');
  });
});

describe('stuckStatefulSetPods', () => {
  const pod = (name: string, revision: string, ready: boolean, owner = 'sts-uid') => ({
    metadata: {
      name,
      labels: { 'controller-revision-hash': revision },
      ownerReferences: [{ uid: owner, kind: 'StatefulSet', name: 'db', apiVersion: 'apps/v1' }],
    },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const reverted = sts({ ...stsDone, currentRevision: 'db-good', updateRevision: 'db-good' });

  it('picks only the unready pods of another revision than the reverted one', () => {
    const pods = [
      pod('db-0', 'db-good', true),
      pod('db-1', 'db-good', false),
      pod('db-2', 'db-bad', false),
      pod('db-3', 'db-bad', true),
      pod('x-2', 'db-bad', false, 'other'),
    ];
    expect(stuckStatefulSetPods(reverted, pods)).toEqual(['db-2']);
  });

  it('touches nothing before the controller observed the reverted template, or with Parallel pods', () => {
    const pods = [pod('db-2', 'db-bad', false)];
    expect(
      stuckStatefulSetPods(sts({ ...stsDone, observedGeneration: 1, updateRevision: 'db-good' }), pods),
    ).toEqual([]);
    expect(
      stuckStatefulSetPods(
        sts({ ...stsDone, updateRevision: 'db-good' }, { podManagementPolicy: 'Parallel' }),
        pods,
      ),
    ).toEqual([]);
  });
});
