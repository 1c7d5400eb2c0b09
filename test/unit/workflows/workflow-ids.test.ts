import { describe, expect, it } from 'vitest';
import { freezeWorkflowId } from '../../../workflows/freeze-messages.ts';
import { legacyPipelineWorkflowId, pipelineWorkflowId } from '../../../workflows/rollout-messages.ts';
import {
  legacyWatchWorkflowId,
  rolloutWorkflowId,
  watchWorkflowId,
} from '../../../workflows/watch-messages.ts';

const digest = `sha256:${'c'.repeat(64)}`;

describe('workflow ids carry the instance name', () => {
  it('gives two instances different watch, pipeline, rollout and freeze ids for the same names', () => {
    expect(watchWorkflowId('a', 'local')).toBe('freshet-watch-local@a');
    expect(watchWorkflowId('b', 'local')).not.toBe(watchWorkflowId('a', 'local'));
    expect(pipelineWorkflowId('a', 'web')).toBe('freshet-pipeline-web@a');
    expect(rolloutWorkflowId('web', 'web', digest, 'a')).toBe(`freshet-rollout-web-web-${'c'.repeat(64)}@a`);
    expect(freezeWorkflowId('a')).toBe('freshet-freeze@a');
    expect(freezeWorkflowId('b')).not.toBe(freezeWorkflowId('a'));
  });

  it('keeps the ids of requests recorded before instances, so their histories replay', () => {
    expect(rolloutWorkflowId('web', 'web', digest)).toBe(`freshet-rollout-web-web-${'c'.repeat(64)}`);
    expect(legacyWatchWorkflowId('local')).toBe('freshet-watch-local');
    expect(legacyPipelineWorkflowId('web')).toBe('freshet-pipeline-web');
  });
});
