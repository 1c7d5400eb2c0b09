// Webhook requests as each registry sends them for one push, authenticated the way that source
// is (worker/webhooks/index.ts): a Bearer token (Distribution, Harbor), the token in the query
// (Docker Hub and Quay, whose webhook settings take only a URL), or GitHub's HMAC signature of
// the raw body (GHCR). The payloads start from the unit tests' samples of each source.
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { WebhookSource } from '../../worker/webhooks/index.ts';
import {
  distributionEnvelope,
  distributionEvent,
  dockerHubPush,
  ghcrPackageEvent,
  harborEvent,
  quayPush,
} from '../unit/webhooks/payloads.ts';

export interface ReportedPush {
  repository: string;
  tag: string;
  digest: string;
  /** host:port the pusher used (Distribution, Harbor and Quay name it; Docker Hub and GHCR do not). */
  registryHost: string;
}

/** The JSON document `source` sends for `push`. */
export function pushPayload(source: WebhookSource, push: ReportedPush): object {
  const { repository, tag, digest, registryHost } = push;
  const slash = repository.lastIndexOf('/');
  const namespace = repository.slice(0, slash);
  const name = repository.slice(slash + 1);
  switch (source) {
    case 'distribution':
      return distributionEnvelope(distributionEvent({ repository, tag, digest, host: registryHost }));
    case 'dockerhub':
      return {
        ...dockerHubPush,
        push_data: { ...dockerHubPush.push_data, tag },
        repository: { ...dockerHubPush.repository, name, namespace, owner: namespace, repo_name: repository },
      };
    case 'harbor': {
      const event = harborEvent('PUSH_ARTIFACT', [
        { digest, tag, resource_url: `${registryHost}/${repository}:${tag}` },
      ]);
      return {
        ...event,
        event_data: {
          ...event.event_data,
          repository: { ...event.event_data.repository, name, namespace, repo_full_name: repository },
        },
      };
    }
    case 'quay':
      return {
        ...quayPush,
        repository,
        namespace,
        name,
        docker_url: `${registryHost}/${repository}`,
        updated_tags: [tag],
      };
    case 'ghcr': {
      const event = ghcrPackageEvent({ tag, tagDigest: digest });
      return {
        ...event,
        package: {
          ...event.package,
          name,
          namespace,
          owner: { ...event.package.owner, login: namespace },
          package_version: { ...event.package.package_version, version: digest, name: digest },
        },
      };
    }
  }
}

export interface WebhookRequest {
  source: WebhookSource;
  /** Path and query, e.g. `/webhooks/quay?token=…`. */
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** A request carrying `body`, authenticated with `secret` as `source` does it. */
export function webhookRequest(source: WebhookSource, body: string | Buffer, secret: string): WebhookRequest {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const path = `/webhooks/${source}`;
  switch (source) {
    case 'distribution':
      return {
        source,
        path,
        headers: {
          authorization: `Bearer ${secret}`,
          'content-type': 'application/vnd.docker.distribution.events.v1+json',
        },
        body: raw,
      };
    case 'harbor':
      return {
        source,
        path,
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: raw,
      };
    case 'dockerhub':
    case 'quay':
      return {
        source,
        path: `${path}?token=${encodeURIComponent(secret)}`,
        headers: { 'content-type': 'application/json' },
        body: raw,
      };
    case 'ghcr':
      return {
        source,
        path,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'package',
          'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
          'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`,
        },
        body: raw,
      };
  }
}

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Sends a request to the daemon with node:http rather than fetch: a server may answer a body
 * it refuses (413) before reading it and close the connection, and the answer must still be
 * read rather than lost to the client's write error.
 */
export function sendWebhook(baseUrl: string, req: WebhookRequest): Promise<WebhookAnswer> {
  const url = new URL(req.path, baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = httpRequest(url, {
      method: 'POST',
      headers: { ...req.headers, 'content-length': String(req.body.length) },
    });
    outgoing.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { unparsed: text };
        }
        resolve({ status: res.statusCode ?? 0, body });
        outgoing.destroy();
      });
      res.on('error', (err) => reject(err));
    });
    outgoing.on('error', (err) => {
      if (!answered) reject(err);
    });
    outgoing.end(req.body);
  });
}
