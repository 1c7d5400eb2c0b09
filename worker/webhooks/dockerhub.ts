// Docker Hub repository webhooks: sent only for pushes, with the tag but no digest, no event
// type and no signature (notes/registry.md §3.3). A payload without a pushed tag is not a push
// notification (for example a hand-made test request) and yields no hint.
import { z } from 'zod';
import { parseOrReject, repositoryName, tagName } from './payload-schema.ts';
import type { WebhookPayloadParser } from './types.ts';

const payloadSchema = z.object({
  push_data: z.object({ tag: tagName.optional() }).nullish(),
  repository: z.object({ repo_name: repositoryName }),
});

export const parseDockerHubPayload: WebhookPayloadParser = (payload) => {
  const { push_data, repository } = parseOrReject(payloadSchema, payload);
  if (!push_data?.tag) return [];
  // Docker Hub payloads never name a host; the hint matches by repository alone.
  return [{ source: 'dockerhub', repository: repository.repo_name, tag: push_data.tag }];
};
