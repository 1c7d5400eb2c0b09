// The daemon's loaded config is the authority on what the Kubernetes activities may touch
// (invariant 12). Anyone who can start a workflow in the namespace chooses its input; these pure
// checks decide from the config alone whether a cluster, a target and an image repository are
// ones this Freshet was configured to roll out. A refusal is a message naming what was refused
// and where to configure it; no refusal means the input is allowed.
import type { Config, TargetConfig } from '../../config/schema.ts';
import { registryHost } from '../rollout/pipeline-spec.ts';
import { canonicalImageName, imageNameOf } from '../watch/image-reference.ts';
import type { PlanStageInput, TargetSpec, UpdateInput } from './types.ts';
import { kindOf, labelsMatch, selectorText, targetKinds, targetName } from './workload.ts';

interface PipelineScope {
  /** `host/repository` of each image whose `pipeline` is this one, as Deployments spell them. */
  images: Set<string>;
  stages: { cluster: string; targets: TargetConfig[] }[];
}

export interface KubernetesAuthority {
  /** temporal.instance: the Freshet deployment whose rollouts these activities run. */
  instance: string;
  clusterRefusal(cluster: string): string | undefined;
  planRefusal(input: PlanStageInput): string | undefined;
  /** `labels` are the workload's, which a selector target must match. */
  updateRefusal(input: UpdateInput, labels: Record<string, string> | undefined): string | undefined;
}

const sameSelector = (a: Record<string, string>, b: Record<string, string>) =>
  selectorText(a) === selectorText(b);

const sameKinds = (a: TargetSpec, b: TargetSpec) =>
  targetKinds(a).sort().join(',') === targetKinds(b).sort().join(',');

/** The same target as configured: namespace, kinds, name or selector, and container. */
function sameTarget(configured: TargetConfig, asked: TargetSpec): boolean {
  if (configured.namespace !== asked.namespace || configured.container !== asked.container) return false;
  if (!sameKinds(configured, asked)) return false;
  // A CronJob's Job check is the config's to ask for; asking for it otherwise is a stranger's input.
  if ((configured.awaitNextJob ?? false) !== (asked.awaitNextJob ?? false)) return false;
  const name = targetName(configured);
  if (name !== undefined) return name === targetName(asked);
  return (
    targetName(asked) === undefined &&
    configured.selector !== undefined &&
    asked.selector !== undefined &&
    sameSelector(configured.selector, asked.selector)
  );
}

function describeTarget(t: TargetSpec): string {
  const name = targetName(t);
  const what =
    name !== undefined
      ? `${kindOf(t)} ${t.namespace}/${name}`
      : `selector ${selectorText(t.selector ?? {})}${t.kinds ? ` (${targetKinds(t).join(', ')})` : ''} in namespace ${t.namespace}`;
  return t.container === undefined ? what : `${what} (container ${t.container})`;
}

const listed = (items: Iterable<string>) => [...items].join(', ') || 'none';

export function kubernetesAuthority(config: Config): KubernetesAuthority {
  const clusters = new Set(Object.keys(config.clusters));
  const pipelines = new Map<string, PipelineScope>();
  for (const [name, p] of Object.entries(config.pipelines)) {
    pipelines.set(name, {
      images: new Set(),
      stages: p.stages.map((s) => ({ cluster: s.cluster, targets: s.targets })),
    });
  }
  for (const img of config.images) {
    if (img.pipeline === undefined) continue;
    const repo = canonicalImageName(registryHost(config, img.registry), img.repository);
    if (repo) pipelines.get(img.pipeline)?.images.add(repo);
  }

  const clusterRefusal = (cluster: string) =>
    clusters.has(cluster)
      ? undefined
      : `cluster "${cluster}" is not in this Freshet's config (clusters: ${listed(clusters)}); configure it under clusters`;

  /** The pipeline, or why it is refused: unknown, or the image is not one of its images. */
  const scopeFor = (pipeline: string | undefined, image: string | undefined) => {
    const scope = pipeline === undefined ? undefined : pipelines.get(pipeline);
    if (pipeline === undefined || scope === undefined) {
      return {
        refusal: `pipeline "${pipeline ?? ''}" is not in this Freshet's config (pipelines: ${listed(pipelines.keys())}); configure it under pipelines`,
      };
    }
    if (image === undefined || !scope.images.has(image)) {
      return {
        refusal:
          `image ${image ?? '(unparseable)'} is not an image of pipeline "${pipeline}" (its images: ${listed(scope.images)}); ` +
          `configure it under images with pipeline: ${pipeline}`,
      };
    }
    return { scope };
  };

  const notATarget = (what: string, pipeline: string, cluster: string) =>
    `${what} on cluster ${cluster} is not a target of pipeline "${pipeline}" on that cluster; ` +
    `configure it under pipelines.${pipeline}.stages[].targets`;

  return {
    instance: config.temporal.instance,
    clusterRefusal,

    planRefusal(input) {
      const cluster = clusterRefusal(input.cluster);
      if (cluster) return cluster;
      const found = scopeFor(input.pipeline, canonicalImageName(input.registryHost, input.repository));
      if (!found.scope) return found.refusal;
      const onCluster = found.scope.stages
        .filter((s) => s.cluster === input.cluster)
        .flatMap((s) => s.targets);
      const stranger = input.targets.find((t) => !onCluster.some((c) => sameTarget(c, t)));
      return stranger ? notATarget(describeTarget(stranger), input.pipeline, input.cluster) : undefined;
    },

    updateRefusal(input, labels) {
      const { cluster, namespace, deployment, container } = input.ref;
      const kind = kindOf(input.ref);
      const refused = clusterRefusal(cluster);
      if (refused) return refused;
      const found = scopeFor(input.pipeline, imageNameOf(input.newImage));
      if (!found.scope) return found.refusal;
      const configured = found.scope.stages
        .filter((s) => s.cluster === cluster)
        .flatMap((s) => s.targets)
        .some(
          (t) =>
            t.namespace === namespace &&
            (t.container === undefined || t.container === container) &&
            targetKinds(t).includes(kind) &&
            (targetName(t) !== undefined
              ? targetName(t) === deployment
              : t.selector !== undefined &&
                Object.keys(t.selector).length > 0 &&
                labelsMatch(labels, t.selector)),
        );
      return configured
        ? undefined
        : notATarget(`${kind} ${namespace}/${deployment} (container ${container})`, input.pipeline, cluster);
    },
  };
}
