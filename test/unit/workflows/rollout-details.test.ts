import { describe, expect, it } from 'vitest';
import {
  rolloutCurrentDetails,
  rolloutStaticDetails,
  rolloutSummary,
} from '../../../workflows/rollout-details.ts';
import type { RolloutRequest, RolloutStatus } from '../../../workflows/rollout-messages.ts';

const request: RolloutRequest = {
  pipeline: 'web',
  image: 'web',
  registry: 'local',
  registryHost: '127.0.0.1:5000',
  repository: 'acme/web',
  tag: '1.4',
  digest: `sha256:${'ab'.repeat(32)}`,
  trigger: 'webhook',
  detectedAt: '2026-11-29T10:00:00.000Z',
};

const status = (over: Partial<RolloutStatus> = {}): RolloutStatus => ({
  rolloutId: 'freshet-rollout-web-web-abab',
  pipeline: 'web',
  image: 'web',
  tag: '1.4',
  digest: request.digest,
  phase: 'rolling-out',
  paused: false,
  stage: 'staging',
  stageIndex: 0,
  stages: 2,
  targets: [],
  checks: [],
  decisions: [],
  refused: [],
  ...over,
});

describe('rollout summary and details', () => {
  it('summarises image, short digest and pipeline on one line within 200 bytes', () => {
    expect(rolloutSummary(request)).toBe('acme/web:1.4 @abababababab → web');
    const long = rolloutSummary({ ...request, repository: `acme/${'x'.repeat(300)}` });
    expect(long.length).toBe(200);
    expect(long.endsWith('...')).toBe(true);
  });

  it('puts the full digest, the stages and the trigger in the static details', () => {
    const text = rolloutStaticDetails(request, ['staging', 'production']);
    expect(text).toContain(`**Digest** \`${request.digest}\``);
    expect(text).toContain('staging → production');
    expect(text).toContain('webhook, detected 2026-11-29T10:00:00.000Z');
  });

  it('says how to approve while an approval waits', () => {
    const text = rolloutCurrentDetails(
      status({
        phase: 'awaiting-approval',
        stage: 'production',
        stageIndex: 1,
        approval: {
          stage: 'production',
          since: 'a',
          deadline: '2026-11-30T10:00:00.000Z',
          approvers: ['alice'],
        },
      }),
    );
    expect(text).toContain('Stage 2 of 2: **production**');
    expect(text).toContain(
      '**Waiting for approval** of stage **production** until 2026-11-30T10:00:00.000Z. Approvers: alice.',
    );
    expect(text).toContain('Signal `approve` with `{"by": "your-name", "comment": "why"}`');
    expect(text).toContain('freshet approve freshet-rollout-web-web-abab --by your-name');
  });

  it('shows plan warnings, such as a GitOps owner, and a reverted target', () => {
    const text = rolloutCurrentDetails(
      status({
        outcome: 'reverted',
        warnings: ['stage staging: stg/web is managed by Argo CD (Application shop, …)'],
      }),
    );
    expect(text).toContain('### Finished: reverted');
    expect(text).toContain('**Warning** stage staging: stg/web is managed by Argo CD (Application shop, …)');
    expect(rolloutCurrentDetails(status({}))).not.toContain('**Warning**');
  });

  it('tells the UI user that a stage with requireSignature takes signed decisions only', () => {
    const text = rolloutCurrentDetails(
      status({
        phase: 'awaiting-approval',
        stage: 'production',
        stageIndex: 1,
        approval: { stage: 'production', since: 'a', deadline: 'b', approvers: ['alice'], signedOnly: true },
      }),
    );
    expect(text).toContain('This stage takes **signed decisions only**');
    expect(text).toContain(
      'freshet approve freshet-rollout-web-web-abab --by your-name --key your-private-key',
    );
    expect(text).not.toContain('send the Signal `approve`');
  });

  it('lists targets and failing checks, and escapes table separators', () => {
    const text = rolloutCurrentDetails(
      status({
        wave: { index: 0, total: 2 },
        targets: [
          {
            stage: 'staging',
            cluster: 'c',
            namespace: 'web',
            deployment: 'api',
            container: 'api',
            state: 'failed',
            previousImage: 'a',
            image: 'b',
            detail: 'not ready | ImagePullBackOff',
          },
        ],
        checks: [
          { name: 'up', kind: 'http', ok: true, detail: 'ok', at: 'x' },
          { name: 'errors', kind: 'prometheus', ok: false, detail: 'rate = 0.2 > max 0.01', at: 'x' },
        ],
      }),
    );
    expect(text).toContain(', wave 1 of 2');
    expect(text).toContain('| staging | web/api | failed | not ready / ImagePullBackOff |');
    expect(text).toContain('Checks: 1/2 passing — failing: errors (rate = 0.2 > max 0.01)');
    expect(text).not.toContain('Waiting for approval');
  });

  it('names a workload of another kind as kubectl does, a Deployment by its name', () => {
    const target = {
      stage: 'staging',
      cluster: 'c',
      namespace: 'shop',
      container: 'app',
      state: 'updating' as const,
      previousImage: 'a',
      image: 'b',
    };
    const text = rolloutCurrentDetails(
      status({
        targets: [
          { ...target, kind: 'StatefulSet', deployment: 'db' },
          { ...target, kind: 'CronJob', deployment: 'report' },
          { ...target, deployment: 'web' },
        ],
        rollbackStuck: [
          { namespace: 'shop', kind: 'DaemonSet', deployment: 'agent', since: 'x', error: '403 Forbidden' },
        ],
      }),
    );
    expect(text).toContain('| staging | shop/statefulset/db | updating |');
    expect(text).toContain('| staging | shop/cronjob/report | updating |');
    expect(text).toContain('| staging | shop/web | updating |');
    expect(text).toContain('(shop/daemonset/agent: 403 Forbidden)');
  });

  it('shows a freeze: who, since, until and why, whether held yet, and how to lift it', () => {
    const freeze = {
      scope: 'pipeline' as const,
      reason: 'release week',
      by: 'lead',
      since: '2026-12-01T08:00:00.000Z',
      until: '2026-12-08T08:00:00.000Z',
    };
    const coming = rolloutCurrentDetails(status({ freeze }));
    expect(coming).toContain(
      '**Frozen** (pipeline web) by lead since 2026-12-01T08:00:00.000Z until 2026-12-08T08:00:00.000Z: release week',
    );
    expect(coming).toContain('Stops at its next safe point (after the running wave and its checks)');
    const held = rolloutCurrentDetails(status({ freeze, phase: 'frozen' }));
    expect(held).toContain('### Phase: frozen');
    expect(held).toContain('Held at a safe point; no wave starts until the freeze is lifted');
    expect(held).toContain('`freshet unfreeze --pipeline web`');
    expect(rolloutCurrentDetails(status({ freeze: { ...freeze, scope: 'all' } }))).toContain(
      '**Frozen** (every pipeline) by lead',
    );
  });

  it('shows the change window a rollout waits for', () => {
    const text = rolloutCurrentDetails(
      status({
        phase: 'waiting-for-window',
        window: { opensAt: '2026-12-07T08:00:00.000Z', windows: ['mon,tue 09:00-17:00 Europe/Berlin'] },
      }),
    );
    expect(text).toContain(
      '**Waiting for a change window**: the next opens 2026-12-07T08:00:00.000Z (windows: mon,tue 09:00-17:00 Europe/Berlin).',
    );
  });

  it('shows the outcome once finished', () => {
    const text = rolloutCurrentDetails(
      status({ phase: 'done', outcome: 'rolled_back', reason: 'stage staging: x' }),
    );
    expect(text).toContain('### Finished: rolled_back');
    expect(text).toContain('> stage staging: x');
  });
});
