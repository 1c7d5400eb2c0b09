// A watch runs for months: it continues as new when its history passes maxHistoryEvents, and
// what it knows (the latest digest and when it was first seen) must survive every new run, or a
// restart would re-date digests and roll the baseline out again.

import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { reconcileWatches } from '../../worker/watches.ts';
import { pipelineWorkflowId, type RolloutInput } from '../../workflows/rollout-messages.ts';
import {
  type DigestRecord,
  rolloutWorkflowId,
  type WatchInput,
  watchStatusQuery,
  watchWorkflowId,
} from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';

const stack = inject('stack');
const s = uniqueSuffix();
const group = `can-${s}`;
const image = `app-${s}`;
const pipeline = `can-${s}`;
const repository = `can-${s}/app`;
const maxHistoryEvents = 40;
const config = stackConfig(
  stack,
  `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries: [ { name: ${group}, url: "\${REGISTRY_URL}" } ]
clusters:
  local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet }
images:
  - { name: ${image}, registry: ${group}, repository: ${repository}, track: { tag: "1" }, pipeline: ${pipeline}, interval: 1s }
pipelines:
  ${pipeline}:
    stages:
      - { name: staging, cluster: local, targets: [ { namespace: can-${s}, deployment: app } ] }
`,
);
const workflowId = watchWorkflowId(config.temporal.instance, group);
let env: TestWorkflowEnvironment | undefined;
let client: Client;
let daemon: Daemon | undefined;
let firstRunId: string;
const rolloutIds: string[] = [];

const latest = async () =>
  (await client.workflow.getHandle(workflowId).query(watchStatusQuery)).images[0]?.state;

async function runIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) ids.push(wf.runId);
  return ids;
}

async function rolloutRequest(id: string) {
  const history = await client.workflow
    .getHandle(id)
    .fetchHistory()
    .catch(() => undefined);
  const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return undefined;
  return defaultPayloadConverter.fromPayload<RolloutInput>(
    payload as Parameters<typeof defaultPayloadConverter.fromPayload>[0],
  ).request;
}

describe('a watch that continues as new', () => {
  beforeAll(async () => {
    env = await connectTemporal(stack);
    client = env.client;
    await pushImage({
      registryUrl: stack.registry.url,
      repository,
      tag: '1',
      created: new Date('2026-11-01'),
    });
    // Started before the daemon, with the low limit; the daemon then only sends its images.
    const started = await reconcileWatches(client, config, { maxHistoryEvents, batchWindowMs: 100 });
    expect(started.started).toEqual([workflowId]);
    firstRunId = (await client.workflow.getHandle(workflowId).describe()).runId;
    daemon = await startTestDaemon(config, { freshnessIntervalMs: 60_000 });
    client = daemon.client;
  });
  afterAll(async () => {
    for (const id of [workflowId, pipelineWorkflowId(config.temporal.instance, pipeline), ...rolloutIds]) {
      await client?.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    }
    await daemon?.close();
    await env?.teardown();
  });

  it('keeps the latest digest and when it was first seen across runs, and detects a later push', async () => {
    const baseline = await waitFor('the baseline digest', async () => (await latest())?.latest, {
      intervalMs: 50,
    });

    // The first run ends by continuing as new soon after its history passes the limit.
    await waitFor(
      'the first continue-as-new',
      async () => (await client.workflow.getHandle(workflowId).describe()).runId !== firstRunId,
      { timeoutMs: 60_000 },
    );
    const firstHistory = await client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
    const events = firstHistory.events ?? [];
    const continued = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes;
    expect(continued).toBeTruthy();
    expect(events.length).toBeGreaterThan(maxHistoryEvents);
    // One cycle is about a dozen events: it did not run on to the server's own suggestion.
    expect(events.length).toBeLessThan(maxHistoryEvents + 30);
    const carried = defaultPayloadConverter.fromPayload<WatchInput>(
      continued?.input?.payloads?.[0] as Parameters<typeof defaultPayloadConverter.fromPayload>[0],
    );
    expect(carried).toMatchObject({ group, maxHistoryEvents, batchWindowMs: 100 });
    expect(carried.images.map((i) => i.name)).toEqual([image]);
    expect(carried.state?.[image]?.latest).toEqual(baseline);
    expect(continued?.newExecutionRunId).toBeTruthy();
    expect(continued?.newExecutionRunId).not.toBe(firstRunId);

    // The limit travels with the state: the next runs continue as new too.
    await waitFor('two more runs', async () => (await runIds()).length >= 3, { timeoutMs: 60_000 });
    const later = await latest();
    expect(later?.latest).toEqual(baseline);
    expect(later?.previous).toEqual([]);
    expect(later?.lastError).toBeUndefined();

    const rebuilt = await pushImage({ registryUrl: stack.registry.url, repository, tag: '1' });
    const detected = await waitFor(
      'the push after continue-as-new',
      async () => {
        const st = await latest();
        return st?.latest?.digest === rebuilt.digest ? st : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(detected.previous).toEqual<DigestRecord[]>([baseline]);
    expect(detected.latest?.firstSeenAt).not.toBe(baseline.firstSeenAt);
    expect((await client.workflow.getHandle(workflowId).describe()).runId).not.toBe(firstRunId);

    // The rebuild is rolled out once; the baseline, carried through every run, never is.
    const rolloutId = rolloutWorkflowId(pipeline, image, rebuilt.digest, config.temporal.instance);
    rolloutIds.push(rolloutId);
    const request = await waitFor('the rollout of the rebuild', () => rolloutRequest(rolloutId), {
      timeoutMs: 30_000,
    });
    expect(request).toMatchObject({ digest: rebuilt.digest, trigger: 'poll' });
    expect(request.detectedAt).toBe(detected.latest?.firstSeenAt);
    const baselineRollouts = [];
    for await (const wf of client.workflow.list({
      query: `WorkflowId = '${rolloutWorkflowId(pipeline, image, baseline.digest, config.temporal.instance)}'`,
    }))
      baselineRollouts.push(wf);
    expect(baselineRollouts).toEqual([]);
  });
});
