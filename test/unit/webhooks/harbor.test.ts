import { describe, expect, it } from 'vitest';
import { parseHarborPayload } from '../../../worker/webhooks/harbor.ts';
import { WebhookPayloadError } from '../../../worker/webhooks/types.ts';
import { digestOf, harborEvent, webDigest } from './payloads.ts';

const parse = (payload: unknown) => parseHarborPayload(payload, {});

const taggedResource = { digest: webDigest, tag: '1.4', resource_url: 'harbor.example.com/acme/web:1.4' };

describe('Harbor webhooks', () => {
  it('turns PUSH_ARTIFACT into a hint with the host of resource_url', () => {
    expect(parse(harborEvent('PUSH_ARTIFACT', [taggedResource]))).toEqual([
      {
        source: 'harbor',
        registryHost: 'harbor.example.com',
        repository: 'acme/web',
        tag: '1.4',
        digest: webDigest,
      },
    ]);
  });

  it('reads the pushImage events of Harbor 1.x', () => {
    expect(parse(harborEvent('pushImage', [taggedResource]))).toHaveLength(1);
  });

  it('skips artifacts pushed by digest alone, where Harbor puts the digest in tag', () => {
    const byDigest = digestOf('acme/web untagged');
    const payload = harborEvent('PUSH_ARTIFACT', [
      { digest: byDigest, tag: byDigest, resource_url: `harbor.example.com/acme/web@${byDigest}` },
      { digest: byDigest, tag: '', resource_url: `harbor.example.com/acme/web@${byDigest}` },
      { ...taggedResource, tag: '1.4.2', resource_url: 'harbor.example.com:8443/acme/web:1.4.2' },
    ]);
    expect(parse(payload)).toEqual([
      {
        source: 'harbor',
        registryHost: 'harbor.example.com:8443',
        repository: 'acme/web',
        tag: '1.4.2',
        digest: webDigest,
      },
    ]);
  });

  it('leaves the host out when resource_url is missing or names another repository', () => {
    const { resource_url: _, ...withoutUrl } = taggedResource;
    expect(parse(harborEvent('PUSH_ARTIFACT', [withoutUrl]))[0]).not.toHaveProperty('registryHost');
    const elsewhere = { ...taggedResource, resource_url: 'harbor.example.com/acme/web-old:1.4' };
    expect(parse(harborEvent('PUSH_ARTIFACT', [elsewhere]))[0]).not.toHaveProperty('registryHost');
  });

  it.each(['PULL_ARTIFACT', 'DELETE_ARTIFACT', 'SCANNING_COMPLETED', 'QUOTA_WARNING', 'REPLICATION'])(
    'yields no hint for %s',
    (type) => {
      expect(parse(harborEvent(type, [taggedResource]))).toEqual([]);
      expect(
        parse({ type, occur_at: 1764411330, operator: 'admin', event_data: { scan_overview: {} } }),
      ).toEqual([]);
    },
  );

  it('reads pushes in the CloudEvents format and ignores its other event types', () => {
    const cloudEvent = (type: string) => ({
      specversion: '1.0',
      id: '4b3a1c5e-9f1e-4f7e-8f31-6e4b5c7d8e9f',
      requestid: 'b6f7a0c9-1b2e-4c3d-8e9f-0a1b2c3d4e5f',
      source: '/projects/2/webhook/policies/7',
      type,
      datacontenttype: 'application/json',
      time: '2026-11-29T10:15:30Z',
      data: harborEvent('PUSH_ARTIFACT', [taggedResource]).event_data,
      operator: 'robot$ci',
    });
    expect(parse(cloudEvent('harbor.artifact.pushed'))).toEqual([
      {
        source: 'harbor',
        registryHost: 'harbor.example.com',
        repository: 'acme/web',
        tag: '1.4',
        digest: webDigest,
      },
    ]);
    expect(parse(cloudEvent('harbor.artifact.pulled'))).toEqual([]);
  });

  it.each([
    ['no type', { event_data: harborEvent('PUSH_ARTIFACT', [taggedResource]).event_data }, /^type: /],
    ['a push without event_data', { type: 'PUSH_ARTIFACT', occur_at: 1764411330 }, /^event_data: /],
    [
      'resources that are not a list',
      { type: 'PUSH_ARTIFACT', event_data: { resources: {}, repository: { repo_full_name: 'acme/web' } } },
      /^event_data\.resources: /,
    ],
    [
      'a repository name with spaces',
      {
        type: 'PUSH_ARTIFACT',
        event_data: { resources: [taggedResource], repository: { repo_full_name: 'acme web' } },
      },
      /^event_data\.repository\.repo_full_name: expected a repository name/,
    ],
    [
      'a digest that is not a digest',
      harborEvent('PUSH_ARTIFACT', [{ ...taggedResource, digest: 'latest' }]),
      /^event_data\.resources\[0\]\.digest: /,
    ],
  ])('rejects a payload with %s', (_, payload, message) => {
    expect(() => parse(payload)).toThrow(WebhookPayloadError);
    expect(() => parse(payload)).toThrow(message);
  });
});
