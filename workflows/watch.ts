// One long-running watch per registry or watch group (invariant 8): a timer loop that checks
// every image that is due in one activity, records what changed and hands each new digest to
// its pipeline. Deterministic: time comes from the workflow clock, jitter from its seeded random.

import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import type { RolloutRequestActivities } from '../activities/rollout/request.ts';
import type { WatchActivities } from '../activities/watch/check-images.ts';
import {
  checkNowMessage,
  configureMessage,
  handoverMessage,
  imageStateMessage,
  parseMessage,
} from './message-schemas.ts';
import { judge, lineageOfChange, lineageOfDeclaredBase } from './watch-lineage.ts';
import {
  type CheckNowHint,
  type CheckResult,
  checkNowSignal,
  configureSignal,
  type DigestRecord,
  type ImageState,
  type RegistryBudget,
  rolloutWorkflowId,
  stopSignal,
  type Trigger,
  type WatchedImage,
  type WatchInput,
  watchImagesQuery,
  watchStatusQuery,
} from './watch-messages.ts';
import { pacedIntervalMs } from './watch-pacing.ts';
import { boundedText, platformsKept, previousKept } from './watch-state-bounds.ts';

// The heartbeat finds a lost worker; start-to-close only bounds a cycle that never ends. Parts of
// one registry's group share its concurrency limit, so each part's cycle lasts about as long as
// the registry takes for all of them: a first check of 5,000 images is several minutes.
const { checkImages } = proxyActivities<WatchActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  // A failing registry is reported per image inside the result; these retries cover the worker.
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 3 },
});

// Handing a digest to its pipeline must not be lost, nor hold up the group's polling: a bounded
// retry here, and a hand-off that still fails is retried with the image's next cycle.
const handoffConfigErrors = ['UnknownPipeline', 'PipelineOwnedElsewhere'];
const { requestRollout } = proxyActivities<RolloutRequestActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '10 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: handoffConfigErrors,
  },
});

const rolloutsThroughPipeline = 'rollouts-through-pipeline';
/** Checks wait longer than the interval when the registry's request budget would not last. */
const pacedByRegistryBudget = 'paced-by-registry-budget';
const jitterFraction = 0.1;
const ignoredKept = 20;

export async function watchWorkflow(input: WatchInput): Promise<void> {
  const batchWindowMs = input.batchWindowMs ?? 5_000;
  const maxHistoryEvents = input.maxHistoryEvents ?? 2_000;
  let images = input.images;
  const state: Record<string, ImageState> = { ...(input.state ?? {}) };
  let cycles = input.cycles ?? 0;
  let stopped = false;
  /** Images a checkNow asked for, with whether a webhook asked. */
  const forced = new Map<string, Trigger>();
  let reconfigured = false;

  const ensureState = () => {
    const now = Date.now();
    for (const img of images) state[img.name] ??= { previous: [], nextDueAt: now };
    for (const name of Object.keys(state)) if (!images.some((i) => i.name === name)) delete state[name];
  };
  ensureState();

  const ignored: { message: string; reason: string; at: string }[] = [];
  /** A message that does not parse changes nothing; the newest few are kept for `watchStatus`. */
  const ignore = (message: string, reason: string) => {
    ignored.push({ message, reason, at: new Date(Date.now()).toISOString() });
    if (ignored.length > ignoredKept) ignored.splice(0, ignored.length - ignoredKept);
    log.warn('message ignored', { message, reason });
  };

  setHandler(watchStatusQuery, () => ({
    group: input.group,
    images: images.map((image) => ({ image, state: state[image.name] ?? { previous: [], nextDueAt: 0 } })),
    cycles,
    ...(ignored.length > 0 ? { ignored } : {}),
  }));
  setHandler(checkNowSignal, (message?: CheckNowHint) => {
    const parsed = parseMessage(checkNowMessage, message);
    if (!parsed.ok) return ignore('checkNow', parsed.reason);
    const hint = parsed.value ?? undefined;
    const repositories = hint?.repositories ?? (hint?.repository ? [hint.repository] : undefined);
    for (const img of images) {
      if (repositories && !repositories.includes(img.repository)) continue;
      if (hint?.tag && 'tag' in img.track && img.track.tag !== hint.tag) continue;
      forced.set(img.name, hint?.source ? 'webhook' : 'manual');
    }
  });
  setHandler(watchImagesQuery, () => images.map((img) => img.name));
  setHandler(configureSignal, (message: WatchedImage[], handover?: Record<string, ImageState>) => {
    const parsed = parseMessage(configureMessage, message);
    if (!parsed.ok) return ignore('configure', parsed.reason);
    const handed = handover === undefined ? undefined : parseMessage(handoverMessage, handover);
    if (handed && !handed.ok) return ignore('configure', `handover: ${handed.reason}`);
    images = message;
    // What this watch has checked itself is newer than what another part knew when it was asked.
    for (const [name, offered] of Object.entries(handed?.value ?? {})) {
      if (state[name]?.lastCheckAt !== undefined || !images.some((img) => img.name === name)) continue;
      const one = parseMessage(imageStateMessage, offered);
      if (one.ok) state[name] = one.value;
      else ignore('configure', `handover of ${name}: ${one.reason}`);
    }
    reconfigured = true;
    ensureState();
  });
  setHandler(stopSignal, () => {
    stopped = true;
  });

  while (!stopped) {
    const now = Date.now();
    // The window never exceeds a quarter of the shortest interval, or short intervals would be
    // checked again right after their own check.
    const window = Math.min(batchWindowMs, ...images.map((img) => img.intervalMs / 4));
    const due = images.filter(
      (img) => forced.has(img.name) || (state[img.name]?.nextDueAt ?? 0) <= now + window,
    );
    if (due.length === 0) {
      const next = Math.min(...images.map((img) => state[img.name]?.nextDueAt ?? now));
      const wait = images.length === 0 ? undefined : Math.max(next - now, 1);
      reconfigured = false;
      if (wait === undefined) await condition(() => stopped || forced.size > 0 || reconfigured);
      else await condition(() => stopped || forced.size > 0 || reconfigured, wait);
      continue;
    }
    const triggers = new Map(due.map((img) => [img.name, forced.get(img.name) ?? ('poll' as Trigger)]));
    for (const img of due) forced.delete(img.name);

    const request = {
      group: input.group,
      requests: due.map((image) => {
        const s = state[image.name];
        return {
          image,
          ...(s?.latest ? { knownTag: s.latest.tag, knownDigest: s.latest.digest } : {}),
          // A base proven by layers is resolved as the declared base, not by its name.
          ...(s?.baseName && s.baseFrom !== 'layers' ? { baseName: s.baseName } : {}),
          ...(s?.baseLatestDigest && s.baseFrom !== 'layers' ? { knownBaseDigest: s.baseLatestDigest } : {}),
          ...(image.base && s?.baseBuilds?.[0] ? { knownDeclaredBaseDigest: s.baseBuilds[0].digest } : {}),
        };
      }),
    };
    // A cycle whose activity gives up (a worker lost, a registry that never answers) is recorded
    // as a failure of each image; the watch itself must outlive it and try again next interval.
    const result = await checkImages(request).catch(
      (err: unknown): CheckResult => ({
        changes: [],
        bases: [],
        failures: due.map((img) => ({
          name: img.name,
          error: `check failed: ${innermostMessage(err)}`,
        })),
      }),
    );
    cycles++;
    await applyResult(result, due, triggers);
    const long = workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxHistoryEvents;
    // A pending checkNow is not part of the carried state: check it first, then continue as new.
    if (long && forced.size === 0) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof watchWorkflow>({ ...input, images, state, cycles });
    }
  }

  async function applyResult(result: CheckResult, due: WatchedImage[], triggers: Map<string, Trigger>) {
    const now = Date.now();
    const at = new Date(now).toISOString();
    const failed = new Map(result.failures.map((f) => [f.name, f]));
    // One jitter per cycle, not per image: images with the same interval stay in step and keep
    // sharing a cycle, while separate watches drift apart and spread the load on registries.
    const jitter = 1 + (Math.random() * 2 - 1) * jitterFraction;
    const budgets = new Map((result.budgets ?? []).map((b) => [b.registry, b]));
    for (const img of due) {
      const s = state[img.name];
      if (!s) continue;
      s.lastCheckAt = at;
      const failure = failed.get(img.name);
      if (failure === undefined) {
        s.lastSuccessAt = at;
        delete s.lastError;
        delete s.lastErrorReason;
      } else {
        s.lastError = boundedText(failure.error);
        if (failure.reason) s.lastErrorReason = failure.reason;
        else delete s.lastErrorReason;
      }
      s.nextDueAt = now + Math.round(intervalFor(img, s, budgets) * jitter);
    }
    // Before the changes, so an image rebuilt on a base rebuilt in the same cycle is proven.
    for (const update of result.declaredBases ?? []) {
      for (const img of due) {
        const s = state[img.name];
        if (s && img.base?.image === update.image && img.platform === update.platform)
          lineageOfDeclaredBase(s, img, update, at);
      }
    }
    for (const change of result.changes) {
      const s = state[change.name];
      const img = due.find((i) => i.name === change.name);
      if (!s || !img) continue;
      const isFirst = s.latest === undefined;
      if (s.latest)
        s.previous = [s.latest, ...s.previous.filter((p) => p.digest !== change.digest)].slice(
          0,
          previousKept,
        );
      s.latest = {
        tag: change.tag,
        digest: change.digest,
        firstSeenAt: at,
        ...(change.created ? { created: change.created } : {}),
        // Bounded again here: the activity result is the worker's word, the state is carried for ever.
        ...(change.platforms?.length ? { platforms: change.platforms.slice(0, platformsKept) } : {}),
      };
      lineageOfChange(s, img, change, at);
      // The first digest a new watch sees is the baseline, not a rebuild to roll out.
      if (isFirst || !img.pipeline) continue;
      await startRollout(img, s, triggers.get(img.name) ?? 'poll');
    }
    // Hand-offs that failed in an earlier cycle: the digest is still the one to roll out.
    const changed = new Set(result.changes.map((c) => c.name));
    for (const img of due) {
      const s = state[img.name];
      if (s?.handoffPending && !changed.has(img.name)) await startRollout(img, s, s.handoffPending);
    }
    // After the changes, so a base first named by this cycle's change is matched too.
    for (const base of result.bases) {
      for (const img of due) {
        const s = state[img.name];
        if (!s || s.baseName !== base.name || s.baseFrom === 'layers') continue;
        s.baseLatestDigest = base.latestDigest;
        judge(s, at);
      }
    }
  }

  /**
   * The configured interval, or a longer one when the registry's budget would not last its
   * window at that pace. A checkNow (a webhook, a person) is never held back by it.
   */
  function intervalFor(img: WatchedImage, s: ImageState, budgets: ReadonlyMap<string, RegistryBudget>) {
    delete s.slowedDown;
    const budget = budgets.get(img.registry);
    if (!budget) return img.intervalMs;
    const sharing = images.filter((i) => i.registry === img.registry).length;
    const paced = pacedIntervalMs(img.intervalMs, budget, Math.max(budget.images, sharing));
    if (paced <= img.intervalMs || !patched(pacedByRegistryBudget)) return img.intervalMs;
    s.slowedDown = {
      intervalMs: paced,
      remaining: budget.remaining,
      windowSeconds: budget.resetSeconds ?? budget.windowSeconds ?? 0,
    };
    return paced;
  }

  async function startRollout(img: WatchedImage, s: ImageState, trigger: Trigger) {
    const latest = s.latest;
    if (!latest || !img.pipeline) return;
    if (!patched(rolloutsThroughPipeline)) {
      await startLegacyRollout(img, latest, trigger);
      return;
    }
    let rolloutId: string;
    try {
      ({ rolloutId } = await requestRollout({
        pipeline: img.pipeline,
        image: img.name,
        registry: img.registry,
        repository: img.repository,
        tag: latest.tag,
        digest: latest.digest,
        trigger,
        detectedAt: latest.firstSeenAt,
        ...(latest.created ? { created: latest.created } : {}),
      }));
    } catch (err) {
      // The watch goes on either way: a config error is reported, anything else is retried next cycle.
      const configError = handoffConfigErrors.includes(failureType(err) ?? '');
      s.lastError = boundedText(
        `requesting a rollout of ${latest.digest}: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}${configError ? '' : ' (tried again with the next check)'}`,
      );
      if (configError) delete s.handoffPending;
      else s.handoffPending = trigger;
      log.warn('rollout request failed', { image: img.name, error: s.lastError });
      return;
    }
    delete s.handoffPending;
    log.info('rollout requested', { rolloutId, image: img.name, digest: latest.digest, trigger });
  }
}

/**
 * Watches recorded before rollouts went through the pipeline workflow started the rollout as a
 * child; their histories replay through this path (see the rolloutsThroughPipeline patch).
 */
async function startLegacyRollout(img: WatchedImage, latest: DigestRecord, trigger: Trigger) {
  const pipeline = img.pipeline ?? '';
  try {
    await startChild('rolloutWorkflow', {
      workflowId: rolloutWorkflowId(pipeline, img.name, latest.digest),
      args: [{ pipeline, image: img.name, digest: latest.digest, tag: latest.tag, trigger }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      staticSummary: `${img.repository}:${latest.tag} → ${pipeline}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** An activity failure's own message is generic ("Activity task timed out"); its causes say why. */
function innermostMessage(err: unknown): string {
  const messages: string[] = [];
  let e: unknown = err;
  while (e instanceof Error) {
    if (e.message) messages.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  return messages.length > 0 ? messages.join(': ') : String(err);
}
