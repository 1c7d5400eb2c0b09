// One webhook request yields at most one checkNow per watch group, however many pushes it
// reports: a 540 KB Quay payload listing 60,000 tags, and a Distribution envelope of hundreds of
// events over several repositories, each land as a single signal in each concerned watch's
// history. A real daemon, the stack's registry and Temporal.
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Daemon } from '../../worker/daemon.ts';
import { type CheckNowHint, watchStatusQuery, watchWorkflowId } from '../../workflows/watch-messages.ts';
import { stackConfig, startTestDaemon, uniqueSuffix } from '../support/daemon.ts';
import { pushImage } from '../support/image-pusher.ts';
import { connectTemporal } from '../support/temporal.ts';
import { waitFor } from '../support/wait.ts';
import { sendWebhook, webhookRequest } from '../support/webhook-requests.ts';
import { distributionEnvelope, distributionEvent, quayPush } from '../unit/webhooks/payloads.ts';

const stack = inject('stack');
const s = uniqueSuffix();
const quayToken = `quay-${randomBytes(12).toString('hex')}`;
const distributionToken = `dist-${randomBytes(12).toString('hex')}`;
const quayEnv = `FRESHET_TEST_FANOUT_QUAY_${s}`;
const distributionEnv = `FRESHET_TEST_FANOUT_DIST_${s}`;
/** Two repositories in one group, one in another. */
const repositories = { a1: `fanout-${s}/a1`, a2: `fanout-${s}/a2`, b1: `fanout-${s}/b1` };
const groupA = `fanout-a-${s}`;
const groupB = `fanout-b-${s}`;
let daemon: Daemon;
let registryHost: string;

function configYaml(): string {
  return `
temporal: { address: "\${TEMPORAL_ADDRESS}", taskQueue: "\${TASK_QUEUE}" }
registries:
  - { name: fan-q-${s}, url: "\${REGISTRY_URL}", webhook: { source: quay, tokenEnv: ${quayEnv} } }
  - { name: fan-d-${s}, url: "\${REGISTRY_URL}", webhook: { source: distribution, tokenEnv: ${distributionEnv} } }
clusters:
  local: { kubeconfig: "\${KUBECONFIG_PATH}", context: freshet }
images:
  - { name: a1-${s}, registry: fan-q-${s}, repository: ${repositories.a1}, track: { semver: "^1" }, interval: 1h, watchGroup: ${groupA} }
  - { name: a2-${s}, registry: fan-d-${s}, repository: ${repositories.a2}, track: { semver: "^1" }, interval: 1h, watchGroup: ${groupA} }
  - { name: b1-${s}, registry: fan-d-${s}, repository: ${repositories.b1}, track: { tag: "1.0.0" }, interval: 1h, watchGroup: ${groupB} }
`;
}

/** The checkNow signals in a watch's history, with what each asked for. */
async function checkNows(group: string): Promise<(CheckNowHint | undefined)[]> {
  const history = await daemon.client.workflow
    .getHandle(watchWorkflowId(daemon.instance, group))
    .fetchHistory();
  return (history.events ?? [])
    .map((e) => e.workflowExecutionSignaledEventAttributes)
    .filter((a) => a?.signalName === 'checkNow')
    .map((a) => {
      const payload = a?.input?.payloads?.[0];
      return payload
        ? defaultPayloadConverter.fromPayload<CheckNowHint>(
            payload as Parameters<typeof defaultPayloadConverter.fromPayload>[0],
          )
        : undefined;
    });
}

describe('one webhook request, one checkNow per watch group', () => {
  beforeAll(async () => {
    await connectTemporal(stack);
    registryHost = new URL(stack.registry.url).host;
    process.env[quayEnv] = quayToken;
    process.env[distributionEnv] = distributionToken;
    for (const repository of Object.values(repositories))
      await pushImage({ registryUrl: stack.registry.url, repository, tag: '1.0.0' });
    daemon = await startTestDaemon(stackConfig(stack, configYaml()), { freshnessIntervalMs: 60_000 });
    for (const group of [groupA, groupB]) {
      await waitFor(`the first check of ${group}`, async () => {
        const status = await daemon.client.workflow
          .getHandle(watchWorkflowId(daemon.instance, group))
          .query(watchStatusQuery);
        return status.images.every((i) => i.state.latest) ? status : undefined;
      });
    }
  });

  afterAll(async () => {
    for (const group of [groupA, groupB])
      await daemon?.client.workflow
        .getHandle(watchWorkflowId(daemon.instance, group))
        .terminate('test over')
        .catch(() => undefined);
    await daemon?.close();
    delete process.env[quayEnv];
    delete process.env[distributionEnv];
  });

  it('a Quay payload of 60,000 tags signals its group once, naming the repository', async () => {
    const tags = Array.from({ length: 60_000 }, (_, i) => `1.${i}.0`);
    const body = JSON.stringify({
      ...quayPush,
      repository: repositories.a1,
      namespace: `fanout-${s}`,
      name: 'a1',
      docker_url: `${registryHost}/${repositories.a1}`,
      updated_tags: tags,
    });
    expect(Buffer.byteLength(body)).toBeGreaterThan(500_000);
    const [beforeA, beforeB] = [await checkNows(groupA), await checkNows(groupB)];

    const answer = await sendWebhook(daemon.url, webhookRequest('quay', body, quayToken));
    expect(answer).toEqual({ status: 202, body: { status: 'accepted', hints: 60_000 } });

    // Signals are sent before the answer, so the histories are final once it arrives.
    expect((await checkNows(groupA)).slice(beforeA.length)).toEqual([
      { source: 'quay', repository: repositories.a1 },
    ]);
    expect(await checkNows(groupB)).toEqual(beforeB);
  });

  it('a Distribution envelope of many pushes over several repositories signals each group once', async () => {
    const events = Object.values(repositories).flatMap((repository) =>
      Array.from({ length: 100 }, (_, i) =>
        distributionEvent({ repository, tag: i === 0 ? '1.0.0' : `1.0.${i}`, host: registryHost }),
      ),
    );
    const body = JSON.stringify(distributionEnvelope(...events));
    const [beforeA, beforeB] = [await checkNows(groupA), await checkNows(groupB)];

    const answer = await sendWebhook(daemon.url, webhookRequest('distribution', body, distributionToken));
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ status: 'accepted' });

    // Group A follows two of the repositories: one signal that names both.
    expect((await checkNows(groupA)).slice(beforeA.length)).toEqual([
      { source: 'distribution', repositories: [repositories.a1, repositories.a2] },
    ]);
    // Group B follows tag 1.0.0 of one repository: one signal for just that.
    expect((await checkNows(groupB)).slice(beforeB.length)).toEqual([
      { source: 'distribution', repository: repositories.b1, tag: '1.0.0' },
    ]);
  });
});
