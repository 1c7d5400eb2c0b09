import { describe, expect, it } from 'vitest';
import { parseGhcrPayload } from '../../../worker/webhooks/ghcr.ts';
import { WebhookPayloadError } from '../../../worker/webhooks/types.ts';
import { digestOf, ghcrPackageEvent, webDigest } from './payloads.ts';

const parse = (payload: unknown, event = 'package') => parseGhcrPayload(payload, { 'x-github-event': event });

const expectedHint = {
  source: 'ghcr',
  registryHost: 'ghcr.io',
  repository: 'octo-org/hello-world',
  tag: '1.4',
  digest: webDigest,
};

describe('GHCR (GitHub package webhooks)', () => {
  it('turns a published container version into a hint for ghcr.io/<namespace>/<name>', () => {
    expect(parse(ghcrPackageEvent())).toEqual([expectedHint]);
  });

  it('reads updated versions, the package_v2 event name and the legacy registry_package event', () => {
    expect(parse(ghcrPackageEvent({ action: 'updated' }))).toEqual([expectedHint]);
    expect(parse(ghcrPackageEvent(), 'package_v2')).toEqual([expectedHint]);
    const { package: pkg, ...rest } = ghcrPackageEvent();
    expect(parse({ ...rest, registry_package: pkg }, 'registry_package')).toEqual([expectedHint]);
  });

  it('lower-cases owners whose GitHub login has capitals, as ghcr.io does', () => {
    const payload = ghcrPackageEvent();
    payload.package = { ...payload.package, namespace: 'Octo-Org' };
    expect(parse(payload)[0]?.repository).toBe('octo-org/hello-world');
  });

  it('falls back to the version digest when the tag carries none', () => {
    expect(parse(ghcrPackageEvent({ tagDigest: '' }))).toEqual([expectedHint]);
  });

  it('yields no hint for untagged versions, other package types, other actions and other events', () => {
    expect(parse(ghcrPackageEvent({ tag: '' }))).toEqual([]);
    expect(parse(ghcrPackageEvent({ packageType: 'npm' }))).toEqual([]);
    expect(parse(ghcrPackageEvent({ action: 'deleted' }))).toEqual([]);
    const ping = {
      zen: 'Design for failure.',
      hook_id: 109948940,
      hook: { type: 'Organization', events: ['package'] },
    };
    expect(parse(ping, 'ping')).toEqual([]);
    expect(parse(ghcrPackageEvent(), 'push')).toEqual([]);
    expect(parseGhcrPayload(ghcrPackageEvent(), {})).toEqual([]);
  });

  it('rejects package events without a package, a name or a version, naming the field', () => {
    expect(() => parse({ action: 'published', sender: { login: 'octocat' } })).toThrow(
      new WebhookPayloadError('package: expected an object'),
    );
    expect(() => parse({ package: { package_type: 'CONTAINER' } })).toThrow(/^action: /);

    const withoutVersion = ghcrPackageEvent();
    const { package_version: _, ...pkg } = withoutVersion.package;
    expect(() => parse({ ...withoutVersion, package: pkg })).toThrow(/^package\.package_version: /);

    const badDigest = ghcrPackageEvent({ tagDigest: 'sha256' });
    expect(() => parse(badDigest)).toThrow(/^package\.package_version\.container_metadata\.tag\.digest: /);

    const badName = ghcrPackageEvent();
    badName.package = { ...badName.package, name: 'hello world' };
    expect(() => parse(badName)).toThrow(/^package\.name: expected a repository name/);
  });

  it('keeps the digest of the tag when it differs from the version (a multi-arch index)', () => {
    const indexDigest = digestOf('index');
    expect(parse(ghcrPackageEvent({ tagDigest: indexDigest }))[0]?.digest).toBe(indexDigest);
  });
});
