// Which Deployments a stage changes, decided from cluster state by a pure function so the rules
// (container choice, skips, problems) are unit-testable; the activity only fetches that state.
import { canonicalImageName, pinnedDigest, referencesImage } from '../watch/image-reference.ts';
import type { KubernetesClients } from './clients.ts';
import {
  annotations,
  type DeploymentState,
  labelsMatch,
  ownerOf,
  parseDeployment,
  readDeployment,
  selectorText,
} from './deployment.ts';
import { kubernetesFailure } from './errors.ts';
import { gitOpsWarning } from './gitops.ts';
import type { PlannedTarget, PlanStageInput, PlanStageResult, PlanWarning, TargetSpec } from './types.ts';

export function newImageFor(input: Pick<PlanStageInput, 'registryHost' | 'repository' | 'tag' | 'digest'>) {
  const tag = input.tag ? `:${input.tag}` : '';
  return `${input.registryHost}/${input.repository}${tag}@${input.digest}`;
}

type Matched = { deployments: DeploymentState[] } | { problem: string };

function match(target: TargetSpec, inNamespace: readonly DeploymentState[]): Matched {
  const ns = target.namespace;
  if (target.deployment !== undefined) {
    const found = inNamespace.filter((d) => d.name === target.deployment);
    return found.length
      ? { deployments: found }
      : { problem: `${ns}/${target.deployment}: Deployment not found` };
  }
  const selector = target.selector ?? {};
  // An empty selector would match every Deployment in the namespace: never what anyone meant.
  if (Object.keys(selector).length === 0)
    return { problem: `${ns}: target has neither a deployment nor a selector` };
  const found = inNamespace.filter((d) => labelsMatch(d.metadata.labels, selector));
  return found.length
    ? { deployments: found }
    : { problem: `${ns}: no Deployment matches selector ${selectorText(selector)}` };
}

/**
 * A Deployment belongs to the pipeline (and Freshet instance) that first changed it: another
 * pipeline rolling it out would fight over its image, each rollback undoing the other's release.
 */
function ownedElsewhere(d: DeploymentState, pipeline: string, instance: string): string | undefined {
  const owner = ownerOf(d);
  if (!owner || (owner.pipeline === pipeline && owner.instance === instance)) return undefined;
  return (
    `${d.namespace}/${d.name}: belongs to pipeline "${owner.pipeline}" of Freshet instance "${owner.instance}" ` +
    `(annotations ${annotations.pipeline}, ${annotations.instance}), not to pipeline "${pipeline}" of "${instance}"; ` +
    'target it from one pipeline, or remove both annotations to hand it over'
  );
}

/** The container to update: the named one, else the only one running the repository. */
function chooseContainer(
  d: DeploymentState,
  named: string | undefined,
  want: { host: string; repository: string },
): { container: string; image: string } | { problem: string } {
  const containers = d.spec.template.spec.containers;
  const where = `${d.namespace}/${d.name}`;
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
  deployments: readonly DeploymentState[],
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
    for (const d of matched.deployments) {
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
      const key = `${d.namespace}/${d.name}`;
      const earlier = planned.get(key);
      if (earlier) {
        if (earlier.container !== chosen.container) {
          problems.add(
            `${key}: targets disagree on the container (${earlier.container}, ${chosen.container})`,
          );
        }
        continue;
      }
      const skip = pinnedDigest(chosen.image) === input.digest;
      planned.set(key, {
        cluster: input.cluster,
        namespace: d.namespace,
        deployment: d.name,
        container: chosen.container,
        currentImage: chosen.image,
        generation: d.metadata.generation,
        action: skip ? 'skip' : 'update',
        ...(skip ? { reason: `already runs ${input.digest}` } : {}),
      });
      const gitOps = skip ? undefined : gitOpsWarning(key, chosen.container, d.metadata);
      if (gitOps) warnings.push({ target: key, tools: gitOps.tools, message: gitOps.warning });
    }
  }
  // Code-unit order, not localeCompare: the same plan on every worker, whatever its locale.
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const targets = [...planned.values()].sort(
    (a, b) => compare(a.namespace, b.namespace) || compare(a.deployment, b.deployment),
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
 * Fetches what the targets can match: a GET per named Deployment (works with RBAC limited to
 * resourceNames) and one LIST per namespace with selector targets, filtered by the selector when
 * the namespace has only one.
 */
export async function planStage(
  clients: KubernetesClients,
  input: PlanStageInput,
  instance: string,
): Promise<PlanStageResult> {
  const named = new Map<string, { namespace: string; name: string }>();
  const selectors = new Map<string, Set<string>>();
  for (const t of input.targets) {
    if (t.deployment !== undefined)
      named.set(`${t.namespace}/${t.deployment}`, { namespace: t.namespace, name: t.deployment });
    else if (t.selector && Object.keys(t.selector).length > 0) {
      const set = selectors.get(t.namespace) ?? new Set<string>();
      set.add(selectorText(t.selector));
      selectors.set(t.namespace, set);
    }
  }
  const reads = [...named.values()].map(({ namespace, name }) => readDeployment(clients, namespace, name));
  const lists = [...selectors].map(async ([namespace, set]) => {
    const labelSelector = set.size === 1 ? [...set][0] : undefined;
    try {
      const list = await clients.apps.listNamespacedDeployment({ namespace, labelSelector });
      return list.items.map((d) => parseDeployment(d, namespace));
    } catch (err) {
      throw kubernetesFailure(clients.name, `list Deployments in ${namespace}`, err);
    }
  });
  const [one, many] = await Promise.all([Promise.all(reads), Promise.all(lists)]);
  const unique = new Map<string, DeploymentState>();
  for (const d of [...one, ...many.flat()]) if (d) unique.set(`${d.namespace}/${d.name}`, d);
  return planTargets([...unique.values()], input, instance);
}
