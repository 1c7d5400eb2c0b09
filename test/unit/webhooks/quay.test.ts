import { describe, expect, it } from 'vitest';
import { parseQuayPayload } from '../../../worker/webhooks/quay.ts';
import { WebhookPayloadError } from '../../../worker/webhooks/types.ts';
import { quayPush } from './payloads.ts';

const parse = (payload: unknown) => parseQuayPayload(payload, {});

describe('Quay repository notifications', () => {
  it('turns a repository push into one hint per updated tag, with the host of docker_url', () => {
    expect(parse(quayPush)).toEqual([
      { source: 'quay', registryHost: 'quay.io', repository: 'acme/web', tag: '1.4' },
      { source: 'quay', registryHost: 'quay.io', repository: 'acme/web', tag: 'latest' },
    ]);
  });

  it('reads the older format where updated_tags maps tags to image ids', () => {
    const payload = { ...quayPush, updated_tags: { '1.4': 'b7e2c4d1a9f0', latest: 'b7e2c4d1a9f0' } };
    expect(parse(payload).map((hint) => hint.tag)).toEqual(['1.4', 'latest']);
  });

  it('takes the host and port of a self-hosted Quay, and none when docker_url names another repository', () => {
    expect(parse({ ...quayPush, docker_url: 'quay.example.com:8443/acme/web' })[0]?.registryHost).toBe(
      'quay.example.com:8443',
    );
    expect(parse({ ...quayPush, docker_url: 'quay.io/acme/webapp' })[0]).toEqual({
      source: 'quay',
      repository: 'acme/web',
      tag: '1.4',
    });
  });

  it('yields no hint for build and vulnerability notifications', () => {
    const buildSuccess = {
      build_id: '296ec063-5f86-4706-a469-f0a400bf9df2',
      trigger_kind: 'github',
      name: 'web',
      repository: 'acme/web',
      namespace: 'acme',
      docker_url: 'quay.io/acme/web',
      trigger_id: '38b6e180-9521-4ff7-9844-acf371340b9e',
      docker_tags: ['1.4'],
      build_name: 'some-fake-build',
      image_id: '1245657346',
      trigger_metadata: { default_branch: 'main', ref: 'refs/heads/main', commit: 'f3d1c0a' },
      homepage: 'https://quay.io/repository/acme/web/build/296ec063-5f86-4706-a469-f0a400bf9df2',
    };
    const vulnerabilityFound = {
      repository: 'acme/web',
      namespace: 'acme',
      name: 'web',
      docker_url: 'quay.io/acme/web',
      homepage: 'https://quay.io/repository/acme/web',
      tags: ['1.4'],
      vulnerability: {
        id: 'CVE-2026-0001',
        description: 'x',
        link: 'https://cve.example/CVE-2026-0001',
        priority: 'High',
        has_fix: true,
      },
    };
    expect(parse(buildSuccess)).toEqual([]);
    expect(parse(vulnerabilityFound)).toEqual([]);
    expect(parse({ ...quayPush, updated_tags: [] })).toEqual([]);
  });

  it.each([
    ['no repository', { ...quayPush, repository: undefined }, /^repository: /],
    ['updated_tags as a string', { ...quayPush, updated_tags: 'latest' }, /^updated_tags: /],
    ['a tag that is not a tag', { ...quayPush, updated_tags: ['1.4', '../etc'] }, /^updated_tags/],
    ['not an object', 'acme/web', /expected object/],
  ])('rejects a payload with %s', (_, payload, message) => {
    expect(() => parse(payload)).toThrow(WebhookPayloadError);
    expect(() => parse(payload)).toThrow(message);
  });
});
