// The four manifest media types every manifest request must accept: without the OCI ones
// Distribution answers 404 for OCI images, without an Accept Docker Hub answers with a
// schema1 manifest whose digest differs from what a pull resolves (notes/registry.md §1.1).
export const ociIndex = 'application/vnd.oci.image.index.v1+json';
export const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
export const dockerManifestList = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const dockerManifest = 'application/vnd.docker.distribution.manifest.v2+json';

export const manifestAccept = [ociIndex, ociManifest, dockerManifestList, dockerManifest].join(', ');

/** Whether a manifest media type lists per-platform manifests rather than describing one image. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === ociIndex || mediaType === dockerManifestList;
}

/** `application/json; charset=utf-8` → `application/json`; undefined when the header is absent. */
export function mediaTypeOf(contentType: string | null): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type ? type : undefined;
}
