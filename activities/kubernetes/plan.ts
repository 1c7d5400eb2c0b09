// Which workloads a stage changes, decided from cluster state by a pure function so the rules
// (container choice, skips, problems) are unit-testable; the activity only fetches that state.
import { canonicalImageName, pinnedDigest, referencesImage } from '../watch/image-reference.ts';
import type { KubernetesClients } from './clients.ts';
import { gitOpsWarning } from './gitops.ts';
import type {
  PlannedTarget,
  PlanStageInput,
  PlanStageResult,
  PlanWarning,
  TargetSpec,
  WorkloadKind,
} from './types.ts';
import {
  annotations,
  labelsMatch,
  listWorkloads,
  ownerOf,
  readWorkload,
  selectorText,
  targetKinds,
  targetName,
  type WorkloadState,
  workloadContainers,
  workloadLabel,
} from './workload.ts';

export function newImageFor(input: Pick<PlanStageInput, 'registryHost' | 'repository' | 'tag' | 'digest'>) {
  const tag = input.tag ? `:${input.tag}` : '';
  return `${input.registryHost}/${input.repository}${tag}@${input.digest}`;
}

type Matched = { workloads: WorkloadState[] } | { problem: string };

const kindList = (kinds: readonly WorkloadKind[]) => kinds.join(' or ');

function match(target: TargetSpec, inNamespace: readonly WorkloadState[]): Matched {
  const ns = target.namespace;
  const kinds = targetKinds(target);
  const ofKind = inNamespace.filter((w) => kinds.includes(w.kind));
  const name = targetName(target);
  if (name !== undefined) {
    const found = ofKind.filter((w) => w.name === name);
    return found.length ? { workloads: found } : { problem: `${ns}/${name}: ${kindList(kinds)} not found` };
  }
  const selector = target.selector ?? {};
  // An empty selector would match every workload in the namespace: never what anyone meant.
  if (Object.keys(selector).length === 0)
    return { problem: `${ns}: target has neither a deployment nor a selector` };
  const found = ofKind.filter((w) => labelsMatch(w.metadata.labels, selector));
  return found.length
    ? { workloads: found }
    : { problem: `${ns}: no ${kindList(kinds)} matches selector ${selectorText(selector)}` };
}

/**
 * A Deployment belongs to the pipeline (and Freshet instance) that first changed it: another
 * pipeline rolling it out would fight over its image, each rollback undoing the other's release.
 */
function ownedElsewhere(d: WorkloadState, pipeline: string, instance: string): string | undefined {
  const owner = ownerOf(d);
  if (!owner || (owner.pipeline === pipeline && owner.instance === instance)) return undefined;
  return (
    `${d.namespace}/${workloadLabel(d.kind, d.name)}: belongs to pipeline "${owner.pipeline}" of Freshet instance "${owner.instance}" ` +
    `(annotations ${annotations.pipeline}, ${annotations.instance}), not to pipeline "${pipeline}" of "${instance}"; ` +
    'target it from one pipeline, or remove both annotations to hand it over'
  );
}

/**
 * The container to update: the named one, else the only one running the repository. Init
 * containers and sidecars count like app containers: an image can run in any of them.
 */
export function chooseContainer(
  d: WorkloadState,
  named: string | undefined,
  want: { host: string; repository: string },
): { container: string; image: string } | { problem: string } {
  const containers = workloadContainers(d);
  const where = `${d.namespace}/${workloadLabel(d.kind, d.name)}`;
  const wanted = canonicalImageName(want.host, want.repository);
  const runsWanted = (image: string) => referencesImage(image, want.host, want.repository);
  if (named !== undefined) {
    const c = containers.find((x) => x.name === named);
    if (!c) {
      return {
        problem: `${where}: no container "${named}" (containers: ${containers.map((x) => x.name).join(', ')})`,
      };
    }
    // Patching it would swap one program for another: the target names the wrong container.
    if (!runsWanted(c.image)) {
      return {
        problem: `${where}: container "${named}" runs ${c.image || '(no image)'}, not ${wanted}; check the target's container`,
      };
    }
    return { container: c.name, image: c.image };
  }
  const running = containers.filter((c) => runsWanted(c.image));
  if (running.length === 1 && running[0]) return { container: running[0].name, image: running[0].image };
  if (running.length === 0) {
    const list = containers.map((c) => `${c.name}=${c.image}`).join(', ');
    return { problem: `${where}: no container runs ${wanted} (containers: ${list}); set container` };
  }
  return {
    problem: `${where}: several containers run ${wanted} (${running.map((c) => c.name).join(', ')}); set container`,
  };
}

/**
 * Pure: decides the stage from `deployments` (see parseDeployment), a superset of what the
 * targets match. Problems are returned, not thrown, so the workflow can fail the stage before it
 * touches anything and show every problem at once.
 */
export function planTargets(
  deployments: readonly WorkloadState[],
  input: PlanStageInput,
  instance: string,
): PlanStageResult {
  const want = { host: input.registryHost, repository: input.repository };
  const problems = new Set<string>();
  const planned = new Map<string, PlannedTarget>();
  const warnings: PlanWarning[] = [];
  for (const target of input.targets) {
    const matched = match(
      target,
      deployments.filter((d) => d.namespace === target.namespace),
    );
    if ('problem' in matched) {
      problems.add(matched.problem);
      continue;
    }
    for (const d of matched.workloads) {
      const owned = ownedElsewhere(d, input.pipeline, instance);
      if (owned) {
        problems.add(owned);
        continue;
      }
      const chosen = chooseContainer(d, target.container, want);
      if ('problem' in chosen) {
        problems.add(chosen.problem);
        continue;
      }
      const key = `${d.kind}/${d.namespace}/${d.name}`;
      const earlier = planned.get(key);
      if (earlier) {
        if (earlier.container !== chosen.container) {
          problems.add(
            `${d.namespace}/${workloadLabel(d.kind, d.name)}: targets disagree on the container (${earlier.container}, ${chosen.container})`,
          );
        }
        continue;
      }
      const skip = pinnedDigest(chosen.image) === input.digest;
      // Kind only beside Deployments: a plan of Deployments alone stays what older workers returned.
      const awaitNextJob = d.kind === 'CronJob' && target.awaitNextJob === true;
      planned.set(key, {
        cluster: input.cluster,
        namespace: d.namespace,
        ...(d.kind === 'Deployment' ? {} : { kind: d.kind }),
        deployment: d.name,
        container: chosen.container,
        currentImage: chosen.image,
        generation: d.metadata.generation,
        action: skip ? 'skip' : 'update',
        ...(skip ? { reason: `already runs ${input.digest}` } : {}),
        ...(awaitNextJob ? { awaitNextJob } : {}),
      });
      const shown = `${d.namespace}/${workloadLabel(d.kind, d.name)}`;
      const gitOps = skip ? undefined : gitOpsWarning(shown, chosen.container, d.metadata);
      if (gitOps) warnings.push({ target: shown, tools: gitOps.tools, message: gitOps.warning });
    }
  }
  // Code-unit order, not localeCompare: the same plan on every worker, whatever its locale.
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const targets = [...planned.values()].sort(
    (a, b) =>
      compare(a.namespace, b.namespace) ||
      compare(a.deployment, b.deployment) ||
      compare(a.kind ?? 'Deployment', b.kind ?? 'Deployment'),
  );
  warnings.sort((a, b) => compare(a.target, b.target));
  return {
    targets,
    newImage: newImageFor(input),
    problems: [...problems],
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/**
 * Fetches what the targets can match: a GET per named workload (works with RBAC limited to
 * resourceNames) and one LIST per namespace and kind with selector targets, filtered by the
 * selector when the namespace and kind have only one.
 */
export async function planStage(
  clients: KubernetesClients,
  input: PlanStageInput,
  instance: string,
): Promise<PlanStageResult> {
  const named = new Map<string, { kind: WorkloadKind; namespace: string; name: string }>();
  const selectors = new Map<string, { kind: WorkloadKind; namespace: string; set: Set<string> }>();
  for (const t of input.targets) {
    const name = targetName(t);
    for (const kind of targetKinds(t)) {
      if (name !== undefined)
        named.set(`${kind}/${t.namespace}/${name}`, { kind, namespace: t.namespace, name });
      else if (t.selector && Object.keys(t.selector).length > 0) {
        const key = `${kind}/${t.namespace}`;
        const entry = selectors.get(key) ?? { kind, namespace: t.namespace, set: new Set<string>() };
        entry.set.add(selectorText(t.selector));
        selectors.set(key, entry);
      }
    }
  }
  const reads = [...named.values()].map(({ kind, namespace, name }) =>
    readWorkload(clients, kind, namespace, name),
  );
  const lists = [...selectors.values()].map(({ kind, namespace, set }) =>
    listWorkloads(clients, kind, namespace, set.size === 1 ? [...set][0] : undefined),
  );
  const [one, many] = await Promise.all([Promise.all(reads), Promise.all(lists)]);
  const unique = new Map<string, WorkloadState>();
  for (const d of [...one, ...many.flat()]) if (d) unique.set(`${d.kind}/${d.namespace}/${d.name}`, d);
  return planTargets([...unique.values()], input, instance);
}
