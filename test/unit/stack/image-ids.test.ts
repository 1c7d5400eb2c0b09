// The stack's simulated kubelet reports imageID as a runtime does; the registry side of it is
// exercised end to end (test/e2e/freshness-running-digest.test.ts).
import { describe, expect, it } from 'vitest';
import {
  imageIdPatch,
  nodeFacts,
  parseImageName,
  platformEntry,
  type StatusRef,
  wantedImageId,
} from '../../../stack/image-ids.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const status = (over: Partial<StatusRef> = {}): StatusRef => ({
  list: 'containerStatuses',
  index: 1,
  name: 'web',
  image: '127.0.0.1:5000/acme/web:1.4',
  imageID: '',
  started: true,
  ...over,
});
const noRegistry = () => undefined;

describe('kubelet images: names and patches', () => {
  it('reads references that name a registry host, with tag and digest', () => {
    expect(parseImageName('127.0.0.1:5000/acme/web:1.4')).toEqual({
      host: '127.0.0.1:5000',
      repository: 'acme/web',
      tag: '1.4',
    });
    expect(parseImageName(`127.0.0.1:5000/acme/web:1.4@${d('1')}`)).toMatchObject({
      tag: '1.4',
      digest: d('1'),
    });
    expect(parseImageName(`localhost/web@${d('1')}`)).toEqual({
      host: 'localhost',
      repository: 'web',
      digest: d('1'),
    });
    expect(parseImageName('nginx:1.27')).toBeUndefined();
    expect(parseImageName('acme/web:1.4')).toBeUndefined();
  });

  it('patches one imageID, guarded by the container name and the value it replaces', () => {
    expect(imageIdPatch(status(), `127.0.0.1:5000/acme/web@${d('2')}`)).toEqual([
      { op: 'test', path: '/status/containerStatuses/1/name', value: 'web' },
      { op: 'test', path: '/status/containerStatuses/1/imageID', value: '' },
      { op: 'add', path: '/status/containerStatuses/1/imageID', value: `127.0.0.1:5000/acme/web@${d('2')}` },
    ]);
  });

  it("picks the index entry of the node's platform", () => {
    const index = {
      manifests: [
        { digest: d('a'), platform: { os: 'linux', architecture: 'amd64' } },
        { digest: d('b'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    };
    expect(platformEntry(index, { os: 'linux', architecture: 'arm64' })).toBe(d('b'));
    expect(platformEntry(index, { os: 'linux', architecture: 's390x' })).toBeUndefined();
    expect(platformEntry({ config: {}, layers: [] }, { os: 'linux', architecture: 'amd64' })).toBeUndefined();
  });

  it("reads the node's platform and whether it reports platform manifests", () => {
    expect(
      nodeFacts(
        { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' },
        { 'stack.freshet.dev/image-id': 'platform-manifest' },
      ),
    ).toEqual({ platform: { os: 'linux', architecture: 'arm64' }, reportsPlatformManifest: true });
    expect(nodeFacts(undefined, undefined)).toEqual({ reportsPlatformManifest: false });
  });
});

describe('kubelet images: what is left alone', () => {
  const node = nodeFacts({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' }, {});

  it('a container that never started (an image that cannot be pulled) reports no imageID', async () => {
    expect(await wantedImageId(status({ started: false }), node, noRegistry)).toBeUndefined();
  });

  it('an imageID already reported stays, on a node that reports the index', async () => {
    expect(
      await wantedImageId(status({ imageID: `127.0.0.1:5000/acme/web@${d('1')}` }), node, noRegistry),
    ).toBe(undefined);
  });

  it('an image on a registry the stack does not run is not resolved', async () => {
    expect(await wantedImageId(status({ image: 'registry.invalid/acme/web:1.4' }), node, noRegistry)).toBe(
      undefined,
    );
  });
});
