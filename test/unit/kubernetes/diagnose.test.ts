import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { describePods, summarisePods } from '../../../activities/kubernetes/diagnose.ts';

const waiting = (reason: string): V1Pod => ({
  status: { phase: 'Pending', containerStatuses: [waitingStatus(reason)] },
});
const waitingStatus = (reason: string) => ({
  name: 'web',
  image: 'x',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { waiting: { reason } },
});
const ready: V1Pod = { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };

describe('summarisePods', () => {
  it('counts ready pods and each waiting reason once per pod, most frequent first', () => {
    const twoContainers: V1Pod = {
      status: {
        phase: 'Pending',
        containerStatuses: [waitingStatus('ImagePullBackOff'), waitingStatus('ImagePullBackOff')],
      },
    };
    const summary = summarisePods([
      waiting('ImagePullBackOff'),
      twoContainers,
      waiting('CrashLoopBackOff'),
      ready,
    ]);
    expect(summary).toEqual({ total: 4, ready: 1, waiting: { ImagePullBackOff: 2, CrashLoopBackOff: 1 } });
    expect(describePods(summary, 3)).toBe(
      '1/3 updated replicas ready; pods waiting: ImagePullBackOff (2), CrashLoopBackOff (1)',
    );
  });

  it('names the scheduler reason of pods that have no containers yet, and running pods that are not ready', () => {
    const unscheduled: V1Pod = {
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }],
      },
    };
    const notReady: V1Pod = {
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] },
    };
    expect(summarisePods([unscheduled, notReady]).waiting).toEqual({ Unschedulable: 1, NotReady: 1 });
  });

  it('ignores pods being deleted', () => {
    const leaving: V1Pod = { ...waiting('ImagePullBackOff'), metadata: { deletionTimestamp: new Date() } };
    expect(summarisePods([leaving])).toEqual({ total: 0, ready: 0, waiting: {} });
  });

  it('omits the waiting part when nothing waits', () => {
    expect(describePods({ total: 3, ready: 3, waiting: {} }, 3)).toBe('3/3 updated replicas ready');
  });
});
