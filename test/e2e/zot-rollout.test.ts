// A rebuild pushed to zot, the stack's strict OCI registry with basic auth from its own htpasswd,
// is found by the watch's poll and rolled out through staging and production.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rolloutWorkflowId } from '../../workflows/rollout-messages.ts';
import { createRolloutFixture, type RolloutFixture } from '../support/rollout-fixture.ts';

const stack = inject('stack');
let fx: RolloutFixture;

describe('a rebuild on zot', () => {
  beforeAll(async () => {
    process.env.FRESHET_TEST_ZOT_PASSWORD = stack.zot.password;
    fx = await createRolloutFixture(stack, {
      deployments: 1,
      replicas: 1,
      interval: '1s',
      registry: {
        url: stack.zot.url,
        auth: `{ type: basic, username: ${stack.zot.username}, passwordEnv: FRESHET_TEST_ZOT_PASSWORD }`,
        push: { username: stack.zot.username, password: stack.zot.password },
      },
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('is detected by polling zot with basic auth and rolled out through every stage', async () => {
    const rebuilt = await fx.push();
    expect(rebuilt.digest).not.toBe(fx.baseline.digest);
    const result = await fx.result(
      rolloutWorkflowId(fx.pipeline, fx.image, rebuilt.digest, fx.config.temporal.instance),
    );
    expect(result.outcome, result.reason).toBe('succeeded');
    expect(rebuilt.reference.startsWith(`${stack.zot.host}/`)).toBe(true);
    for (const namespace of [fx.staging, fx.production]) {
      expect(Object.values(await fx.images(namespace))).toEqual([rebuilt.reference]);
    }
  });
});
