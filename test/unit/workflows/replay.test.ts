// Recorded histories of real runs must replay against today's workflow code: a change that
// would break running watches or rollouts (non-determinism) fails here, with no server needed.
import { readdirSync, readFileSync } from 'node:fs';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowsPath } from '../../../worker/daemon.ts';

const dir = new URL('../../fixtures/histories/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('workflow replay', () => {
  beforeAll(() => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  });

  it('has recorded histories to replay', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'watch-rebuild.json',
        'watch-pipeline.json',
        'pipeline.json',
        'rollout-succeeded.json',
        'rollout-rolled-back.json',
      ]),
    );
  });

  it.each(files)(
    'replays %s',
    async (file) => {
      const history = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { events: unknown[] };
      expect(history.events.length).toBeGreaterThanOrEqual(5);
      await Worker.runReplayHistory({ workflowsPath }, history);
    },
    60_000,
  );
});
