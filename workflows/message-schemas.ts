// Every Signal and Update a workflow accepts is parsed here before it touches state (a message
// is hostile input: anyone who can signal the namespace can send any JSON). A message that does
// not parse is refused by an Update's validator or ignored and recorded by a Signal's handler;
// it never fails a workflow task. Pure and deterministic: zod only, no I/O.
import { z } from 'zod';
import { approvalSignatureSchema } from './approval-signature.ts';
import { lookupFailureReasons } from './watch-messages.ts';
import {
  baseBuildsKept,
  boundedText,
  maxReferenceLength,
  maxTagLength,
  maxTextLength,
  platformsKept,
  previousKept,
} from './watch-state-bounds.ts';

/** Longest name an operator gives (`by`): it lands in annotations, details and logs. */
export const maxByLength = 100;
export const maxCommentLength = 1_000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const controlCharacters = /[\u0000-\u001f\u007f]/;

const by = z
  .string({ error: 'say who you are: {"by": "your-name"}' })
  .trim()
  .min(1, 'say who you are: {"by": "your-name"}')
  .max(maxByLength, `"by" is at most ${maxByLength} characters`)
  .refine((s) => !controlCharacters.test(s), '"by" may not contain control characters');

const comment = z
  .string({ error: '"comment" must be text' })
  .max(maxCommentLength, `"comment" is at most ${maxCommentLength} characters`);

/** approve / reject Signals: who decides, and why; signed where the stage lists keys. */
export const approvalMessage = z.strictObject({
  by,
  comment: comment.optional(),
  signature: approvalSignatureSchema.optional(),
});

/** The decide Update. */
export const decisionMessage = z.strictObject({
  decision: z.enum(['approve', 'reject'], { error: 'decision must be "approve" or "reject"' }),
  by,
  comment: comment.optional(),
  signature: approvalSignatureSchema.optional(),
});

/** pause, resume and abort: nothing, or who and why. */
export const operatorMessage = z
  .strictObject({ by: by.optional(), comment: comment.optional() })
  .optional()
  .nullable();

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected a digest such as sha256:<64 hex digits>');
const workflowId = z.string().min(1).max(1_000);

/** Sent by the pipeline workflow: a newer digest waits. */
export const supersedeMessage = z.strictObject({ rolloutId: workflowId, digest });

const shortText = z.string().min(1).max(1_000);
const count = z.number().int().nonnegative();
const milliseconds = z.number().finite().nonnegative();

const workloadKind = z.enum(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob']);

const targetSpec = z.object({
  namespace: shortText,
  kind: workloadKind.optional(),
  name: shortText.optional(),
  deployment: shortText.optional(),
  selector: z.record(z.string().max(317), z.string().max(63)).optional(),
  kinds: z.array(workloadKind).max(4).optional(),
  container: shortText.optional(),
  awaitNextJob: z.boolean().optional(),
});

const stageSpec = z.object({
  name: shortText,
  cluster: shortText,
  targets: z.array(targetSpec).max(10_000),
  waves: z
    .array(
      z.object({
        count: count.optional(),
        percent: z.number().finite().min(0).max(100).optional(),
        maxParallel: count.optional(),
      }),
    )
    .max(1_000),
  rolloutTimeoutMs: milliseconds,
  soakMs: milliseconds,
  checkIntervalMs: milliseconds,
  // Checks are re-checked against the worker's config by the activity that runs them.
  checks: z.array(z.looseObject({ kind: z.enum(['http', 'prometheus']) })).max(100),
  windows: z
    .array(
      z.object({
        days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).max(7),
        from: z.string().max(8),
        to: z.string().max(8),
        timeZone: z.string().max(64),
      }),
    )
    .max(100)
    .optional(),
  approval: z
    .looseObject({
      timeoutMs: milliseconds,
      approvers: z.array(shortText).optional(),
      keys: z
        .array(z.strictObject({ name: shortText, publicKey: z.string().max(64) }))
        .max(1_000)
        .optional(),
      requireSignature: z.boolean().optional(),
    })
    .optional(),
});

/** requestRollout on the pipeline workflow: one new digest with the pipeline it runs through. */
export const rolloutRequestMessage = z.object({
  request: z.object({
    pipeline: shortText,
    image: shortText,
    registry: shortText,
    registryHost: shortText,
    repository: shortText,
    tag: z.string().max(128),
    digest,
    created: z.string().max(64).optional(),
    trigger: z.enum(['poll', 'webhook', 'manual']),
    detectedAt: z.string().max(64),
    instance: shortText.optional(),
  }),
  spec: z.object({
    name: shortText,
    onNewerDigest: z.enum(['supersede', 'queue']),
    stages: z.array(stageSpec).max(100),
  }),
  searchAttributes: z.boolean().optional(),
});

/** checkNow on a watch: which images a webhook or a person asks to check now (all when empty). */
export const checkNowMessage = z
  .object({
    repository: z.string().max(256).optional(),
    repositories: z.array(z.string().max(256)).max(10_000).optional(),
    tag: z.string().max(128).optional(),
    source: z.string().max(64).optional(),
  })
  .optional()
  .nullable();

const trackPolicy = z.union([
  z.strictObject({ tag: z.string().min(1).max(128) }),
  z.strictObject({ semver: z.string().min(1).max(256), includePrerelease: z.boolean().optional() }),
  z.strictObject({ pattern: z.string().min(1).max(1_000), order: z.enum(['numerical', 'alphabetical']) }),
]);

/** configure on a watch: the images it watches from now on (sent by the daemon's reconciliation). */
export const configureMessage = z
  .array(
    z.object({
      name: shortText,
      registry: shortText,
      repository: shortText,
      track: trackPolicy,
      pipeline: shortText.optional(),
      // A zero or tiny interval would make the watch a hot loop.
      intervalMs: z.number().finite().min(1_000),
      platform: shortText,
      base: z
        .object({
          image: shortText,
          registry: shortText,
          host: shortText,
          repository: shortText,
          track: trackPolicy,
        })
        .optional(),
    }),
  )
  .max(100_000);

const anyDigest = z.string().regex(/^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/, 'expected a digest');
const stateTime = z.string().max(30);
const stateText = z.string().max(maxTextLength).transform(boundedText);
const reference = z.string().max(maxReferenceLength);
const layerList = z.array(anyDigest).max(128);
const digestRecord = z.strictObject({
  tag: z.string().min(1).max(maxTagLength),
  digest: anyDigest,
  firstSeenAt: stateTime,
  created: stateTime.optional(),
  platforms: z
    .array(z.strictObject({ digest: anyDigest, platform: z.string().max(98) }))
    .max(platformsKept)
    .optional(),
});

/** One image's state as another watch kept it, within the caps of watch-state-bounds.ts. */
export const imageStateMessage = z.strictObject({
  latest: digestRecord.optional(),
  previous: z.array(digestRecord).max(previousKept),
  baseName: reference.optional(),
  baseDigest: anyDigest.optional(),
  baseLatestDigest: anyDigest.optional(),
  baseBehindSince: stateTime.optional(),
  baseFrom: z.enum(['annotation', 'provenance', 'layers']).optional(),
  baseProblem: stateText.optional(),
  baseBuilds: z
    .array(z.strictObject({ digest: anyDigest, name: reference, layers: layerList }))
    .max(baseBuildsKept)
    .optional(),
  unprovenLayers: layerList.optional(),
  lastCheckAt: stateTime.optional(),
  lastSuccessAt: stateTime.optional(),
  lastError: stateText.optional(),
  lastErrorReason: z.enum(lookupFailureReasons).optional(),
  handoffPending: z.enum(['poll', 'webhook', 'manual']).optional(),
  slowedDown: z
    .strictObject({ intervalMs: milliseconds, remaining: count, windowSeconds: milliseconds })
    .optional(),
  nextDueAt: z.number().finite(),
});

/**
 * configure's second argument: the state of images that move into this watch from another part
 * of their group, so a move neither misses a rebuild nor forgets what targets still run. Each
 * state is parsed on its own (imageStateMessage): one that does not parse starts anew alone.
 */
export const handoverMessage = z
  .record(shortText, z.unknown())
  .refine((states) => Object.keys(states).length <= 100_000, 'at most 100000 images');

/** What a refused message gets as its reason: the first problem, with its path. */
export function messageProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'malformed message';
  const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${path}${issue.message}`;
}

/** Parses a message; on failure says why in one line. */
export function parseMessage<T>(
  schema: z.ZodType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; reason: string } {
  const result = schema.safeParse(value);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, reason: messageProblem(result.error) };
}

const isoTime = z.iso.datetime({ offset: true, error: 'expected a time such as 2026-12-24T18:00:00Z' });
const pipelineName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected a pipeline name from the config');
const reason = z
  .string({ error: 'say why: {"reason": "…"}' })
  .trim()
  .min(1, 'say why: {"reason": "…"}')
  .max(maxCommentLength, `"reason" is at most ${maxCommentLength} characters`);

/** The freeze Update. */
export const freezeRequestMessage = z.strictObject({
  pipeline: pipelineName.optional(),
  reason,
  by,
  until: isoTime.optional(),
});

/** The unfreeze Update. */
export const unfreezeRequestMessage = z.strictObject({ pipeline: pipelineName.optional(), by });

const freezeEntry = z.strictObject({
  reason: z.string().max(maxCommentLength),
  by: z.string().max(maxByLength),
  since: z.string().max(64),
  until: z.string().max(64).optional(),
});

/** freezeChanged on a rollout: the freeze workflow's whole state. */
export const freezeSnapshotMessage = z.strictObject({
  version: z.number().int().nonnegative(),
  all: freezeEntry.optional(),
  pipelines: z.record(z.string().max(63), freezeEntry),
});
