// What a container runtime reports as a container's `imageID`, worked out from the pod, its node
// and the registry. Pure except for the `Registry` it is handed, so the rules are unit-tested.
// KWOK pulls nothing, so without this the stack's pods that name a tag would report no imageID.
import { z } from 'zod';

/** A node with this annotation reports a multi-platform image's own platform manifest, as some runtimes do. */
export const reportsAnnotation = 'stack.freshet.dev/image-id';
export const platformManifestMode = 'platform-manifest';

export interface ImageName {
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** `host[:port]/repo[:tag][@sha256:…]`; only references that name a registry host (the stack's are all on 127.0.0.1). */
export function parseImageName(image: string): ImageName | undefined {
  const m =
    /^(?<host>[a-z0-9.-]+(?::\d+)?)\/(?<repository>[a-z0-9._/-]+?)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/.exec(
      image,
    );
  const g = m?.groups;
  if (!g?.host || !g.repository || !/[.:]|^localhost$/.test(g.host)) return undefined;
  return {
    host: g.host,
    repository: g.repository,
    ...(g.tag ? { tag: g.tag } : {}),
    ...(g.digest ? { digest: g.digest } : {}),
  };
}

/** containerd's and CRI-O's form; a kubelet on dockershim prefixed `docker-pullable://`. */
export const imageId = (name: ImageName, digest: string) => `${name.host}/${name.repository}@${digest}`;

const digestOf = (imageID: string) => /@(sha256:[a-f0-9]{64})$/.exec(imageID)?.[1];

export interface Registry {
  /** The digest the tag points at now (HEAD, as a pull resolves it). */
  resolveTag(name: ImageName, tag: string): Promise<string>;
  /** For an index: the manifest of the platform; for a single-platform manifest: undefined. */
  platformManifest(name: ImageName, digest: string, platform: NodePlatform): Promise<string | undefined>;
}

export interface NodePlatform {
  os: string;
  architecture: string;
}

export interface NodeFacts {
  platform?: NodePlatform;
  reportsPlatformManifest: boolean;
}

export function nodeFacts(
  labels: Record<string, string> | undefined,
  annotations: Record<string, string> | undefined,
): NodeFacts {
  const os = labels?.['kubernetes.io/os'];
  const architecture = labels?.['kubernetes.io/arch'];
  return {
    ...(os && architecture ? { platform: { os, architecture } } : {}),
    reportsPlatformManifest: annotations?.[reportsAnnotation] === platformManifestMode,
  };
}

/** The container statuses of a pod as the runtime reports them; the kinds live in separate lists. */
export interface StatusRef {
  list: 'containerStatuses' | 'initContainerStatuses';
  index: number;
  name: string;
  image: string;
  imageID: string | undefined;
  started: boolean;
}

/**
 * The imageID a runtime would report for one container status, or undefined to leave it as it
 * is: a container that never started (an image that cannot be pulled) reports none. A tag
 * resolves to what the registry says now, as at pull time; a node that reports platform
 * manifests turns an index digest into its platform's manifest.
 */
export async function wantedImageId(
  status: StatusRef,
  node: NodeFacts,
  registry: (host: string) => Registry | undefined,
): Promise<string | undefined> {
  if (!status.started) return undefined;
  const platformMode = node.reportsPlatformManifest && node.platform !== undefined;
  if (status.imageID && !platformMode) return undefined;
  const name = parseImageName(status.image);
  const client = name ? registry(name.host) : undefined;
  if (!name || !client) return undefined;
  let digest = (status.imageID && digestOf(status.imageID)) || name.digest;
  if (!digest && name.tag) digest = await client.resolveTag(name, name.tag);
  if (!digest) return undefined;
  if (platformMode && node.platform) {
    digest = (await client.platformManifest(name, digest, node.platform)) ?? digest;
  }
  const wanted = imageId(name, digest);
  return wanted === status.imageID ? undefined : wanted;
}

/** JSON Patch that sets one imageID, refused by the server if the status moved underneath. */
export function imageIdPatch(status: StatusRef, imageID: string): object[] {
  const at = `/status/${status.list}/${status.index}`;
  return [
    { op: 'test', path: `${at}/name`, value: status.name },
    ...(status.imageID !== undefined ? [{ op: 'test', path: `${at}/imageID`, value: status.imageID }] : []),
    { op: 'add', path: `${at}/imageID`, value: imageID },
  ];
}

const indexSchema = z.looseObject({
  manifests: z.array(
    z.looseObject({
      digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
      platform: z
        .looseObject({ os: z.string(), architecture: z.string(), variant: z.string().optional() })
        .optional(),
    }),
  ),
});

/** The entry of an index for a platform (a bare entry before a variant), from a manifest body. */
export function platformEntry(body: unknown, platform: NodePlatform): string | undefined {
  const index = indexSchema.safeParse(body);
  if (!index.success) return undefined;
  const matching = index.data.manifests.filter(
    (m) => m.platform?.os === platform.os && m.platform.architecture === platform.architecture,
  );
  return (matching.find((m) => !m.platform?.variant) ?? matching[0])?.digest;
}
