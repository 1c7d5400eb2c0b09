// The shapes Freshet reads from registry answers, parsed at the edge (STYLE.md). Loose objects:
// registries add fields, and only the ones listed here matter.
import { z } from 'zod';

const stringMap = z
  .record(z.string(), z.string())
  .nullish()
  .transform((m) => m ?? {});

export const platformSchema = z.looseObject({
  os: z.string(),
  architecture: z.string(),
  variant: z.string().optional(),
});

export const descriptorSchema = z.looseObject({
  mediaType: z.string().optional(),
  digest: z.string(),
  size: z.number().optional(),
  platform: platformSchema.optional(),
  /** What an artifact is (a signature, an SBOM); set on the entries of a referrers list. */
  artifactType: z.string().optional(),
  annotations: stringMap,
});

/** OCI image index or Docker manifest list. */
export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  annotations: stringMap,
});

/** OCI image manifest or Docker schema2 manifest. */
export const imageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema).optional(),
  annotations: stringMap,
});

/** OCI image config or Docker container image config; only what build time and labels need. */
export const imageConfigSchema = z.looseObject({
  created: z.string().optional(),
  architecture: z.string().optional(),
  os: z.string().optional(),
  config: z
    .looseObject({ Labels: stringMap })
    .nullish()
    .transform((c) => c ?? { Labels: {} }),
});

/** Distribution sends `"tags": null` for a repository whose tags were all deleted. */
export const tagListSchema = z.looseObject({
  name: z.string().optional(),
  tags: z
    .array(z.string())
    .nullish()
    .transform((t) => t ?? []),
});

/** Token endpoint answer; `access_token` is the OAuth2 spelling some registries use. */
export const tokenResponseSchema = z.looseObject({
  token: z.string().optional(),
  access_token: z.string().optional(),
  expires_in: z.number().optional(),
});

/** The error body of the distribution spec: `{"errors":[{"code","message","detail"}]}`. */
export const registryErrorBodySchema = z.looseObject({
  errors: z.array(z.looseObject({ code: z.string().optional(), message: z.string().optional() })).min(1),
});

export type Platform = z.infer<typeof platformSchema>;
export type Descriptor = z.infer<typeof descriptorSchema>;
export type ImageIndex = z.infer<typeof imageIndexSchema>;
export type ImageManifest = z.infer<typeof imageManifestSchema>;
export type ImageConfig = z.infer<typeof imageConfigSchema>;

export type Decoded<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Parses a JSON body against a schema; a malformed answer becomes a sentence, not a crash. */
export function decodeJson<T>(schema: z.ZodType<T>, body: Uint8Array): Decoded<T> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { ok: false, problem: `malformed answer: not JSON (${body.byteLength} bytes)` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return { ok: false, problem: `malformed answer: ${where}${issue?.message ?? 'unexpected shape'}` };
}

/** `MANIFEST_UNKNOWN: manifest unknown` from an error body, or undefined when there is none. */
export function registryErrorDetail(body: Uint8Array): string | undefined {
  const decoded = decodeJson(registryErrorBodySchema, body);
  if (!decoded.ok) return undefined;
  const first = decoded.value.errors[0];
  const text = [first?.code, first?.message].filter(Boolean).join(': ');
  return text ? text.slice(0, 200) : undefined;
}
