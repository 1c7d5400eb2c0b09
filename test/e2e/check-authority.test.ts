// The worker's config is the authority for health checks: anyone who can start a workflow in the
// namespace can hand rolloutWorkflow any check spec, but the daemon's health activity runs only
// checks its own config has. A rollout started by hand with the configured check's name pointed
// at another URL never reaches that URL: the check is refused (non-retryable, CheckNotInConfig),
// counts as failed, and the canary is rolled back.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pipelineSpec, registryHost } from '../../activities/rollout/pipeline-spec.ts';
import type { RolloutInput, RolloutResult } from '../../workflows/rollout-messages.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';

const stack = inject('stack');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('health checks: the daemon runs only the checks its config has', () => {
  let fx: RolloutFixture;
  let configured: Server;
  let rogue: Server;
  let rogueUrl = '';
  const requests = { configured: 0, rogue: 0 };

  beforeAll(async () => {
    configured = createServer((_req, res) => {
      requests.configured++;
      res.writeHead(200).end('ok');
    });
    rogue = createServer((_req, res) => {
      requests.rogue++;
      res.writeHead(200).end('ok');
    });
    const healthUrl = await listen(configured);
    rogueUrl = await listen(rogue);
    fx = await createRolloutFixture(stack, {
      stagingHealth: `{ rolloutTimeout: 60s, checks: [ { name: app-up, http: { url: "${healthUrl}/healthz" } } ] }`,
    });
  });
  afterAll(async () => {
    await fx?.close();
    await new Promise((resolve) => configured?.close(resolve));
    await new Promise((resolve) => rogue?.close(resolve));
  });

  it('refuses a check URL the config does not have, and rolls the canary back', async () => {
    const rebuilt = await fx.push();
    const pipeline = fx.config.pipelines[fx.pipeline];
    if (!pipeline) throw new Error('the fixture has no pipeline');
    const spec = pipelineSpec(fx.pipeline, pipeline);
    const staging = spec.stages[0];
    const check = staging?.checks[0];
    if (check?.kind !== 'http') throw new Error('the fixture has no http check');
    check.http.url = `${rogueUrl}/steal`;
    const input: RolloutInput = {
      request: {
        pipeline: fx.pipeline,
        image: fx.image,
        registry: `reg-${fx.suffix}`,
        registryHost: registryHost(fx.config, `reg-${fx.suffix}`),
        repository: fx.repository,
        tag: rebuilt.tag,
        digest: rebuilt.digest,
        trigger: 'manual',
        detectedAt: new Date().toISOString(),
      },
      spec,
    };
    const handle = await fx.client.workflow.start('rolloutWorkflow', {
      workflowId: `freshet-rollout-by-hand-${fx.suffix}`,
      taskQueue: fx.config.temporal.taskQueue,
      args: [input],
    });
    const result = (await handle.result()) as RolloutResult;

    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toContain(
      `check "app-up" failed after wave 1/2: could not run: check "app-up" (pipeline ${fx.pipeline}, stage staging): ` +
        `GET ${rogueUrl}/steal is not a check in this Freshet's config`,
    );
    expect(requests.rogue).toBe(0);
    expect(Object.values(await fx.images(fx.staging))).toEqual(
      fx.deployments.map(() => fx.baseline.reference),
    );
    // Refused at once, not retried: one scheduled health activity, failed, for the whole stage.
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runHealthCheck',
    );
    expect(scheduled).toHaveLength(1);
    const failed = events.find(
      (e) =>
        e.activityTaskFailedEventAttributes &&
        String(e.activityTaskFailedEventAttributes.scheduledEventId) === String(scheduled[0]?.eventId),
    )?.activityTaskFailedEventAttributes;
    expect(failed?.failure?.applicationFailureInfo).toMatchObject({
      type: 'CheckNotInConfig',
      nonRetryable: true,
    });
    const started = events.find(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(scheduled[0]?.eventId),
    );
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(1);
  });
});
