// Workloads that a GitOps controller manages: Argo CD or Flux applies them from Git and puts
// back whatever differs, Freshet's new image included, unless told to leave Freshet's field
// alone. Recognised by the marks these tools leave on what they apply (tracking labels and
// annotations) and by their field managers. Pure: it reads plain object metadata, of any kind.
import { imageWriter } from './field-managers.ts';

export type GitOpsTool = 'argocd' | 'flux';

export interface GitOpsManagement {
  tool: GitOpsTool;
  /** What manages it, e.g. `Application shop` or `Kustomization flux-system/apps`. */
  by: string;
  /** The mark it was recognised by, e.g. `annotation argocd.argoproj.io/tracking-id`. */
  evidence: string;
}

export interface WorkloadMetadata {
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: unknown;
}

export const gitOpsMarks = {
  argoTrackingId: 'argocd.argoproj.io/tracking-id',
  /** Argo CD's default tracking label before 3.0 (annotation tracking is the default since). */
  argoInstanceLabel: 'app.kubernetes.io/instance',
  fluxKustomizationName: 'kustomize.toolkit.fluxcd.io/name',
  fluxKustomizationNamespace: 'kustomize.toolkit.fluxcd.io/namespace',
  fluxHelmReleaseName: 'helm.toolkit.fluxcd.io/name',
  fluxHelmReleaseNamespace: 'helm.toolkit.fluxcd.io/namespace',
} as const;

/** Field managers of the GitOps controllers (server-side apply and client-side apply). */
const managerTools: Record<string, GitOpsTool> = {
  'argocd-controller': 'argocd',
  'argocd-application-controller': 'argocd',
  'kustomize-controller': 'flux',
  'helm-controller': 'flux',
};

const toolNames: Record<GitOpsTool, string> = { argocd: 'Argo CD', flux: 'Flux' };

/** `argocd-controller (Argo CD)` for a known GitOps manager, the manager's name otherwise. */
export function describeManager(manager: string): string {
  const tool = managerTools[manager];
  return tool ? `${manager} (${toolNames[tool]})` : manager;
}

function fluxOwner(
  labels: Record<string, string>,
  kind: string,
  nameKey: string,
  namespaceKey: string,
): GitOpsManagement | undefined {
  const name = labels[nameKey];
  if (!name) return undefined;
  const namespace = labels[namespaceKey];
  return {
    tool: 'flux',
    by: `${kind} ${namespace ? `${namespace}/` : ''}${name}`,
    evidence: `label ${nameKey}`,
  };
}

/** How the workload is managed by Argo CD or Flux, one entry per controller; empty when by neither. */
export function gitOpsManagement(meta: WorkloadMetadata): GitOpsManagement[] {
  const labels = meta.labels ?? {};
  const annotations = meta.annotations ?? {};
  const found: GitOpsManagement[] = [];
  const trackingId = annotations[gitOpsMarks.argoTrackingId];
  const instance = labels[gitOpsMarks.argoInstanceLabel];
  if (trackingId) {
    // `<application>:<group>/<kind>:<namespace>/<name>`; the application may carry its namespace.
    const app = trackingId.split(':')[0] || trackingId;
    found.push({
      tool: 'argocd',
      by: `Application ${app}`,
      evidence: `annotation ${gitOpsMarks.argoTrackingId}`,
    });
  } else if (instance) {
    found.push({
      tool: 'argocd',
      by: `Application ${instance}`,
      evidence: `label ${gitOpsMarks.argoInstanceLabel} (Argo CD's label tracking; Helm charts set it too)`,
    });
  }
  for (const flux of [
    fluxOwner(
      labels,
      'Kustomization',
      gitOpsMarks.fluxKustomizationName,
      gitOpsMarks.fluxKustomizationNamespace,
    ),
    fluxOwner(labels, 'HelmRelease', gitOpsMarks.fluxHelmReleaseName, gitOpsMarks.fluxHelmReleaseNamespace),
  ]) {
    if (flux) found.push(flux);
  }
  if (Array.isArray(meta.managedFields)) {
    for (const entry of meta.managedFields) {
      const manager = (entry as { manager?: unknown } | null)?.manager;
      if (typeof manager !== 'string') continue;
      const tool = managerTools[manager];
      if (!tool || found.some((f) => f.tool === tool)) continue;
      found.push({ tool, by: manager, evidence: `field manager ${manager}` });
    }
  }
  return found;
}

const advice: Record<GitOpsTool, string> = {
  argocd: 'add ignoreDifferences with managedFieldsManagers: [freshet] and RespectIgnoreDifferences=true',
  flux: "tell Flux to leave the container's image alone",
};

/**
 * One plan-time warning for a workload, or undefined when no GitOps controller manages it. The
 * container's image already written by a GitOps manager means that tool will put it back.
 */
export function gitOpsWarning(
  where: string,
  container: string,
  meta: WorkloadMetadata,
): { warning: string; tools: GitOpsTool[] } | undefined {
  const managed = gitOpsManagement(meta);
  if (managed.length === 0) return undefined;
  const owner = imageWriter(meta.managedFields, container);
  const ownerTool = owner ? managerTools[owner.manager] : undefined;
  const who = managed.map((m) => `${toolNames[m.tool]} (${m.by}, ${m.evidence})`).join(' and ');
  const tools = [...new Set(managed.map((m) => m.tool))];
  const owns = ownerTool ? `; field manager ${owner?.manager} owns the image of container ${container}` : '';
  const fix = tools.map((t) => advice[t]).join('; ');
  return {
    warning:
      `${where} is managed by ${who}${owns}: it may put the old image back during the rollout ` +
      `(the rollout then ends reverted); ${fix} (README: GitOps)`,
    tools,
  };
}
