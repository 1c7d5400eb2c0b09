// Platforms as the config and Kubernetes nodes name them (`linux/arm64/v8`) and as an image
// index lists them ({ os, architecture, variant }). Pure, so the workflow-facing state can hold
// the text form and the worker can compare it with a node's labels.
import type { Platform } from './manifest-schemas.ts';

/** `linux/arm64/v8` → { os: linux, architecture: arm64, variant: v8 }; the config schema checks the shape. */
export function parsePlatform(text: string): Platform {
  const [os = 'linux', architecture = 'amd64', variant] = text.split('/');
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/**
 * Whether an index entry's platform serves a node. Nodes name no variant (`kubernetes.io/arch`
 * is `arm64`, never `arm64/v8`), so a node without one accepts every variant of its os/arch;
 * `arm64/v8` and a bare `arm64` are the same platform.
 */
export function platformServes(entry: string, node: string): boolean {
  const e = parsePlatform(entry);
  const n = parsePlatform(node);
  if (e.os !== n.os || e.architecture !== n.architecture) return false;
  if (!n.variant || e.variant === n.variant) return true;
  const bareV8 = (p: Platform) => p.architecture === 'arm64' && (p.variant ?? 'v8') === 'v8';
  return bareV8(e) && bareV8(n);
}
