// Distribution (registry:2, Debian docker-registry) notifications: an envelope of events, sent
// as application/vnd.docker.distribution.events.v1+json (v2 in newer releases). Only a manifest
// pushed under a tag can move a tag; pulls, deletes, mounts, blob uploads and manifests pushed by
// digest alone (the per-platform parts of a multi-arch push) are not hints.
import { z } from 'zod';
import { digest, parseOrReject, registryHost, repositoryName, tagName } from './payload-schema.ts';
import type { WebhookHint, WebhookPayloadParser } from './types.ts';

const manifestMediaTypes = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

// Loose first, so events of kinds we ignore need not have the fields a push needs.
const envelope = z.object({
  events: z.array(
    z.looseObject({
      action: z.string(),
      target: z.looseObject({ mediaType: z.string().optional(), tag: z.string().optional() }).optional(),
    }),
  ),
});

const taggedManifestPush = z.object({
  target: z.object({ repository: repositoryName, tag: tagName, digest: digest.optional() }),
  request: z.object({ host: registryHost.optional() }).optional(),
});

export const parseDistributionPayload: WebhookPayloadParser = (payload) => {
  const { events } = parseOrReject(envelope, payload);
  const hints: WebhookHint[] = [];
  events.forEach((event, i) => {
    const mediaType = event.target?.mediaType ?? '';
    if (event.action !== 'push' || !manifestMediaTypes.has(mediaType) || !event.target?.tag) return;
    const { target, request } = parseOrReject(taggedManifestPush, event, ['events', i]);
    hints.push({
      source: 'distribution',
      ...(request?.host ? { registryHost: request.host } : {}),
      repository: target.repository,
      tag: target.tag,
      ...(target.digest ? { digest: target.digest } : {}),
    });
  });
  return hints;
};
