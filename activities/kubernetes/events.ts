// Kubernetes Events on the workloads Freshet changes, so `kubectl describe` and every tool that
// reads Events tell who changed the image and in which rollout. Best effort by design: an Event
// that cannot be recorded (RBAC without `create` on events, an apiserver hiccup) is logged and
// counted, and never fails the update or the rollback it describes.
import { createHash } from 'node:crypto';
import { EventsV1Api, type EventsV1Event, type KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { apiStatus } from './errors.ts';

/** The controller name Events carry (`reportingController`). */
export const reportingController = 'freshet.dev/freshet';

export const eventReasons = { updated: 'FreshetUpdated', rolledBack: 'FreshetRolledBack' } as const;
export type EventReason = (typeof eventReasons)[keyof typeof eventReasons];

/** The object an Event is about; `uid` makes `kubectl describe` list it. */
export interface WorkloadRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion?: string;
}

export interface WorkloadEvent {
  reason: EventReason;
  /** Machine-readable: `Update` or `Rollback`. */
  action: string;
  type: 'Normal' | 'Warning';
  note: string;
  rolloutId: string;
  container: string;
  image: string;
}

/** Told of every Event written or not (the daemon counts and logs them). */
export interface EventObserver {
  recorded?(event: { reason: EventReason; cluster: string }): void;
  failed?(event: { reason: EventReason; cluster: string; target: string; error: string }): void;
}

/** What Events this Freshet records, and where failures are told. */
export type EventRecorder = (
  clients: { name: string; config: KubeConfig },
  ref: WorkloadRef,
  event: WorkloadEvent,
) => Promise<void>;

const noteLimit = 1_024;
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

export function imageUpdatedEvent(e: {
  name: string;
  container: string;
  image: string;
  rolloutId: string;
}): WorkloadEvent {
  return {
    reason: eventReasons.updated,
    action: 'Update',
    type: 'Normal',
    note: clip(
      `Freshet updated ${e.name} to ${e.image} (rollout ${e.rolloutId}, container ${e.container})`,
      noteLimit,
    ),
    rolloutId: e.rolloutId,
    container: e.container,
    image: e.image,
  };
}

export function imageRolledBackEvent(e: {
  name: string;
  container: string;
  image: string;
  rolloutId: string;
  reason: string;
}): WorkloadEvent {
  return {
    reason: eventReasons.rolledBack,
    action: 'Rollback',
    type: 'Warning',
    note: clip(
      `Freshet rolled back ${e.name} to ${e.image} (rollout ${e.rolloutId}, container ${e.container}): ${e.reason}`,
      noteLimit,
    ),
    rolloutId: e.rolloutId,
    container: e.container,
    image: e.image,
  };
}

/**
 * The same name for the same change, so a retried activity finds its Event already there (409)
 * instead of recording it twice. A DNS subdomain of at most 253 characters.
 */
export function eventName(ref: WorkloadRef, event: WorkloadEvent): string {
  const hash = createHash('sha256')
    .update([ref.kind, ref.uid, event.reason, event.rolloutId, event.container, event.image].join('\n'))
    .digest('hex')
    .slice(0, 16);
  const base = ref.name.length <= 200 ? ref.name : 'freshet';
  return `${base}.${hash}`;
}

/** Pure: the events.k8s.io/v1 object for one change. */
export function eventObject(
  ref: WorkloadRef,
  event: WorkloadEvent,
  instance: string,
  at: Date,
): EventsV1Event {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: eventName(ref, event), namespace: ref.namespace },
    eventTime: new V1MicroTime(at.getTime()),
    reportingController,
    reportingInstance: clip(`freshet-${instance}`, 128),
    action: event.action,
    reason: event.reason,
    type: event.type,
    note: event.note,
    regarding: {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      namespace: ref.namespace,
      name: ref.name,
      uid: ref.uid,
      ...(ref.resourceVersion ? { resourceVersion: ref.resourceVersion } : {}),
    },
  };
}

const apis = new WeakMap<KubeConfig, EventsV1Api>();
function eventsApi(config: KubeConfig): EventsV1Api {
  let api = apis.get(config);
  if (!api) {
    api = config.makeApiClient(EventsV1Api);
    apis.set(config, api);
  }
  return api;
}

const errorText = (err: unknown) => {
  const status = apiStatus(err);
  const text = err instanceof Error ? err.message : String(err);
  return status === undefined ? text : `${status}: ${clip(text, 300)}`;
};

/** Records Events as `freshet-<instance>`; never throws. */
export function eventRecorder(instance: string, observer: EventObserver = {}): EventRecorder {
  return async (clients, ref, event) => {
    try {
      await eventsApi(clients.config).createNamespacedEvent({
        namespace: ref.namespace,
        body: eventObject(ref, event, instance, new Date()),
      });
    } catch (err) {
      if (apiStatus(err) !== 409) {
        observer.failed?.({
          reason: event.reason,
          cluster: clients.name,
          target: `${ref.namespace}/${ref.name}`,
          error: errorText(err),
        });
        return;
      }
    }
    observer.recorded?.({ reason: event.reason, cluster: clients.name });
  };
}
