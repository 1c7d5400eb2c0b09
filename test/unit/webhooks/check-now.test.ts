// One checkNow per watch group and request: what it names when the request reports one push,
// many tags of one repository, or pushes of several repositories.
import { describe, expect, it } from 'vitest';
import { checkNowFor } from '../../../worker/watches.ts';
import type { WebhookHint } from '../../../worker/webhooks/types.ts';

const hint = (repository: string, tag?: string): WebhookHint => ({
  source: 'quay',
  repository,
  ...(tag ? { tag } : {}),
});

describe('checkNowFor', () => {
  it('names the repository and tag of a single push', () => {
    expect(checkNowFor([hint('acme/web', '1.4')])).toEqual({
      source: 'quay',
      repository: 'acme/web',
      tag: '1.4',
    });
  });

  it('names the repository alone when one repository moved several tags', () => {
    const tags = Array.from({ length: 60_000 }, (_, i) => hint('acme/web', `v${i}`));
    expect(checkNowFor(tags)).toEqual({ source: 'quay', repository: 'acme/web' });
    expect(checkNowFor([hint('acme/web', '1.4'), hint('acme/web')])).toEqual({
      source: 'quay',
      repository: 'acme/web',
    });
  });

  it('names the repositories when several are concerned', () => {
    expect(checkNowFor([hint('acme/web', '1.4'), hint('acme/api', '1.4'), hint('acme/web', '2')])).toEqual({
      source: 'quay',
      repositories: ['acme/api', 'acme/web'],
    });
  });

  it('names none past 1,000 repositories, so the whole group is checked', () => {
    const many = Array.from({ length: 1_001 }, (_, i) => hint(`acme/r${i}`, '1.4'));
    expect(checkNowFor(many)).toEqual({ source: 'quay' });
    expect(checkNowFor(many.slice(0, 1_000)).repositories).toHaveLength(1_000);
  });
});
