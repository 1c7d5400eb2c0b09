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

  it('names no repository when several are concerned, so the whole group is checked', () => {
    expect(checkNowFor([hint('acme/web', '1.4'), hint('acme/api', '1.4')])).toEqual({ source: 'quay' });
  });
});
