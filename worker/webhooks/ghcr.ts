// GHCR pushes arrive as GitHub webhooks: the `package` event (some GitHub versions name it
// `package_v2`) or the legacy `registry_package` event, with action `published` or `updated`.
// Other GitHub events (ping when the hook is created, pushes, issues), other package types (npm,
// maven) and untagged versions yield no hint.
import { z } from 'zod';
import { digest, isDigest, parseOrReject, repositoryName, tagName } from './payload-schema.ts';
import { singleHeader, WebhookPayloadError, type WebhookPayloadParser } from './types.ts';

const packageEvents = new Set(['package', 'package_v2', 'registry_package']);
const pushActions = new Set(['published', 'updated']);

const packageKind = z
  .looseObject({ package_type: z.string().optional(), ecosystem: z.string().optional() })
  .optional();
const envelope = z.looseObject({ action: z.string(), package: packageKind, registry_package: packageKind });

const containerPackage = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  owner: z.object({ login: z.string().min(1) }).nullish(),
  package_version: z.object({
    version: z.string().optional(),
    container_metadata: z
      .object({
        tag: z
          .object({
            name: z.union([tagName, z.literal('')]).optional(),
            digest: z.union([digest, z.literal('')]).optional(),
          })
          .nullish(),
      })
      .nullish(),
  }),
});

export const parseGhcrPayload: WebhookPayloadParser = (payload, headers) => {
  if (!packageEvents.has(singleHeader(headers, 'x-github-event') ?? '')) return [];
  const event = parseOrReject(envelope, payload);
  const packageKey = event.package ? 'package' : 'registry_package';
  const kind = event[packageKey];
  if (!kind) throw new WebhookPayloadError('package: expected an object');
  if (!pushActions.has(event.action)) return [];
  if ((kind.package_type ?? kind.ecosystem)?.toLowerCase() !== 'container') return [];

  const pkg = parseOrReject(containerPackage, kind, [packageKey]);
  const tag = pkg.package_version.container_metadata?.tag?.name;
  if (!tag) return [];
  const namespace = pkg.namespace ?? pkg.owner?.login;
  if (!namespace) throw new WebhookPayloadError(`${packageKey}.namespace: expected the package's owner`);
  // ghcr.io names are lower-case even where the GitHub owner's login is not.
  const repository = parseOrReject(repositoryName, `${namespace}/${pkg.name}`.toLowerCase(), [
    packageKey,
    'name',
  ]);
  const version = pkg.package_version.version;
  const pushedDigest =
    pkg.package_version.container_metadata?.tag?.digest ||
    (version && isDigest(version) ? version : undefined);
  return [
    {
      source: 'ghcr',
      registryHost: 'ghcr.io',
      repository,
      tag,
      ...(pushedDigest ? { digest: pushedDigest } : {}),
    },
  ];
};
