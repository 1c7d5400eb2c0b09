// The deployment controller's verdict on a rollout, read from a Deployment's status. Pure, so the
// watch loop and the tests share one definition of "done".
import { containerImage, type DeploymentState } from './deployment.ts';

export type RolloutVerdict =
  | { state: 'done' | 'waiting'; progress: string }
  /** stalled: ProgressDeadlineExceeded; replaced: the container no longer runs the awaited image. */
  | { state: 'stalled' | 'replaced'; progress: string; reason: string };

export function rolloutVerdict(d: DeploymentState, container: string, image: string): RolloutVerdict {
  const want = d.spec.replicas;
  const s = d.status;
  const progress = `${s.updatedReplicas}/${want} updated, ${s.readyReplicas} ready`;
  const current = containerImage(d, container);
  if (current !== image) {
    const now = current === undefined ? 'has no such container' : `runs ${current}`;
    return { state: 'replaced', progress, reason: `container ${container} ${now}, not ${image}` };
  }
  // Status below the spec's generation describes the previous spec, conditions included.
  if (s.observedGeneration < d.metadata.generation) {
    return {
      state: 'waiting',
      progress: `${progress} (generation ${d.metadata.generation} not yet observed)`,
    };
  }
  const progressing = s.conditions.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    const why = progressing.message ? ` (${progressing.message})` : '';
    return { state: 'stalled', progress, reason: `progress deadline exceeded${why}` };
  }
  const complete =
    s.updatedReplicas === want &&
    s.readyReplicas === want &&
    s.availableReplicas === want &&
    s.replicas === want;
  return { state: complete ? 'done' : 'waiting', progress };
}
