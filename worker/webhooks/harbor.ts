// Harbor webhooks, in the default format (`type` PUSH_ARTIFACT, `pushImage` before Harbor 2.0,
// details in `event_data`) and in the CloudEvents format (details in `data`). Pulls, deletes,
// scans, quota and replication events yield no hint, nor do artifacts pushed by digest alone:
// Harbor then puts the digest in `tag`, and a push by digest cannot move a tag.
import { z } from 'zod';
import { digest, hostBefore, isDigest, parseOrReject, repositoryName, tagName } from './payload-schema.ts';
import type { WebhookHint, WebhookPayloadParser } from './types.ts';

const pushTypes = new Set(['PUSH_ARTIFACT', 'pushImage']);
// Not yet seen from a real Harbor (notes/registry.md §8); other CloudEvents types are ignored anyway.
const cloudEventPushType = 'harbor.artifact.pushed';

const envelope = z.looseObject({ type: z.string(), specversion: z.string().optional() });

const pushEventData = z.object({
  resources: z.array(
    z.object({
      tag: z.union([tagName, digest, z.literal('')]).optional(),
      digest: digest.optional(),
      resource_url: z.string().optional(),
    }),
  ),
  repository: z.object({ repo_full_name: repositoryName }),
});

export const parseHarborPayload: WebhookPayloadParser = (payload) => {
  const event = parseOrReject(envelope, payload);
  const isCloudEvent = event.specversion !== undefined;
  if (isCloudEvent ? event.type !== cloudEventPushType : !pushTypes.has(event.type)) return [];
  const dataKey = isCloudEvent ? 'data' : 'event_data';
  const { resources, repository } = parseOrReject(pushEventData, event[dataKey], [dataKey]);
  const hints: WebhookHint[] = [];
  for (const resource of resources) {
    if (!resource.tag || isDigest(resource.tag)) continue;
    const registryHost = resource.resource_url
      ? hostBefore(repository.repo_full_name, resource.resource_url)
      : undefined;
    hints.push({
      source: 'harbor',
      ...(registryHost ? { registryHost } : {}),
      repository: repository.repo_full_name,
      tag: resource.tag,
      ...(resource.digest ? { digest: resource.digest } : {}),
    });
  }
  return hints;
};
