// The Kubernetes activities' inputs, parsed at the edge: whoever starts a workflow shapes them,
// so a malformed one is refused with its path instead of failing somewhere inside, retry after retry.
// Loose objects: a field added to an input later passes through rather than vanishing here.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import {
  type AwaitInput,
  type PlanStageInput,
  type RollbackInput,
  type TargetRef,
  type UpdateInput,
  workloadKinds,
} from './types.ts';

const text = z.string().min(1).max(1_000);
const labels = z.record(z.string().max(317), z.string().max(63));

const kind = z.enum(workloadKinds);

const targetSpec = z.looseObject({
  namespace: text,
  kind: kind.optional(),
  name: text.optional(),
  deployment: text.optional(),
  selector: labels.optional(),
  kinds: z.array(kind).max(workloadKinds.length).optional(),
  container: text.optional(),
  awaitNextJob: z.boolean().optional(),
});

const targetRef = z.looseObject({
  cluster: text,
  namespace: text,
  kind: kind.optional(),
  deployment: text,
  container: text,
}) satisfies z.ZodType<TargetRef>;

const planStageInput = z.looseObject({
  pipeline: text,
  cluster: text,
  targets: z.array(targetSpec).max(10_000),
  registryHost: text,
  repository: text,
  tag: z.string().max(128),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex digits>'),
}) satisfies z.ZodType<PlanStageInput>;

// An image reference, up to what Kubernetes accepts in a container spec.
const image = z.string().min(1).max(4_096);

const updateInput = z.looseObject({
  pipeline: text,
  ref: targetRef,
  newImage: image,
  previousImage: image,
  rolloutId: text,
  changeCause: z.string().max(4_096),
}) satisfies z.ZodType<UpdateInput>;

const awaitInput = z.looseObject({
  ref: targetRef,
  image,
  timeoutMs: z.number().int().positive(),
  deadlineAt: z.number().optional(),
  awaitNextJob: z.boolean().optional(),
}) satisfies z.ZodType<AwaitInput>;

const rollbackInput = z.looseObject({
  ref: targetRef,
  rolloutId: text,
  fromImage: image,
  toImage: image,
  reason: z.string().max(4_096),
  persistent: z.boolean().optional(),
}) satisfies z.ZodType<RollbackInput>;

function parser<T>(activity: string, schema: z.ZodType<T>) {
  return (input: unknown): T => {
    const result = schema.safeParse(input);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') || '(input)';
    throw ApplicationFailure.nonRetryable(
      `${activity}: malformed input at ${path}: ${issue?.message ?? 'invalid'}`,
      'InvalidActivityInput',
    );
  };
}

export const parsePlanStageInput = parser('planStage', planStageInput);
export const parseUpdateInput = parser('updateDeploymentImage', updateInput);
export const parseAwaitInput = parser('awaitDeploymentReady', awaitInput);
export const parseRollbackInput = parser('rollbackDeployment', rollbackInput);
