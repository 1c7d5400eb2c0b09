// Quay repository notifications. Only the "repository push" notification carries
// `updated_tags`; build, vulnerability and mirror notifications share the other fields but not
// that one, so they yield no hint. Quay sends no digest (notes/registry.md §3.4).
import { z } from 'zod';
import { hostBefore, parseOrReject, repositoryName, tagName } from './payload-schema.ts';
import type { WebhookPayloadParser } from './types.ts';

const payloadSchema = z.object({
  repository: repositoryName,
  docker_url: z.string().optional(),
  // Current Quay sends a list of tags; older releases sent a map of tag → image id.
  updated_tags: z.union([z.array(tagName), z.record(tagName, z.unknown())]).optional(),
});

export const parseQuayPayload: WebhookPayloadParser = (payload) => {
  const { repository, docker_url, updated_tags } = parseOrReject(payloadSchema, payload);
  if (!updated_tags) return [];
  const tags = Array.isArray(updated_tags) ? updated_tags : Object.keys(updated_tags);
  const registryHost = docker_url ? hostBefore(repository, docker_url) : undefined;
  return tags.map((tag) => ({ source: 'quay', ...(registryHost ? { registryHost } : {}), repository, tag }));
};
