// Webhook payloads shaped like what each registry sends (notes/registry.md §3), shared by the
// parser tests and the HTTP tests. Digests are real sha256 sums so they look like real ones.
import { createHash } from 'node:crypto';

export const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

export const webDigest = digestOf('acme/web 1.4 rebuild');
export const layerDigest = digestOf('a layer');

type DistributionEvent = Record<string, unknown>;

/** One event as Distribution 2.8.2 sends it for `skopeo copy … docker://127.0.0.1:5000/acme/web:1.4`. */
export function distributionEvent(overrides: {
  action?: string;
  mediaType?: string;
  repository?: string;
  tag?: string | undefined;
  digest?: string;
  host?: string | undefined;
}): DistributionEvent {
  const repository = overrides.repository ?? 'acme/web';
  const digest = overrides.digest ?? webDigest;
  const tag = 'tag' in overrides ? overrides.tag : '1.4';
  const host = 'host' in overrides ? overrides.host : '127.0.0.1:5000';
  return {
    id: '6f1e2a0c-4b6e-4d1c-9b3a-2a6f0f2c1d11',
    timestamp: '2026-11-29T10:15:30.123456789Z',
    action: overrides.action ?? 'push',
    target: {
      mediaType: overrides.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
      size: 1187,
      digest,
      length: 1187,
      repository,
      url: `http://${host ?? '127.0.0.1:5000'}/v2/${repository}/manifests/${digest}`,
      ...(tag === undefined ? {} : { tag }),
      references: [layerDigest],
    },
    request: {
      id: 'c2b8a2de-3c1e-4a55-8f59-3c9a0c9a4d2e',
      addr: '127.0.0.1:53412',
      ...(host === undefined ? {} : { host }),
      method: 'PUT',
      useragent: 'skopeo/1.9.3',
    },
    actor: {},
    source: { addr: 'freshet-dev:5000', instanceID: '0a8b7c6d-1e2f-4a3b-8c9d-0e1f2a3b4c5d' },
  };
}

export const distributionEnvelope = (...events: DistributionEvent[]) => ({ events });

export const dockerHubPush = {
  callback_url: 'https://registry.hub.docker.com/u/acme/web/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/',
  push_data: { pushed_at: 1764411330, pusher: 'acme-ci', tag: '1.4' },
  repository: {
    comment_count: 0,
    date_created: 1701424511,
    description: '',
    dockerfile: '',
    full_description: '',
    is_official: false,
    is_private: true,
    is_trusted: false,
    name: 'web',
    namespace: 'acme',
    owner: 'acme',
    repo_name: 'acme/web',
    repo_url: 'https://hub.docker.com/r/acme/web',
    star_count: 0,
    status: 'Active',
  },
};

export function harborEvent(type: string, resources: Array<Record<string, string>>) {
  return {
    type,
    occur_at: 1764411330,
    operator: 'robot$ci',
    event_data: {
      resources,
      repository: {
        date_created: 1737446600,
        name: 'web',
        namespace: 'acme',
        repo_full_name: 'acme/web',
        repo_type: 'private',
      },
    },
  };
}

export const quayPush = {
  name: 'web',
  repository: 'acme/web',
  namespace: 'acme',
  docker_url: 'quay.io/acme/web',
  homepage: 'https://quay.io/repository/acme/web',
  updated_tags: ['1.4', 'latest'],
};

/** GitHub's `package` event for `docker push ghcr.io/octo-org/hello-world:1.4`. */
export function ghcrPackageEvent(
  options: { action?: string; tag?: string; tagDigest?: string; packageType?: string } = {},
) {
  const pkg = {
    id: 2211,
    name: 'hello-world',
    namespace: 'octo-org',
    description: '',
    ecosystem: options.packageType ?? 'CONTAINER',
    package_type: options.packageType ?? 'CONTAINER',
    html_url: 'https://github.com/orgs/octo-org/packages/container/package/hello-world',
    created_at: '2026-11-01T09:00:00Z',
    updated_at: '2026-11-29T10:15:30Z',
    owner: { login: 'octo-org', id: 6811672, type: 'Organization' },
    package_version: {
      id: 90211,
      version: webDigest,
      name: webDigest,
      summary: '',
      description: '',
      body: '',
      manifest: '',
      html_url: 'https://github.com/orgs/octo-org/packages/container/hello-world/90211',
      metadata: [],
      package_files: [],
      container_metadata: {
        tag: { name: options.tag ?? '1.4', digest: options.tagDigest ?? webDigest },
        labels: { description: '', source: 'https://github.com/octo-org/hello-world', revision: 'f3d1c0a' },
        manifest: {},
      },
      installation_command: 'docker pull ghcr.io/octo-org/hello-world:1.4',
      package_url: 'ghcr.io/octo-org/hello-world:1.4',
    },
    registry: {
      about_url: 'https://docs.github.com/packages',
      name: 'GitHub CONTAINER registry',
      type: 'CONTAINER',
      url: 'https://ghcr.io/octo-org',
      vendor: 'GitHub Inc',
    },
  };
  return {
    action: options.action ?? 'published',
    package: pkg,
    organization: { login: 'octo-org', id: 6811672 },
    sender: { login: 'octocat', id: 583231, type: 'User' },
  };
}
