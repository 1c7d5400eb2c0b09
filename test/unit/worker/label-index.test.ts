import { describe, expect, it } from 'vitest';
import { labelsMatch } from '../../../activities/kubernetes/workload.ts';
import { labelIndex } from '../../../worker/running-digest.ts';

const pod = (name: string, labels?: Record<string, string>) => ({
  metadata: { name, ...(labels ? { labels } : {}) },
});

describe('labelIndex', () => {
  const pods = [
    pod('a', { app: 'web', tier: 'front' }),
    pod('b', { app: 'web', tier: 'back' }),
    pod('c', { app: 'db' }),
    pod('d'),
  ];
  const matching = labelIndex(pods);
  const names = (selector: Record<string, string>) =>
    matching(selector)
      .filter((p) => labelsMatch(p.metadata.labels, selector))
      .map((p) => p.metadata.name);

  it('gives every object a selector matches, as a scan of all would', () => {
    const selectors: Record<string, string>[] = [
      { app: 'web' },
      { app: 'web', tier: 'back' },
      { app: 'db' },
      { tier: 'front' },
      {},
    ];
    for (const selector of selectors) {
      const scan = pods.filter((p) => labelsMatch(p.metadata.labels, selector)).map((p) => p.metadata.name);
      expect(names(selector), JSON.stringify(selector)).toEqual(scan);
    }
  });

  it('offers only the smallest bucket of the selector, and none for a label nobody has', () => {
    expect(matching({ app: 'web', tier: 'back' }).map((p) => p.metadata.name)).toEqual(['b']);
    expect(matching({ app: 'nope' })).toEqual([]);
    expect(matching({})).toBe(pods);
  });
});
