// Webhooks end to end, for each of the five sources: a real daemon with one registry per source
// (each with `webhook: { source, tokenEnv }`) and images polled only once an hour, so a check
// can only come from a webhook. A push the webhook reports is checked at once and rolled out
// once; a replay of the same request only costs one more HEAD; wrong credentials, malformed
// JSON, oversize bodies and unwatched repositories are answered without signalling any watch.
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import type { WebhookSource } from '../../worker/webhooks/index.ts';
import { pipelineWorkflowId, type RolloutInput } from '../../workflows/rollout-messages.ts';
import {
  rolloutWorkflowId,
  type WatchStatus,
  watchStatusQuery,
  watchWorkflowId,
} from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { resolveLocally } from '../support/local-dns.ts';
import { startTestRegistry, type TestRegistry } from '../support/registry-process.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';
import {
  pushPayload,
  type ReportedPush,
  sendWebhook,
  type WebhookRequest,
  webhookRequest,
} from '../support/webhook-requests.ts';

const stack = inject('stack');
const s = uniqueSuffix();
const tag = '2.0';
const oneMiB = 1024 * 1024;
/** How soon a webhook must lead to a check; the poll interval is an hour. */
const promptMs = 10_000;
/** A well-formed digest for requests that must be refused before any check. */
const someDigest = `sha256:${createHash('sha256').update(`never pushed ${s}`).digest('hex')}`;

interface SourceCase {
  source: WebhookSource;
  index: number;
  registry: string;
  repository: string;
  image: string;
  pipeline: string;
  tokenEnv: string;
  secret: string;
}

const sources: WebhookSource[] = ['distribution', 'dockerhub', 'harbor', 'quay', 'ghcr'];
const cases: SourceCase[] = sources.map((source, index) => ({
  source,
  index,
  registry: `hook-${source}-${s}`,
  repository: `hook-${s}/${source}`,
  image: `${source}-${s}`,
  pipeline: `p-${source}-${s}`,
  tokenEnv: `FRESHET_TEST_${source.toUpperCase()}_TOKEN_${s}`,
  secret: `${source}-${randomBytes(12).toString('hex')}`,
}));

let registry: TestRegistry;
let daemon: Daemon;
let restoreDns: (() => void) | undefined;
/** What each source's positive test pushed and sent, for its replay. */
const delivered = new Map<WebhookSource, { digest: string; request: WebhookRequest; rolloutId: string }>();

/** GHCR's webhooks always name ghcr.io: its registry is configured under that name (see local-dns.ts). */
const registryUrlOf = (c: SourceCase) =>
  c.source === 'ghcr' ? `http://ghcr.io:${new URL(registry.url).port}` : registry.url;

function configYaml(): string {
  const registries = cases
    .map(
      (c) =>
        `  - { name: ${c.registry}, url: "${registryUrlOf(c)}", webhook: { source: ${c.source}, tokenEnv: ${c.tokenEnv} } }`,
    )
    .join('\n');
  const images = cases
    .map(
      (c) =>
        `  - { name: ${c.image}, registry: ${c.registry}, repository: ${c.repository}, track: { tag: "${tag}" }, pipeline: ${c.pipeline}, interval: 1h }`,
    )
    .join('\n');
  const pipelines = cases
    .map(
      (c) =>
        `  ${c.pipeline}:\n    stages:\n      - { name: staging, cluster: local, targets: [ { namespace: hook-${s}, deployment: ${c.source} } ] }`,
    )
    .join('\n');
  return `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries:
${registries}
clusters:
  local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet }
images:
${images}
pipelines:
${pipelines}
`;
}

const watchOf = (c: SourceCase) =>
  daemon.client.workflow.getHandle(watchWorkflowId(daemon.instance, c.registry));
const statusOf = (c: SourceCase): Promise<WatchStatus> => watchOf(c).query(watchStatusQuery);

/** WorkflowExecutionSignaled events in every watch's history, in the order of `cases`. */
async function signalCounts(): Promise<number[]> {
  return Promise.all(
    cases.map(async (c) => {
      const history = await watchOf(c).fetchHistory();
      return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    }),
  );
}

/** Sends a request that must be refused or ignored, and checks that no watch was signalled. */
async function sendWithoutSignal(request: WebhookRequest) {
  const before = await signalCounts();
  const answer = await sendWebhook(daemon.url, request);
  // Signals are sent before the answer, so the histories are final once it arrives.
  expect(await signalCounts()).toEqual(before);
  return answer;
}

/** The request the rollout workflow was started with, once it exists. */
async function rolloutRequest(workflowId: string) {
  const history = await daemon.client.workflow
    .getHandle(workflowId)
    .fetchHistory()
    .catch(() => undefined);
  const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return undefined;
  return defaultPayloadConverter.fromPayload<RolloutInput>(
    payload as Parameters<typeof defaultPayloadConverter.fromPayload>[0],
  ).request;
}

async function executionsOf(workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of daemon.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
}

function reported(c: SourceCase, digest: string, repository = c.repository): ReportedPush {
  return { repository, tag, digest, registryHost: new URL(registryUrlOf(c)).host };
}

const validBody = (c: SourceCase, digest: string, repository?: string) =>
  JSON.stringify(pushPayload(c.source, reported(c, digest, repository)));

describe('webhooks into a running daemon', () => {
  beforeAll(async () => {
    await connectTemporal(stack);
    registry = await startTestRegistry();
    restoreDns = resolveLocally(['ghcr.io']);
    for (const c of cases) {
      process.env[c.tokenEnv] = c.secret;
      await pushImage({
        registryUrl: registry.url,
        repository: c.repository,
        tag,
        created: new Date('2026-11-01T00:00:00Z'),
      });
    }
    daemon = await startTestDaemon(stackConfig(stack, configYaml()), { freshnessIntervalMs: 60_000 });
    for (const c of cases) {
      await waitFor(
        `the baseline digest of ${c.image}`,
        async () => (await statusOf(c)).images[0]?.state.latest,
      );
    }
  });

  afterAll(async () => {
    const client = daemon?.client;
    if (client) {
      const ids = [
        ...cases.map((c) => watchWorkflowId(daemon.instance, c.registry)),
        ...cases.map((c) => pipelineWorkflowId(daemon.instance, c.pipeline)),
        ...[...delivered.values()].map((d) => d.rolloutId),
      ];
      for (const id of ids)
        await client.workflow
          .getHandle(id)
          .terminate('test over')
          .catch(() => undefined);
    }
    await daemon?.close();
    await registry?.remove();
    restoreDns?.();
    for (const c of cases) delete process.env[c.tokenEnv];
  });

  describe.each(cases)('from $source', (c) => {
    it('checks a reported push at once and starts one rollout for it, triggered by the webhook', async () => {
      const before = await statusOf(c);
      const baseline = before.images[0]?.state.latest;
      const counts = await signalCounts();
      const rebuilt = await pushImage({ registryUrl: registry.url, repository: c.repository, tag });
      expect(rebuilt.digest).not.toBe(baseline?.digest);

      const request = webhookRequest(c.source, validBody(c, rebuilt.digest), c.secret);
      const sentAt = Date.now();
      const answer = await sendWebhook(daemon.url, request);
      expect(answer).toEqual({ status: 202, body: { status: 'accepted', hints: 1 } });
      // Exactly this source's watch got exactly one signal.
      expect(await signalCounts()).toEqual(counts.map((n, i) => (i === c.index ? n + 1 : n)));

      const after = await waitFor(
        `${c.image} to record ${rebuilt.digest}`,
        async () => {
          const st = await statusOf(c);
          return st.images[0]?.state.latest?.digest === rebuilt.digest ? st : undefined;
        },
        { timeoutMs: promptMs, intervalMs: 100 },
      );
      expect(Date.now() - sentAt).toBeLessThan(promptMs);
      const state = after.images[0]?.state;
      expect(state?.latest?.tag).toBe(tag);
      expect(state?.previous[0]).toEqual(baseline);
      expect(state?.lastError).toBeUndefined();

      const rolloutId = rolloutWorkflowId(c.pipeline, c.image, rebuilt.digest, daemon.instance);
      delivered.set(c.source, { digest: rebuilt.digest, request, rolloutId });
      const started = await waitFor(`rollout ${rolloutId} to start`, () => rolloutRequest(rolloutId), {
        timeoutMs: 30_000,
      });
      expect(started).toMatchObject({
        digest: rebuilt.digest,
        tag,
        image: c.image,
        repository: c.repository,
        registryHost: new URL(registryUrlOf(c)).host,
        trigger: 'webhook',
        detectedAt: state?.latest?.firstSeenAt,
      });
    });

    it('answers a replay of the same request with one fresh HEAD and no second rollout', async () => {
      const first = delivered.get(c.source);
      if (!first) throw new Error(`the ${c.source} push test did not deliver a request to replay`);
      const before = await statusOf(c);
      const counts = await signalCounts();
      const logged = registry.requests().length;

      const answer = await sendWebhook(daemon.url, first.request);
      expect(answer).toEqual({ status: 202, body: { status: 'accepted', hints: 1 } });
      expect(await signalCounts()).toEqual(counts.map((n, i) => (i === c.index ? n + 1 : n)));

      const after = await waitFor(
        `the check caused by the replay`,
        async () => {
          const st = await statusOf(c);
          return st.cycles > before.cycles ? st : undefined;
        },
        { timeoutMs: promptMs, intervalMs: 100 },
      );
      expect(after.cycles).toBe(before.cycles + 1);
      const state = after.images[0]?.state;
      // Nothing changed: the same record (firstSeenAt included), only a newer check time.
      expect(state?.latest).toEqual(before.images[0]?.state.latest);
      expect(state?.previous).toEqual(before.images[0]?.state.previous);
      expect(state?.lastCheckAt).not.toBe(before.images[0]?.state.lastCheckAt);

      // The registry saw one HEAD with the known digest (304 Not Modified), and no GET.
      const requests = await waitFor('the replay check in the registry log', async () => {
        const r = registry.requests().slice(logged);
        return r.length > 0 ? r : undefined;
      });
      expect(requests).toEqual([
        { method: 'HEAD', path: `/v2/${c.repository}/manifests/${tag}`, status: 304 },
      ]);

      await sleep(1_000);
      expect(await executionsOf(first.rolloutId)).toBe(1);
      const rollouts = [];
      for await (const wf of daemon.client.workflow.list({
        query: `WorkflowId STARTS_WITH 'freshet-rollout-${c.pipeline}-'`,
      }))
        rollouts.push(wf.workflowId);
      expect(rollouts).toEqual([first.rolloutId]);
    });

    it('refuses wrong credentials with 401 and signals nothing', async () => {
      const request = webhookRequest(c.source, validBody(c, someDigest), `not-${c.secret}`);
      const answer = await sendWithoutSignal(request);
      expect(answer).toEqual({ status: 401, body: { error: 'missing or wrong credentials' } });
    });

    it('refuses malformed JSON with 400 and signals nothing', async () => {
      const body = validBody(c, someDigest);
      const answer = await sendWithoutSignal(
        webhookRequest(c.source, body.slice(0, body.length / 2), c.secret),
      );
      expect(answer).toEqual({ status: 400, body: { error: 'malformed JSON' } });
    });

    it('refuses a body over 1 MiB with 413 and signals nothing', async () => {
      // A valid, correctly authenticated payload, only too large: padding JSON allows.
      const body = validBody(c, someDigest).padEnd(oneMiB + 1, ' ');
      expect(Buffer.byteLength(body)).toBe(oneMiB + 1);
      expect(JSON.parse(body)).toBeTruthy();
      const answer = await sendWithoutSignal(webhookRequest(c.source, body, c.secret));
      expect(answer.status).toBe(413);
      expect(answer.body.error).toMatch(/^body larger than/);
    });

    it('accepts a push of an unwatched repository with 202, ignored, and signals nothing', async () => {
      const body = validBody(c, someDigest, `unknown-${s}/${c.source}`);
      const answer = await sendWithoutSignal(webhookRequest(c.source, body, c.secret));
      expect(answer).toEqual({
        status: 202,
        body: { status: 'ignored', hints: 1, reason: 'no watched image matches' },
      });
    });
  });
});
