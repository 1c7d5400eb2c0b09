// One list+watch per cluster, namespace and kind, shared by everything in the process that follows
// those objects: the rollout waits of a wave and the freshness collection. Without it each wait
// opened a watch of its own (and re-read its workload every few seconds), and each collection
// LISTed every target namespace again, so the apiserver's load grew with the targets in flight and
// with the collection rate. A watch starts on first use, re-lists after 410 Gone, reconnects with
// backoff after an error (told to `onError`), and stops after a while unused.
import { type KubeConfig, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import type { KubernetesClients } from './clients.ts';
import { apiStatus } from './errors.ts';
import { resourcePaths, type WorkloadKind } from './workload.ts';

export type WatchedKind = WorkloadKind | 'Pod';

export type WatchEventType = 'add' | 'update' | 'delete';

/** The objects of one kind in one namespace, as the shared watch last saw them. */
export interface WatchedObjects {
  list(): readonly KubernetesObject[];
  get(name: string): KubernetesObject | undefined;
  /** Calls `listener` for every add, update and delete until the returned function is called. */
  subscribe(listener: (object: KubernetesObject, type: WatchEventType) => void): () => void;
  /** False while the watch is down (between an error and its reconnect): read for yourself then. */
  healthy(): boolean;
}

export interface SharedWatches {
  /**
   * The kind's objects in `namespace`, once listed; undefined when they cannot be watched right
   * now (RBAC without list or watch, the apiserver unreachable): the caller reads directly then.
   */
  objects(kind: WatchedKind, namespace: string): Promise<WatchedObjects | undefined>;
  close(): Promise<void>;
}

export interface WatchError {
  cluster: string;
  kind: WatchedKind;
  namespace: string;
  status?: number;
  error: string;
}

export interface SharedWatchOptions {
  /** The cluster's name in the config, for errors. */
  cluster: string;
  config: KubeConfig;
  clients: Pick<KubernetesClients, 'apps' | 'batch' | 'core'>;
  /** A watch nobody asked for this long is stopped; default 10 min. */
  idleMs?: number;
  onError?: (error: WatchError) => void;
}

/** The server closes each watch after this long (a fresh one resumes from the last version seen). */
const watchTimeoutSeconds = 300;
/** First and longest pause before reconnecting a watch that failed. */
const retryMs = { first: 1_000, max: 30_000 };

/**
 * client-node's Watch aborts a stream that is quiet for 30 s; bookmarks and the server's own
 * timeout keep a quiet namespace's watch open for minutes, and its resourceVersion fresh, so it
 * resumes instead of re-listing.
 */
class LongWatch extends Watch {
  constructor(config: KubeConfig) {
    super(config);
    // Private in the typings, a plain field at run time (client-node 2's watch.js).
    (this as unknown as { requestTimeoutMs: number }).requestTimeoutMs = (watchTimeoutSeconds + 30) * 1000;
  }
  override watch(
    path: string,
    queryParams: Record<string, unknown>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds },
      callback,
      done,
    );
  }
}

type Lister = (
  namespace: string,
) => Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>;

function lister(clients: SharedWatchOptions['clients'], kind: WatchedKind): Lister {
  const { apps, batch, core } = clients;
  switch (kind) {
    case 'Deployment':
      return (namespace) => apps.listNamespacedDeployment({ namespace });
    case 'StatefulSet':
      return (namespace) => apps.listNamespacedStatefulSet({ namespace });
    case 'DaemonSet':
      return (namespace) => apps.listNamespacedDaemonSet({ namespace });
    case 'CronJob':
      return (namespace) => batch.listNamespacedCronJob({ namespace });
    case 'Pod':
      return (namespace) => core.listNamespacedPod({ namespace });
  }
}

function pathOf(kind: WatchedKind, namespace: string): string {
  const ns = encodeURIComponent(namespace);
  if (kind === 'Pod') return `/api/v1/namespaces/${ns}/pods`;
  const { group, plural } = resourcePaths[kind];
  return `${group}/namespaces/${ns}/${plural}`;
}

interface Entry {
  informer: ListWatch<KubernetesObject>;
  /** Settles when the first list (and watch) is done, or failed. */
  started: Promise<void>;
  up: boolean;
  /** The pause before the next reconnect, doubled after each failure. */
  retryDelay: number;
  retryTimer?: NodeJS.Timeout;
  subscribers: number;
  lastUsed: number;
}

export function createSharedWatches(options: SharedWatchOptions): SharedWatches {
  const idleMs = options.idleMs ?? 600_000;
  const entries = new Map<string, Entry>();
  let closed = false;

  const stopEntry = (key: string, entry: Entry) => {
    clearTimeout(entry.retryTimer);
    entries.delete(key);
    void entry.informer.stop();
  };
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [key, entry] of entries) {
        if (entry.subscribers === 0 && now - entry.lastUsed > idleMs) stopEntry(key, entry);
      }
    },
    Math.min(60_000, idleMs),
  );
  sweep.unref();

  const open = (kind: WatchedKind, namespace: string, key: string): Entry => {
    const list = lister(options.clients, kind);
    const informer = new ListWatch<KubernetesObject>(
      pathOf(kind, namespace),
      new LongWatch(options.config),
      () => list(namespace) as never,
      false,
    );
    const entry: Entry = {
      informer,
      started: Promise.resolve(),
      up: false,
      retryDelay: retryMs.first,
      subscribers: 0,
      lastUsed: Date.now(),
    };
    const start = async () => {
      let failed = false;
      const onFailure = () => {
        failed = true;
      };
      informer.on('error', onFailure);
      try {
        await informer.start();
      } finally {
        informer.off('error', onFailure);
      }
      if (!failed && !closed) {
        entry.up = true;
        entry.retryDelay = retryMs.first;
      }
    };
    // ListWatch re-lists by itself after 410 Gone and resumes after a server-side close; any
    // other failure stops it, so it is restarted here, with backoff, while anyone still uses it.
    informer.on('error', (err: unknown) => {
      entry.up = false;
      // Stopping aborts the watch, which ListWatch reports as an error too.
      if (closed || entries.get(key) !== entry) return;
      const status = apiStatus(err);
      options.onError?.({
        cluster: options.cluster,
        kind,
        namespace,
        ...(status !== undefined ? { status } : {}),
        error: err instanceof Error ? err.message : String(err),
      });
      clearTimeout(entry.retryTimer);
      entry.retryTimer = setTimeout(() => {
        if (closed || entries.get(key) !== entry) return;
        entry.started = start();
      }, entry.retryDelay);
      entry.retryTimer.unref();
      // Refused (RBAC, credentials): a person has to act, so ask again only now and then.
      entry.retryDelay =
        status === 401 || status === 403 ? retryMs.max : Math.min(entry.retryDelay * 2, retryMs.max);
    });
    entry.started = start();
    return entry;
  };

  const view = (entry: Entry, namespace: string): WatchedObjects => ({
    list: () => entry.informer.list(namespace),
    get: (name) => entry.informer.get(name, namespace),
    subscribe(listener) {
      entry.subscribers++;
      entry.lastUsed = Date.now();
      const on = (type: WatchEventType) => (o: KubernetesObject) => listener(o, type);
      const handlers = { add: on('add'), update: on('update'), delete: on('delete') };
      for (const [type, fn] of Object.entries(handlers)) entry.informer.on(type as WatchEventType, fn);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        entry.subscribers--;
        entry.lastUsed = Date.now();
        for (const [type, fn] of Object.entries(handlers)) entry.informer.off(type as WatchEventType, fn);
      };
    },
    healthy: () => entry.up,
  });

  return {
    async objects(kind, namespace) {
      if (closed) return undefined;
      const key = `${kind}/${namespace}`;
      let entry = entries.get(key);
      if (!entry) {
        entry = open(kind, namespace, key);
        entries.set(key, entry);
      }
      entry.lastUsed = Date.now();
      await entry.started;
      return entry.up ? view(entry, namespace) : undefined;
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      for (const [key, entry] of entries) stopEntry(key, entry);
    },
  };
}
