import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  imageIdDigest,
  isPlatformManifest,
  nodePlatform,
  podImages,
  runningBuild,
  templateContainers,
} from '../../../worker/running-digest.ts';
import type { ImageState } from '../../../workflows/watch-messages.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const rec = (c: string, at: string, platforms?: { digest: string; platform: string }[]) => ({
  tag: '1.4',
  digest: d(c),
  firstSeenAt: at,
  created: at,
  ...(platforms ? { platforms } : {}),
});

// Newest first: 3 (a two-platform index), then 2, then 1.
const state: ImageState = {
  latest: rec('3', '2026-11-03T00:00:00Z', [
    { digest: d('a'), platform: 'linux/amd64' },
    { digest: d('b'), platform: 'linux/arm64/v8' },
  ]),
  previous: [rec('2', '2026-11-02T00:00:00Z'), rec('1', '2026-11-01T00:00:00Z')],
  nextDueAt: 0,
};

const deployment: V1Deployment = {
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      spec: {
        initContainers: [{ name: 'migrate', image: 'r/web:1.4' }],
        containers: [{ name: 'web', image: 'r/web:1.4' }],
      },
    },
  },
};

function pod(opts: {
  imageID?: string;
  init?: string;
  labels?: Record<string, string>;
  phase?: string;
  deleting?: boolean;
  node?: string;
}): V1Pod {
  return {
    metadata: {
      labels: opts.labels ?? { app: 'web' },
      ...(opts.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: { containers: [], ...(opts.node ? { nodeName: opts.node } : {}) },
    status: {
      phase: opts.phase ?? 'Running',
      containerStatuses: [
        { name: 'web', image: 'r/web:1.4', imageID: opts.imageID ?? '', ready: true, restartCount: 0 },
      ],
      ...(opts.init
        ? {
            initContainerStatuses: [
              { name: 'migrate', image: 'r/web:1.4', imageID: opts.init, ready: false, restartCount: 0 },
            ],
          }
        : {}),
    },
  };
}

describe('what really runs: imageID', () => {
  it('reads the registry digest the way kubelets report it, never a local image id', () => {
    expect(imageIdDigest(`127.0.0.1:5000/acme/web@${d('1')}`)).toBe(d('1'));
    expect(imageIdDigest(`docker-pullable://docker.io/library/nginx@${d('2')}`)).toBe(d('2'));
    expect(imageIdDigest(`127.0.0.1:5000/acme/web:1.4@${d('3')}`)).toBe(d('3'));
    expect(imageIdDigest(d('4'))).toBeUndefined();
    expect(imageIdDigest('')).toBeUndefined();
    expect(imageIdDigest(undefined)).toBeUndefined();
  });

  it('takes the live pods of the Deployment, init containers from their own statuses', () => {
    const pods = [
      pod({ imageID: `r/web@${d('1')}`, init: `r/web@${d('2')}`, node: 'n1' }),
      pod({ imageID: `r/web@${d('5')}`, labels: { app: 'other' } }),
      pod({ imageID: `r/web@${d('6')}`, deleting: true }),
      pod({ imageID: `r/web@${d('7')}`, phase: 'Succeeded' }),
      pod({ imageID: '' }),
    ];
    expect(podImages(pods, deployment, 'web', 'container')).toEqual([{ digest: d('1'), nodeName: 'n1' }]);
    expect(podImages(pods, deployment, 'migrate', 'init')).toEqual([{ digest: d('2'), nodeName: 'n1' }]);
    expect(templateContainers(deployment).map((c) => [c.container.name, c.kind])).toEqual([
      ['web', 'container'],
      ['migrate', 'init'],
    ]);
  });
});

describe('what really runs: the rule', () => {
  it('is up to date only when every pod runs the newest build', () => {
    expect(runningBuild(state, [{ digest: d('3') }, { digest: d('3') }], d('3'))).toMatchObject({
      digest: d('3'),
      from: 'pods',
      upToDate: true,
    });
  });

  it('reports the OLDEST build any pod runs: one pod left on an old digest keeps the target behind', () => {
    const running = runningBuild(state, [{ digest: d('3') }, { digest: d('1') }, { digest: d('2') }], d('3'));
    expect(running).toMatchObject({ digest: d('1'), from: 'pods', upToDate: false });
    expect(running.record?.created).toBe('2026-11-01T00:00:00Z');
  });

  it('believes the pods over a spec pinned to the newest digest (pods not replaced yet)', () => {
    expect(runningBuild(state, [{ digest: d('2') }], d('3'))).toMatchObject({
      digest: d('2'),
      upToDate: false,
    });
  });

  it('counts a digest the watch never saw as older than every kept build', () => {
    const running = runningBuild(state, [{ digest: d('1') }, { digest: d('9') }], undefined);
    expect(running).toMatchObject({ digest: d('9'), upToDate: false });
    expect(running.record).toBeUndefined();
  });

  it("uses the spec's pin only when no pod reports a digest, and says so", () => {
    expect(runningBuild(state, [], d('3'))).toMatchObject({ digest: d('3'), from: 'spec', upToDate: true });
    expect(runningBuild(state, [], undefined)).toEqual({ upToDate: false });
    expect(runningBuild(undefined, [{ digest: d('3') }], undefined)).toMatchObject({
      digest: d('3'),
      upToDate: false,
    });
  });
});

describe('what really runs: multi-arch', () => {
  it("accepts the index's child for the pod's node platform as the index's build", () => {
    expect(runningBuild(state, [{ digest: d('b'), nodePlatform: 'linux/arm64' }], undefined)).toMatchObject({
      digest: d('3'),
      upToDate: true,
    });
    expect(
      runningBuild(
        state,
        [
          { digest: d('a'), nodePlatform: 'linux/amd64' },
          { digest: d('3'), nodePlatform: 'linux/arm64' },
        ],
        undefined,
      ),
    ).toMatchObject({ digest: d('3'), upToDate: true });
  });

  it("refuses a child the index lists for another platform than the pod's node", () => {
    expect(runningBuild(state, [{ digest: d('b'), nodePlatform: 'linux/amd64' }], undefined)).toMatchObject({
      digest: d('b'),
      upToDate: false,
    });
  });

  it('takes the index as proof when the node could not be read', () => {
    expect(runningBuild(state, [{ digest: d('b') }], undefined)).toMatchObject({
      digest: d('3'),
      upToDate: true,
    });
  });

  it('needs the node only for a digest known as a platform manifest', () => {
    expect(isPlatformManifest(state, d('b'))).toBe(true);
    expect(isPlatformManifest(state, d('3'))).toBe(false);
    expect(isPlatformManifest(state, d('9'))).toBe(false);
    expect(isPlatformManifest(undefined, d('b'))).toBe(false);
  });

  it("reads the node's platform from its well-known labels", () => {
    expect(nodePlatform({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' })).toBe('linux/arm64');
    expect(nodePlatform({ 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64' })).toBe(
      'linux/amd64',
    );
    expect(nodePlatform({ 'kubernetes.io/os': 'linux' })).toBeUndefined();
    expect(nodePlatform(undefined)).toBeUndefined();
  });
});
