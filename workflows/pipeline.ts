// One pipeline workflow per pipeline runs that pipeline's rollouts one at a time (invariant 5):
// a request for a newer digest either supersedes the running rollout at its next safe point or
// queues behind it, by the pipeline's onNewerDigest policy. Only the newest waiting request is
// kept: rolling out a digest that is already outdated would be wasted work. The workflow ends
// when nothing runs or waits; the next request starts it again (signal-with-start).
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/common';
import {
  allHandlersFinished,
  type ChildWorkflowHandle,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { parseMessage, rolloutRequestMessage } from './message-schemas.ts';
import { rolloutWorkflow } from './rollout.ts';
import { rolloutStaticDetails, rolloutSummary } from './rollout-details.ts';
import {
  type PipelineInput,
  type PipelineRequest,
  pipelineStatusQuery,
  requestRolloutSignal,
  rolloutWorkflowId,
  searchAttributeNames,
  supersedeSignal,
} from './rollout-messages.ts';

const recentKept = 50;
const ignoredKept = 20;
const maxHistoryEvents = 5_000;

const pipelineKey = defineSearchAttributeKey(searchAttributeNames.pipeline, SearchAttributeType.KEYWORD);
const imageKey = defineSearchAttributeKey(searchAttributeNames.image, SearchAttributeType.KEYWORD);
const phaseKey = defineSearchAttributeKey(searchAttributeNames.phase, SearchAttributeType.KEYWORD);

const idOf = (r: PipelineRequest) => rolloutWorkflowId(r.request.pipeline, r.request.image, r.request.digest);
const brief = (r: PipelineRequest) => ({
  rolloutId: idOf(r),
  digest: r.request.digest,
  image: r.request.image,
});

export async function pipelineWorkflow(input: PipelineInput): Promise<void> {
  let pending: PipelineRequest[] = [...(input.pending ?? [])];
  const recent: string[] = [...(input.recent ?? [])];
  let current: { request: PipelineRequest; handle?: ChildWorkflowHandle<typeof rolloutWorkflow> } | undefined;
  const ignored: { message: string; reason: string; at: string }[] = [];

  /**
   * Tells the running rollout that a newer digest waits. The rollout may have closed a moment ago
   * (its completion and this request can arrive in one workflow task): then there is nothing to
   * stop, the request simply runs next, and the pipeline must not fail over it.
   */
  async function supersede(handle: ChildWorkflowHandle<typeof rolloutWorkflow>, newer: PipelineRequest) {
    try {
      await handle.signal(supersedeSignal, { rolloutId: idOf(newer), digest: newer.request.digest });
    } catch (err) {
      log.info('the running rollout could not be told to stop; it has ended', {
        rolloutId: handle.workflowId,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  setHandler(
    requestRolloutSignal,
    async (message) => {
      const parsed = parseMessage(rolloutRequestMessage, message);
      if (!parsed.ok) {
        ignored.push({
          message: 'requestRollout',
          reason: parsed.reason,
          at: new Date(Date.now()).toISOString(),
        });
        if (ignored.length > ignoredKept) ignored.splice(0, ignored.length - ignoredKept);
        log.warn('message ignored', { message: 'requestRollout', reason: parsed.reason });
        return;
      }
      // Checked, then passed on as sent: the rollout gets every field its sender gave.
      const req = message;
      const id = idOf(req);
      if (
        recent.includes(id) ||
        (current && idOf(current.request) === id) ||
        pending.some((p) => idOf(p) === id)
      ) {
        return;
      }
      // Requests for the same image: the newer digest replaces one still waiting.
      const dropped = pending.filter((p) => p.request.image === req.request.image);
      pending = [...pending.filter((p) => p.request.image !== req.request.image), req];
      for (const d of dropped) {
        log.info('waiting rollout replaced by a newer digest', { dropped: idOf(d), by: id });
        remember(idOf(d));
      }
      if (current?.handle && req.spec.onNewerDigest === 'supersede') await supersede(current.handle, req);
    },
    { description: 'Run a rollout for a new digest (sent by the watch or `freshet rollout`)' },
  );
  setHandler(pipelineStatusQuery, () => ({
    pipeline: input.pipeline,
    ...(current ? { current: brief(current.request) } : {}),
    pending: pending.map(brief),
    recent,
    ...(ignored.length > 0 ? { ignored } : {}),
  }));

  function remember(id: string) {
    recent.push(id);
    if (recent.length > recentKept) recent.splice(0, recent.length - recentKept);
  }

  for (;;) {
    await condition(() => pending.length > 0, '1 minute');
    const next = pending.shift();
    if (!next) break;
    current = { request: next };
    const id = idOf(next);
    try {
      current.handle = await startChild(rolloutWorkflow, {
        workflowId: id,
        args: [next],
        // Cancelling the pipeline cancels its rollout, which rolls back its current stage.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: rolloutSummary(next.request),
        staticDetails: rolloutStaticDetails(
          next.request,
          next.spec.stages.map((s) => s.name),
        ),
        ...(next.searchAttributes
          ? {
              typedSearchAttributes: [
                { key: pipelineKey, value: next.request.pipeline },
                { key: imageKey, value: next.request.image },
                { key: phaseKey, value: 'planning' },
              ],
            }
          : {}),
      });
      // A newer request may have arrived while the start was in flight.
      const newer = pending.find((p) => p.request.image === next.request.image);
      if (newer && next.spec.onNewerDigest === 'supersede') await supersede(current.handle, newer);
      const result = await current.handle.result().catch((err: unknown) => {
        log.warn('rollout ended without a result', { rolloutId: id, error: String(err) });
        return undefined;
      });
      log.info('rollout done', { rolloutId: id, outcome: result?.outcome });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      log.info('rollout already ran', { rolloutId: id });
    }
    remember(id);
    current = undefined;
    if (workflowInfo().historyLength > maxHistoryEvents || workflowInfo().continueAsNewSuggested) {
      // A request still being handled would be lost with this run.
      await condition(allHandlersFinished);
      await continueAsNew<typeof pipelineWorkflow>({ pipeline: input.pipeline, pending, recent });
    }
  }
}
