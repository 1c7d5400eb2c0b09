import { describe, expect, it } from 'vitest';
import { parseDockerHubPayload } from '../../../worker/webhooks/dockerhub.ts';
import { WebhookPayloadError } from '../../../worker/webhooks/types.ts';
import { dockerHubPush } from './payloads.ts';

const parse = (payload: unknown) => parseDockerHubPayload(payload, {});

describe('Docker Hub webhooks', () => {
  it('turns a push into a hint with repository and tag, and no host or digest', () => {
    expect(parse(dockerHubPush)).toEqual([{ source: 'dockerhub', repository: 'acme/web', tag: '1.4' }]);
  });

  it('yields no hint for a payload that reports no pushed tag', () => {
    const { push_data: _, ...withoutPushData } = dockerHubPush;
    expect(parse(withoutPushData)).toEqual([]);
    expect(parse({ ...dockerHubPush, push_data: { pushed_at: 1764411330, pusher: 'acme-ci' } })).toEqual([]);
  });

  it.each([
    ['no repository', { push_data: dockerHubPush.push_data }, /^repository: /],
    [
      'a repository name with capitals',
      { ...dockerHubPush, repository: { repo_name: 'Acme/Web' } },
      /^repository\.repo_name: expected a repository name/,
    ],
    [
      'a tag that is not a tag',
      { ...dockerHubPush, push_data: { tag: 'latest; rm -rf' } },
      /^push_data\.tag: expected a tag/,
    ],
    ['a tag that is a number', { ...dockerHubPush, push_data: { tag: 14 } }, /^push_data\.tag: /],
    ['a list instead of an object', [dockerHubPush], /expected object/],
  ])('rejects a payload with %s', (_, payload, message) => {
    expect(() => parse(payload)).toThrow(WebhookPayloadError);
    expect(() => parse(payload)).toThrow(message);
  });
});
