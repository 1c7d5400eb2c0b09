// A Deployment belongs to one pipeline: two pipelines rolling it out would fight over its image,
// each one's rollback undoing the other's release. Targets that name the same Deployment, or the
// same selector, in two pipelines are a config error; selectors that merely overlap are only
// known at plan time, where the freshet.dev/pipeline annotation catches them.
import type { z } from 'zod';

/** `a=1,b=2` with the keys sorted, so equal selectors give equal text. */
const selectorKey = (selector: Record<string, string>) =>
  Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');

interface TargetLike {
  namespace: string;
  kind?: string | undefined;
  name?: string | undefined;
  deployment?: string | undefined;
  selector?: Record<string, string> | undefined;
  kinds?: string[] | undefined;
}

interface PipelinesLike {
  pipelines: Record<string, { stages: { cluster: string; targets: TargetLike[] }[] }>;
}

export function checkTargetOwnership(c: PipelinesLike, ctx: z.RefinementCtx): void {
  const owners = new Map<string, { pipeline: string; at: string }>();
  for (const [pipeline, p] of Object.entries(c.pipelines)) {
    p.stages.forEach((stage, i) => {
      stage.targets.forEach((t, j) => {
        const name = t.deployment ?? t.name;
        const field = t.deployment !== undefined ? 'deployment' : t.name !== undefined ? 'name' : 'selector';
        const kinds = name !== undefined || !t.kinds ? [t.kind ?? 'Deployment'] : [...t.kinds].sort();
        const what =
          name !== undefined
            ? `${kinds[0]} ${t.namespace}/${name}`
            : `selector ${selectorKey(t.selector ?? {})} in namespace ${t.namespace}`;
        const key = `${stage.cluster}\u0000${t.namespace}\u0000${name === undefined ? 'selector' : 'name'}\u0000${kinds.join(',')}\u0000${name ?? selectorKey(t.selector ?? {})}`;
        const at = `pipelines.${pipeline}.stages[${i}].targets[${j}]`;
        const owner = owners.get(key);
        if (owner === undefined) {
          owners.set(key, { pipeline, at });
          return;
        }
        if (owner.pipeline === pipeline) return;
        ctx.addIssue({
          code: 'custom',
          path: ['pipelines', pipeline, 'stages', i, 'targets', j, field],
          message:
            `${what} on cluster ${stage.cluster} is also a target of pipeline "${owner.pipeline}" (${owner.at}); ` +
            `pipelines "${owner.pipeline}" and "${pipeline}" would fight over its image: target it from one pipeline`,
        });
      });
    });
  }
}
