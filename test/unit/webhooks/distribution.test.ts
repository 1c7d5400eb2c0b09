import { describe, expect, it } from 'vitest';
import { parseDistributionPayload } from '../../../worker/webhooks/distribution.ts';
import { handleWebhook } from '../../../worker/webhooks/handler.ts';
import { type WebhookHint, WebhookPayloadError } from '../../../worker/webhooks/types.ts';
import { digestOf, distributionEnvelope, distributionEvent, layerDigest, webDigest } from './payloads.ts';

const parse = (payload: unknown) => parseDistributionPayload(payload, {});

function rejection(payload: unknown): string {
  try {
    parse(payload);
  } catch (err) {
    if (err instanceof WebhookPayloadError) return err.message;
    throw err;
  }
  throw new Error('expected the payload to be rejected');
}

describe('Distribution notifications', () => {
  it('turns a manifest pushed under a tag into a hint with host, repository, tag and digest', () => {
    expect(parse(distributionEnvelope(distributionEvent({})))).toEqual([
      {
        source: 'distribution',
        registryHost: '127.0.0.1:5000',
        repository: 'acme/web',
        tag: '1.4',
        digest: webDigest,
      },
    ] satisfies WebhookHint[]);
  });

  it.each([
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
  ])('accepts manifests of type %s', (mediaType) => {
    expect(parse(distributionEnvelope(distributionEvent({ mediaType })))).toHaveLength(1);
  });

  it('keeps only tagged manifest pushes from an envelope of mixed events', () => {
    const otherDigest = digestOf('acme/api 2.0');
    const payload = distributionEnvelope(
      distributionEvent({ mediaType: 'application/octet-stream', digest: layerDigest, tag: undefined }),
      distributionEvent({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest }),
      distributionEvent({ action: 'pull' }),
      distributionEvent({ action: 'delete', tag: undefined }),
      distributionEvent({ action: 'mount', tag: undefined }),
      // A per-platform manifest pushed by digest cannot move a tag.
      distributionEvent({ tag: undefined, digest: otherDigest }),
      distributionEvent({ repository: 'acme/api', tag: '2.0', digest: otherDigest }),
    );
    expect(parse(payload)).toEqual([
      {
        source: 'distribution',
        registryHost: '127.0.0.1:5000',
        repository: 'acme/api',
        tag: '2.0',
        digest: otherDigest,
      },
    ]);
  });

  it('ignores envelopes without pushes, including empty ones', () => {
    expect(parse(distributionEnvelope(distributionEvent({ action: 'pull' })))).toEqual([]);
    expect(parse({ events: [] })).toEqual([]);
    // Delete events carry only repository and digest (or tag): no mediaType.
    expect(
      parse({ events: [{ action: 'delete', target: { repository: 'acme/web', digest: webDigest } }] }),
    ).toEqual([]);
  });

  it('leaves the host out when the event does not name one', () => {
    expect(parse(distributionEnvelope(distributionEvent({ host: undefined })))).toEqual([
      { source: 'distribution', repository: 'acme/web', tag: '1.4', digest: webDigest },
    ]);
  });

  it('rejects payloads that are not a notification envelope', () => {
    expect(rejection({})).toMatch(/^events: /);
    expect(rejection({ events: 'push' })).toMatch(/^events: /);
    expect(rejection([distributionEvent({})])).not.toBe('');
    expect(rejection({ events: [{ target: {} }] })).toMatch(/^events\[0\]\.action: /);
  });

  it('rejects a tagged manifest push whose names are not image names, naming the field', () => {
    const badRepository = distributionEvent({ repository: 'Acme/Web' });
    expect(rejection(distributionEnvelope(distributionEvent({ action: 'pull' }), badRepository))).toBe(
      'events[1].target.repository: expected a repository name such as acme/web',
    );
    const { repository: _, ...targetWithoutRepository } = distributionEvent({}).target as Record<
      string,
      unknown
    >;
    expect(rejection({ events: [{ action: 'push', target: targetWithoutRepository }] })).toMatch(
      /^events\[0\]\.target\.repository: /,
    );
    expect(rejection(distributionEnvelope(distributionEvent({ tag: 'bad tag' })))).toBe(
      'events[0].target.tag: expected a tag such as 1.4',
    );
    expect(rejection(distributionEnvelope(distributionEvent({ digest: 'not-a-digest' })))).toMatch(
      /^events\[0\]\.target\.digest: /,
    );
    expect(rejection(distributionEnvelope(distributionEvent({ host: 'bad host/x' })))).toMatch(
      /^events\[0\]\.request\.host: /,
    );
  });

  it.each([
    ['application/vnd.docker.distribution.events.v1+json', 202],
    ['application/vnd.docker.distribution.events.v2+json', 202],
    ['application/json', 202],
    ['application/json; charset=utf-8', 202],
    ['text/plain', 415],
    ['application/x-www-form-urlencoded', 415],
  ])('answers Content-Type %s with %i', async (contentType, status) => {
    const hints: WebhookHint[][] = [];
    const response = await handleWebhook(
      {
        source: 'distribution',
        headers: { authorization: 'Bearer s3cret-token', 'content-type': contentType },
        rawBody: Buffer.from(JSON.stringify(distributionEnvelope(distributionEvent({})))),
        query: new URLSearchParams(),
      },
      {
        secretFor: () => 's3cret-token',
        onHints: async (h) => {
          hints.push(h);
          return 'accepted';
        },
      },
    );
    expect(response.status).toBe(status);
    expect(hints).toHaveLength(status === 202 ? 1 : 0);
  });
});
