// Finds every file and secret reference in a parsed config: keys ending in `Env` or `File`,
// `kubeconfig`, and `file` (a registry's Docker config). Label selectors are skipped: their keys are the user's labels, not references.
import type { Config } from './schema.ts';

export interface Reference {
  /** The key, such as `passwordEnv`, `valueFile` or `kubeconfig`. */
  key: string;
  value: string;
  path: PropertyKey[];
  /** The object holding the key, so a caller can rewrite the value (relative paths). */
  owner: Record<string, unknown>;
}

export function configReferences(config: Config): Reference[] {
  const found: Reference[] = [];
  const visit = (value: unknown, path: PropertyKey[]): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        visit(v, [...path, i]);
      });
      return;
    }
    if (!value || typeof value !== 'object') return;
    const owner = value as Record<string, unknown>;
    for (const [key, v] of Object.entries(owner)) {
      if (key === 'selector') continue;
      if (typeof v === 'string' && (key.endsWith('Env') || isFileKey(key) || key === 'kubeconfig'))
        found.push({ key, value: v, path: [...path, key], owner });
      else visit(v, [...path, key]);
    }
  };
  visit(config, []);
  return found;
}

/** `passwordFile`, `tokenFile`, …, and the plain `file` of a Docker config. */
export function isFileKey(key: string): boolean {
  return key.endsWith('File') || key === 'file';
}
