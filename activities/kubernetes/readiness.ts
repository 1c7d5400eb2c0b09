// Each controller's verdict on a rollout, read from its workload's status. Pure, so the watch
// loop and the tests share one definition of "done" per kind.
import { z } from 'zod';
import {
  type CronJobState,
  containerImage,
  type DaemonSetState,
  type DeploymentState,
  type StatefulSetState,
  type WorkloadState,
} from './workload.ts';

export type RolloutVerdict =
  | { state: 'done' | 'waiting'; progress: string }
  /**
   * stalled: ProgressDeadlineExceeded; replaced: the container no longer runs the awaited image;
   * failed: a CronJob's Job on the awaited image failed.
   */
  | { state: 'stalled' | 'replaced' | 'failed'; progress: string; reason: string };

function replaced(
  w: WorkloadState,
  container: string,
  image: string,
  progress: string,
): RolloutVerdict | undefined {
  const current = containerImage(w, container);
  if (current === image) return undefined;
  const now = current === undefined ? 'has no such container' : `runs ${current}`;
  return { state: 'replaced', progress, reason: `container ${container} ${now}, not ${image}` };
}

/** Status below the spec's generation describes the previous spec, conditions included. */
function unobserved(w: WorkloadState, observed: number, progress: string): RolloutVerdict | undefined {
  if (observed >= w.metadata.generation) return undefined;
  return { state: 'waiting', progress: `${progress} (generation ${w.metadata.generation} not yet observed)` };
}

export function rolloutVerdict(d: DeploymentState, container: string, image: string): RolloutVerdict {
  const want = d.spec.replicas;
  const s = d.status;
  const progress = `${s.updatedReplicas}/${want} updated, ${s.readyReplicas} ready`;
  const early = replaced(d, container, image, progress) ?? unobserved(d, s.observedGeneration, progress);
  if (early) return early;
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

/**
 * A RollingUpdate `partition` keeps ordinals below it on the old revision on purpose: only the
 * ordinals at or above it must be updated, and every replica must be ready. With `OnDelete` the
 * controller updates no pod by itself, so the observed spec is all there is to wait for.
 */
export function statefulSetVerdict(d: StatefulSetState, container: string, image: string): RolloutVerdict {
  const want = d.spec.replicas;
  const s = d.status;
  const partition = Math.min(Math.max(d.spec.updateStrategy.rollingUpdate?.partition ?? 0, 0), want);
  const onDelete = d.spec.updateStrategy.type === 'OnDelete';
  const toUpdate = want - partition;
  const note = onDelete
    ? ' (OnDelete: pods take the new image when they are deleted)'
    : partition > 0
      ? ` (partition ${partition}: ordinals ${partition}..${want - 1} only)`
      : '';
  const progress = `${s.updatedReplicas}/${onDelete ? want : toUpdate} updated, ${s.readyReplicas}/${want} ready${note}`;
  const early = replaced(d, container, image, progress) ?? unobserved(d, s.observedGeneration, progress);
  if (early) return early;
  if (onDelete) return { state: 'done', progress };
  const updated = s.updatedReplicas >= toUpdate && (partition > 0 || s.currentRevision === s.updateRevision);
  const complete = updated && s.readyReplicas === want && s.availableReplicas === want && s.replicas === want;
  return { state: complete ? 'done' : 'waiting', progress };
}

/** Every node that should run the pod runs the new one and it is available there. */
export function daemonSetVerdict(d: DaemonSetState, container: string, image: string): RolloutVerdict {
  const s = d.status;
  const want = s.desiredNumberScheduled;
  const onDelete = d.spec.updateStrategy.type === 'OnDelete';
  const note = onDelete ? ' (OnDelete: pods take the new image when they are deleted)' : '';
  const progress = `${s.updatedNumberScheduled}/${want} nodes updated, ${s.numberAvailable} available${note}`;
  const early = replaced(d, container, image, progress) ?? unobserved(d, s.observedGeneration, progress);
  if (early) return early;
  if (onDelete) return { state: 'done', progress };
  const complete =
    s.updatedNumberScheduled === want && s.numberAvailable === want && s.currentNumberScheduled === want;
  return { state: complete ? 'done' : 'waiting', progress };
}

const jobSchema = z.object({
  metadata: z.object({
    name: z.string(),
    creationTimestamp: z.union([z.string(), z.date()]).optional(),
    ownerReferences: z.array(z.object({ uid: z.string(), kind: z.string() })).default([]),
  }),
  spec: z.object({
    template: z.object({
      spec: z.object({
        containers: z.array(z.object({ name: z.string(), image: z.string().default('') })),
        initContainers: z.array(z.object({ name: z.string(), image: z.string().default('') })).default([]),
      }),
    }),
  }),
  status: z
    .object({
      succeeded: z.number().default(0),
      failed: z.number().default(0),
      conditions: z
        .array(z.object({ type: z.string(), status: z.string(), message: z.string().optional() }))
        .default([]),
    })
    .prefault({}),
});

export type JobState = z.infer<typeof jobSchema>;

export function parseJob(raw: unknown): JobState {
  const result = jobSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`unexpected Job object: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`);
  }
  return result.data;
}

const condition = (job: JobState, type: string) =>
  job.status.conditions.find((c) => c.type === type && c.status === 'True');

/**
 * A CronJob has no pods to wait for: once its spec carries the image it is updated. With
 * `awaitNextJob` it is ready only when a Job it created on that image completes, and a Job on
 * that image that failed makes it not ready (the stage rolls back). `jobs` are the namespace's.
 */
export function cronJobVerdict(
  d: CronJobState,
  container: string,
  image: string,
  awaitNextJob: boolean,
  jobs: readonly JobState[],
): RolloutVerdict {
  const schedule = `schedule "${d.spec.schedule}"${d.spec.suspend ? ', suspended' : ''}`;
  const early = replaced(d, container, image, `updated (${schedule})`);
  if (early) return early;
  if (!awaitNextJob)
    return { state: 'done', progress: `updated (${schedule}); the next Job runs the new image` };
  const ours = jobs.filter(
    (j) =>
      j.metadata.ownerReferences.some((o) => o.kind === 'CronJob' && o.uid === d.metadata.uid) &&
      [...j.spec.template.spec.containers, ...j.spec.template.spec.initContainers].some(
        (c) => c.name === container && c.image === image,
      ),
  );
  const failed = ours.find((j) => condition(j, 'Failed'));
  if (failed) {
    const why = condition(failed, 'Failed')?.message;
    return {
      state: 'failed',
      progress: `Job ${failed.metadata.name} failed`,
      reason: `Job ${failed.metadata.name} on the new image failed${why ? ` (${why})` : ''}`,
    };
  }
  const complete = ours.find((j) => condition(j, 'Complete'));
  if (complete)
    return { state: 'done', progress: `Job ${complete.metadata.name} on the new image succeeded` };
  const running = ours[0];
  return {
    state: 'waiting',
    progress: running
      ? `Job ${running.metadata.name} on the new image is running`
      : `waiting for the next Job (${schedule})`,
  };
}

/** The verdict for any kind; `jobs` matter only to a CronJob awaiting its next Job. */
export function workloadVerdict(
  w: WorkloadState,
  container: string,
  image: string,
  opts: { awaitNextJob?: boolean; jobs?: readonly JobState[] } = {},
): RolloutVerdict {
  switch (w.kind) {
    case 'Deployment':
      return rolloutVerdict(w, container, image);
    case 'StatefulSet':
      return statefulSetVerdict(w, container, image);
    case 'DaemonSet':
      return daemonSetVerdict(w, container, image);
    case 'CronJob':
      return cronJobVerdict(w, container, image, opts.awaitNextJob ?? false, opts.jobs ?? []);
  }
}
