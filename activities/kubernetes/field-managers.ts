// Who wrote a container's image, read from the object's managedFields. Every write Freshet makes
// carries the field manager `freshet`, so a GitOps tool can be told to leave that field alone
// (Argo CD's managedFieldsManagers) and a later writer of the image can be named when it puts
// another image back. Pure and kind-agnostic: it takes the raw managedFields and the path of the
// pod spec in the object.
import { z } from 'zod';

/** The field manager of every write Freshet makes (update and rollback patches alike). */
export const freshetFieldManager = 'freshet';

/** Where the pod spec sits: Deployments, StatefulSets and DaemonSets; a CronJob nests it deeper. */
export const podSpecPaths = {
  template: ['spec', 'template', 'spec'],
  cronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
} as const;

const entrySchema = z.object({
  manager: z.string().default(''),
  operation: z.string().optional(),
  // A string in raw objects (watch events), a Date once the typed client has deserialised it.
  time: z
    .union([z.string(), z.date().transform((d) => d.toISOString())])
    .optional()
    .catch(undefined),
  subresource: z.string().optional(),
  fieldsType: z.string().optional(),
  fieldsV1: z.unknown().optional(),
});

export interface FieldOwner {
  manager: string;
  /** `Update` (a patch or update) or `Apply` (server-side apply). */
  operation?: string;
  /** When this manager last wrote the object (RFC 3339), if the apiserver recorded it. */
  time?: string;
}

export interface ImageFieldOptions {
  podSpecPath?: readonly string[];
  /** `containers` (the default) or `initContainers`. */
  list?: 'containers' | 'initContainers';
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `k:{"name":"app"}` member of a list's fieldsV1 whose key names `container`. */
function containerSet(list: Record<string, unknown>, container: string): Record<string, unknown> | undefined {
  for (const [key, value] of Object.entries(list)) {
    if (!key.startsWith('k:') || !isRecord(value)) continue;
    try {
      const parsed: unknown = JSON.parse(key.slice(2));
      if (isRecord(parsed) && parsed.name === container) return value;
    } catch {
      // A key that is not JSON belongs to no container.
    }
  }
  return undefined;
}

/** True when this fieldsV1 set holds `f:<podSpecPath>.f:<list>.k:{"name":container}.f:image`. */
export function ownsImageField(
  fieldsV1: unknown,
  container: string,
  options: ImageFieldOptions = {},
): boolean {
  let node: unknown = fieldsV1;
  for (const step of [...(options.podSpecPath ?? podSpecPaths.template), options.list ?? 'containers']) {
    if (!isRecord(node)) return false;
    node = node[`f:${step}`];
  }
  if (!isRecord(node)) return false;
  const set = containerSet(node, container);
  return set !== undefined && 'f:image' in set;
}

/**
 * Every manager that owns the container's image field, newest write first. Entries of
 * subresources (status, scale) never own the spec and are skipped; malformed entries too.
 */
export function imageFieldOwners(
  managedFields: unknown,
  container: string,
  options: ImageFieldOptions = {},
): FieldOwner[] {
  if (!Array.isArray(managedFields)) return [];
  const owners: FieldOwner[] = [];
  for (const raw of managedFields) {
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) continue;
    const e = parsed.data;
    if (e.subresource || (e.fieldsType !== undefined && e.fieldsType !== 'FieldsV1')) continue;
    if (!ownsImageField(e.fieldsV1, container, options)) continue;
    owners.push({
      manager: e.manager,
      ...(e.operation ? { operation: e.operation } : {}),
      ...(e.time ? { time: e.time } : {}),
    });
  }
  // RFC 3339 in UTC sorts as text; an entry without a time sorts last.
  return owners.sort((a, b) => (b.time ?? '').localeCompare(a.time ?? ''));
}

/**
 * Who put the image there: the newest owner other than Freshet. Freshet itself only when it is
 * the sole owner (another writer used its name); undefined when nobody is recorded.
 */
export function imageWriter(
  managedFields: unknown,
  container: string,
  options: ImageFieldOptions = {},
): FieldOwner | undefined {
  const owners = imageFieldOwners(managedFields, container, options);
  return owners.find((o) => o.manager !== freshetFieldManager) ?? owners[0];
}
