// The grammar of repository names, tags and digests (OCI distribution spec). Checked before
// any request, so a typo in the config fails with a clear message instead of a 404 or a
// request to an unintended path.

const repositoryComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const digestPattern = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isValidRepository(name: string): boolean {
  return name.length > 0 && name.length < 256 && name.split('/').every((c) => repositoryComponent.test(c));
}

export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}

/** Digests Freshet can verify itself: sha256 (the norm) and sha512. */
export function isValidDigest(digest: string): boolean {
  return digestPattern.test(digest);
}

/** `acme/web:1.4` or `acme/web@sha256:…`: how a person writes the image a request is about. */
export function describeReference(repository: string, reference: string): string {
  return reference.includes(':') ? `${repository}@${reference}` : `${repository}:${reference}`;
}

/** Why a repository or reference is unusable, or undefined when both are fine. */
export function referenceProblem(repository: string, reference?: string): string | undefined {
  if (!isValidRepository(repository)) return `invalid repository name ${JSON.stringify(repository)}`;
  if (reference === undefined || isValidTag(reference) || isValidDigest(reference)) return undefined;
  return reference.includes(':')
    ? `invalid digest ${JSON.stringify(reference)} (expected sha256:<64 hex>)`
    : `invalid tag ${JSON.stringify(reference)}`;
}
