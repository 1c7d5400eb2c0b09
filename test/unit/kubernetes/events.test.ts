// The Events Freshet records on the workloads it changes: what `kubectl describe` shows, and a
// name that stays the same when an activity is retried.
import { describe, expect, it } from 'vitest';
import {
  eventName,
  eventObject,
  imageRolledBackEvent,
  imageUpdatedEvent,
} from '../../../activities/kubernetes/events.ts';

const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web', uid: 'u-1' };
const image = `r.test/acme/web:1.4@sha256:${'a'.repeat(64)}`;

describe('workload Events', () => {
  it('says who updated what to which digest in which rollout, on the Deployment', () => {
    const event = imageUpdatedEvent({ name: 'web', container: 'app', image, rolloutId: 'ro-1' });
    const at = new Date('2026-01-02T03:04:05.678Z');
    const obj = eventObject(ref, event, 'prod', at);
    expect(obj).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      reason: 'FreshetUpdated',
      action: 'Update',
      type: 'Normal',
      reportingController: 'freshet.dev/freshet',
      reportingInstance: 'freshet-prod',
      note: `Freshet updated web to ${image} (rollout ro-1, container app)`,
      regarding: ref,
      metadata: { namespace: 'shop' },
    });
    // MicroTime: the apiserver refuses an eventTime without microseconds.
    expect(JSON.parse(JSON.stringify(obj)).eventTime).toBe('2026-01-02T03:04:05.678000Z');
  });

  it('records a rollback as a Warning with the reason, the note bounded to 1 kB', () => {
    const event = imageRolledBackEvent({
      name: 'web',
      container: 'app',
      image,
      rolloutId: 'ro-1',
      reason: 'x'.repeat(5_000),
    });
    expect(event).toMatchObject({ reason: 'FreshetRolledBack', action: 'Rollback', type: 'Warning' });
    expect(
      event.note.startsWith(`Freshet rolled back web to ${image} (rollout ro-1, container app): xxx`),
    ).toBe(true);
    expect(event.note.length).toBeLessThanOrEqual(1_024);
  });

  it('names an Event after its change, so a retry finds it instead of writing a second one', () => {
    const a = imageUpdatedEvent({ name: 'web', container: 'app', image, rolloutId: 'ro-1' });
    const b = imageUpdatedEvent({ name: 'web', container: 'app', image, rolloutId: 'ro-2' });
    expect(eventName(ref, a)).toBe(eventName(ref, { ...a }));
    expect(eventName(ref, a)).not.toBe(eventName(ref, b));
    expect(eventName(ref, a)).toMatch(/^web\.[0-9a-f]{16}$/);
    expect(eventName({ ...ref, name: 'w'.repeat(240) }, a)).toMatch(/^freshet\.[0-9a-f]{16}$/);
  });
});
