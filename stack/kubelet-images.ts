// The stack's stand-in for the image half of a kubelet: watches pods and writes the imageID a
// container runtime would report into each started container's status (see image-ids.ts).
// Started by the stack after the apiserver and the registries; by hand:
//   node stack/kubelet-images.ts CONFIG.json
// CONFIG.json: { "kubeconfig": "…", "registries": [{ "host": "127.0.0.1:5000", "url": "http://…",
//   "username"?: "…", "password"?: "…" }] }. It logs one JSON line per event to stdout.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  KubeConfig,
  makeInformer,
  type V1ContainerStatus,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { z } from 'zod';
import {
  type ImageName,
  imageIdPatch,
  type NodeFacts,
  nodeFacts,
  platformEntry,
  type Registry,
  type StatusRef,
  wantedImageId,
} from './image-ids.ts';

const configSchema = z.strictObject({
  kubeconfig: z.string(),
  context: z.string().optional(),
  registries: z.array(
    z.strictObject({
      host: z.string(),
      url: z.url(),
      username: z.string().optional(),
      password: z.string().optional(),
    }),
  ),
});
type KubeletImagesConfig = z.infer<typeof configSchema>;

const manifestAccept = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const log = (msg: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ at: new Date().toISOString(), msg, ...fields }));

/** One registry, spoken to as a runtime pulls: HEAD for a tag, GET for an index by digest. */
function httpRegistry(r: KubeletImagesConfig['registries'][number]): Registry {
  const headers: Record<string, string> = { accept: manifestAccept };
  if (r.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${r.username}:${r.password ?? ''}`).toString('base64')}`;
  }
  const manifestUrl = (name: ImageName, ref: string) => `${r.url}/v2/${name.repository}/manifests/${ref}`;
  const indexes = new Map<string, unknown>();
  return {
    async resolveTag(name, tag) {
      const res = await fetch(manifestUrl(name, tag), {
        method: 'HEAD',
        headers,
        signal: AbortSignal.timeout(5_000),
      });
      const digest = res.headers.get('docker-content-digest');
      if (res.status !== 200 || !digest?.startsWith('sha256:')) {
        throw new Error(`HEAD ${name.host}/${name.repository}:${tag} → ${res.status}`);
      }
      return digest;
    },
    async platformManifest(name, digest, platform) {
      // A digest names the same bytes for ever, so one GET per digest is enough.
      let body = indexes.get(digest);
      if (body === undefined) {
        const res = await fetch(manifestUrl(name, digest), { headers, signal: AbortSignal.timeout(5_000) });
        if (res.status !== 200)
          throw new Error(`GET ${name.host}/${name.repository}@${digest} → ${res.status}`);
        body = await res.json();
        indexes.set(digest, body);
      }
      return platformEntry(body, platform);
    },
  };
}

function statusRefs(pod: V1Pod): StatusRef[] {
  const refs = (list: StatusRef['list'], statuses: V1ContainerStatus[] | undefined) =>
    (statuses ?? []).map(
      (s, index): StatusRef => ({
        list,
        index,
        name: s.name,
        image: s.image,
        imageID: s.imageID,
        started: Boolean(s.state?.running || s.state?.terminated),
      }),
    );
  return [
    ...refs('containerStatuses', pod.status?.containerStatuses),
    ...refs('initContainerStatuses', pod.status?.initContainerStatuses),
  ];
}

async function run(config: KubeletImagesConfig): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(config.kubeconfig);
  if (config.context) kc.setCurrentContext(config.context);
  const core = kc.makeApiClient(CoreV1Api);
  const registries = new Map(config.registries.map((r) => [r.host, httpRegistry(r)]));
  const nodes = makeInformer<V1Node>(kc, '/api/v1/nodes', () => core.listNode());
  const pods = makeInformer<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  // One pass per pod at a time; an event during a pass asks for one more pass over the newest copy.
  const busy = new Set<string>();
  const again = new Set<string>();
  const retries = new Map<string, number>();

  const reconcile = async (pod: V1Pod) => {
    const { name, namespace, uid } = pod.metadata ?? {};
    if (!name || !namespace || !uid || pod.metadata?.deletionTimestamp) return;
    if (busy.has(uid)) {
      again.add(uid);
      return;
    }
    busy.add(uid);
    let failed = false;
    try {
      const node = pod.spec?.nodeName ? nodes.get(pod.spec.nodeName) : undefined;
      const facts: NodeFacts = nodeFacts(node?.metadata?.labels, node?.metadata?.annotations);
      for (const status of statusRefs(pod)) {
        let wanted: string | undefined;
        try {
          wanted = await wantedImageId(status, facts, (host) => registries.get(host));
        } catch (err) {
          log('cannot resolve image', {
            pod: `${namespace}/${name}`,
            image: status.image,
            error: String(err),
          });
          failed = true;
          continue;
        }
        if (!wanted) continue;
        await core.patchNamespacedPodStatus({ name, namespace, body: imageIdPatch(status, wanted) }).then(
          () => log('imageID set', { pod: `${namespace}/${name}`, container: status.name, imageID: wanted }),
          // The status moved (a test op failed) or the pod is gone: its next event says what is true now.
          (err: unknown) => log('patch refused', { pod: `${namespace}/${name}`, error: String(err) }),
        );
      }
    } finally {
      busy.delete(uid);
    }
    const current = () => pods.get(name, namespace);
    if (again.delete(uid)) {
      const pod = current();
      if (pod) await reconcile(pod);
    } else if (failed) {
      // A registry that failed may answer later; a kubelet keeps trying to pull too, with backoff.
      const n = (retries.get(uid) ?? 0) + 1;
      retries.set(uid, n);
      if (n <= 10) {
        setTimeout(() => {
          const pod = current();
          if (pod) void reconcile(pod);
        }, n * 1_000);
      }
    } else {
      retries.delete(uid);
    }
  };

  for (const informer of [nodes, pods]) {
    // The informer stops on an error; start it again after a pause, as long as the process lives.
    informer.on('error', (err: unknown) => {
      log('watch error, restarting', { error: String(err) });
      void sleep(2_000)
        .then(() => informer.start())
        .catch((failure: unknown) => log('restart failed', { error: String(failure) }));
    });
  }
  pods.on('add', (pod) => void reconcile(pod));
  pods.on('update', (pod) => void reconcile(pod));
  pods.on('delete', (pod) => retries.delete(pod.metadata?.uid ?? ''));
  await nodes.start();
  await pods.start();
  log('watching pods', { registries: [...registries.keys()] });
}

if (import.meta.main) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node stack/kubelet-images.ts CONFIG.json');
    process.exit(2);
  }
  let text: unknown;
  try {
    text = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    console.error(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  const parsed = configSchema.safeParse(text);
  if (!parsed.success) {
    console.error(`${path}: ${z.prettifyError(parsed.error)}`);
    process.exit(2);
  }
  run(parsed.data).catch((err: unknown) => {
    log('stopped', { error: String(err) });
    process.exit(1);
  });
}
