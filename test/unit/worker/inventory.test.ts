import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../../activities/registry/errors.ts';
import { lookupFailureReason } from '../../../activities/watch/check-images.ts';
import { parseConfig } from '../../../config/load.ts';
import { inventoryEntries, planImages } from '../../../worker/inventory.ts';
import { workloadsFromLists } from '../../../worker/inventory-workloads.ts';
import type { WatchStatus } from '../../../workflows/watch-messages.ts';

const d = (n: number) => `sha256:${String(n).repeat(64)}`;
const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, namespace: 'apps', ...extra });
const template = (containers: object[], initContainers?: object[]) => ({
  spec: { containers, ...(initContainers ? { initContainers } : {}) },
});
const owned = (kind: string, name: string) => ({
  ownerReferences: [{ kind, name, uid: `${name}-uid`, controller: true }],
});
const pod = (
  name: string,
  owner: Record<string, unknown>,
  statuses: { containers?: [string, string][]; init?: [string, string][] },
  extra: Record<string, unknown> = {},
) => ({
  metadata: meta(name, owner),
  spec: { nodeName: 'node-1' },
  status: {
    phase: 'Running',
    containerStatuses: (statuses.containers ?? []).map(([n, id]) => ({ name: n, imageID: id })),
    initContainerStatuses: (statuses.init ?? []).map(([n, id]) => ({ name: n, imageID: id })),
  },
  ...extra,
});
const host = '127.0.0.1:5000';
const ref = (repo: string, digest: string) => `${host}/${repo}@${digest}`;

const lists = () => ({
  deployments: [
    {
      metadata: meta('web', { labels: { team: 'shop' } }),
      spec: {
        template: template(
          [{ name: 'app', image: `${host}/acme/web:1.4` }],
          [{ name: 'migrate', image: `${host}/acme/tools:2` }],
        ),
      },
    },
  ],
  statefulSets: [
    {
      metadata: meta('db', { labels: { team: 'data' } }),
      spec: { template: template([{ name: 'pg', image: `${host}/acme/pg:16` }]) },
    },
  ],
  daemonSets: [
    {
      metadata: meta('agent'),
      spec: { template: template([{ name: 'agent', image: 'quay.example/agent:1' }]) },
    },
  ],
  cronJobs: [
    {
      metadata: meta('report', { uid: 'report-uid' }),
      spec: {
        jobTemplate: { spec: { template: template([{ name: 'run', image: `${host}/acme/tools:2` }]) } },
      },
    },
  ],
  jobs: [{ metadata: meta('report-29000000', owned('CronJob', 'report')) }],
  pods: [
    pod(
      'web-5f7c9-abcde',
      { labels: { 'pod-template-hash': '5f7c9' }, ...owned('ReplicaSet', 'web-5f7c9') },
      {
        containers: [['app', ref('acme/web', d(1))]],
        init: [['migrate', ref('acme/tools', d(7))]],
      },
    ),
    // A pod of another Deployment whose name starts the same is not web's.
    pod(
      'web-api-6d8-xyz',
      { labels: { 'pod-template-hash': '6d8' }, ...owned('ReplicaSet', 'web-api-6d8') },
      {
        containers: [['app', ref('acme/web', d(9))]],
      },
    ),
    pod('db-0', owned('StatefulSet', 'db'), { containers: [['pg', ref('acme/pg', d(3))]] }),
    pod('report-29000000-q', owned('Job', 'report-29000000'), {
      containers: [['run', ref('acme/tools', d(8))]],
    }),
    // Finished and deleting pods run nothing.
    pod(
      'db-1',
      owned('StatefulSet', 'db'),
      { containers: [['pg', ref('acme/pg', d(4))]] },
      {
        status: { phase: 'Succeeded', containerStatuses: [{ name: 'pg', imageID: ref('acme/pg', d(4)) }] },
      },
    ),
  ],
});

const config = parseConfig(
  `
registries: [ { name: local, url: "http://${host}" } ]
clusters: { kind: { kubeconfig: /dev/null } }
images:
  - { name: web, registry: local, repository: acme/web, track: { tag: "1.4" }, pipeline: web }
pipelines:
  web: { stages: [ { name: staging, cluster: kind, targets: [ { namespace: apps, deployment: web } ] } ] }
inventory: { namespaces: [apps], interval: 2m }
`,
  'test',
);
const inventory = config.inventory ?? (undefined as never);

describe('inventory workloads', () => {
  it('reads every kind with its containers and init containers, pods matched by owner', () => {
    const { workloads, problems } = workloadsFromLists('kind', lists(), {});
    expect(problems).toEqual([]);
    const summary = workloads.map((w) => ({
      kind: w.kind,
      name: w.name,
      containers: w.containers.map((c) => [c.name, c.init, c.pods.map((p) => p.digest)]),
    }));
    expect(summary).toEqual([
      {
        kind: 'Deployment',
        name: 'web',
        containers: [
          ['app', false, [d(1)]],
          ['migrate', true, [d(7)]],
        ],
      },
      { kind: 'StatefulSet', name: 'db', containers: [['pg', false, [d(3)]]] },
      { kind: 'DaemonSet', name: 'agent', containers: [['agent', false, []]] },
      { kind: 'CronJob', name: 'report', containers: [['run', false, [d(8)]]] },
    ]);
  });

  it('keeps only workloads whose labels match the selector', () => {
    const { workloads } = workloadsFromLists('kind', lists(), { team: 'data' });
    expect(workloads.map((w) => w.name)).toEqual(['db']);
  });

  it('leaves out an object that does not parse and names it', () => {
    const l = lists();
    l.statefulSets.push({
      metadata: meta('broken'),
      spec: { template: { spec: { containers: 'nope' } } },
    } as never);
    const { workloads, problems } = workloadsFromLists('kind', l, {});
    expect(workloads.map((w) => w.name)).not.toContain('broken');
    expect(problems).toEqual([
      expect.stringMatching(/^StatefulSet apps\/broken: spec\.template\.spec\.containers: /),
    ]);
  });
});

describe('inventory images', () => {
  const { workloads } = workloadsFromLists('kind', lists(), {});
  const plan = planImages(config, inventory, workloads);

  it('checks a configured image once and adds every other tag as one watch-only image', () => {
    expect(plan.imageFor(`${host}/acme/web:1.4`)).toEqual({ name: 'web' });
    expect(plan.discovered).toEqual([
      {
        name: `${host}/acme/pg:16`,
        registry: 'local',
        repository: 'acme/pg',
        track: { tag: '16' },
        intervalMs: 120_000,
        platform: 'linux/amd64',
      },
      {
        name: `${host}/acme/tools:2`,
        registry: 'local',
        repository: 'acme/tools',
        track: { tag: '2' },
        intervalMs: 120_000,
        platform: 'linux/amd64',
      },
    ]);
    expect(plan.discovered.every((i) => i.pipeline === undefined)).toBe(true);
  });

  it('says why an image cannot be checked', () => {
    expect(plan.imageFor('quay.example/agent:1')).toEqual({ problem: 'no_registry' });
    expect(plan.imageFor(`${host}/acme/pinned@${d(5)}`)).toEqual({ problem: 'no_tag' });
  });

  it('dates staleness, per container, from what the pods run', () => {
    const at = (day: number) => `2026-11-0${day}T00:00:00Z`;
    const statuses: WatchStatus[] = [
      {
        group: 'local',
        cycles: 3,
        images: [
          {
            image: plan.discovered[1] ?? (undefined as never),
            state: {
              latest: { tag: '2', digest: d(8), firstSeenAt: at(3), created: at(2) },
              previous: [{ tag: '2', digest: d(7), firstSeenAt: at(1), created: at(1) }],
              lastCheckAt: at(4),
              nextDueAt: 0,
            },
          },
          {
            image: plan.discovered[0] ?? (undefined as never),
            state: {
              previous: [],
              lastCheckAt: at(4),
              lastError: 'registry local: HEAD acme/pg:16 → 404',
              lastErrorReason: 'absent',
              nextDueAt: 0,
            },
          },
        ],
      },
    ];
    const entries = inventoryEntries(config, workloads, plan, statuses);
    const of = (workload: string, container: string) =>
      entries.find((e) => e.workload === workload && e.container === container);
    expect(of('web', 'migrate')).toMatchObject({
      kind: 'Deployment',
      init: true,
      image: `${host}/acme/tools:2`,
      runningDigest: d(7),
      runningFrom: 'pods',
      latestDigest: d(8),
      upToDate: false,
      behindSince: Date.parse(at(3)) / 1000,
      runningCreated: Date.parse(at(1)) / 1000,
      inPipeline: false,
    });
    expect(of('report', 'run')).toMatchObject({ kind: 'CronJob', upToDate: true, lastCheckAt: at(4) });
    expect(of('db', 'pg')).toMatchObject({ problem: 'absent', upToDate: false });
    expect(of('web', 'app')).toMatchObject({ inPipeline: true, problem: 'unchecked' });
    expect(of('agent', 'agent')).toMatchObject({ problem: 'no_registry', image: 'quay.example/agent:1' });
  });
});

describe('inventory config', () => {
  const parse = (inv: string) =>
    parseConfig(`clusters: { a: { kubeconfig: /dev/null } }\ninventory: ${inv}\n`, 'test');
  it('defaults the intervals and allows "*" alone', () => {
    expect(parse('{ namespaces: ["*"] }').inventory).toEqual({
      namespaces: ['*'],
      interval: 300_000,
      scanInterval: 60_000,
    });
  });
  it('refuses "*" beside names, unknown clusters and an empty list, naming the path', () => {
    expect(() => parse('{ namespaces: ["*", web] }')).toThrow(
      /inventory\.namespaces \(line \d+\): "\*" means every namespace/,
    );
    expect(() => parse('{ namespaces: [web], clusters: [b] }')).toThrow(
      /inventory\.clusters\[0\] \(line \d+\): no cluster named "b"/,
    );
    expect(() => parse('{ namespaces: [] }')).toThrow(
      /inventory\.namespaces \(line \d+\): name at least one namespace/,
    );
    expect(() => parse('{ namespaces: [Web] }')).toThrow(/not a valid namespace name/);
  });
});

describe('lookup failure reasons', () => {
  const err = (status?: number) =>
    new RegistryError({
      registry: 'r',
      method: 'HEAD',
      target: 'a:1',
      retryable: false,
      problem: 'x',
      ...(status ? { status } : {}),
    });
  it('names a 404 absent and keeps the rest to a few words', () => {
    expect(lookupFailureReason(err(404))).toBe('absent');
    expect(lookupFailureReason(err(401))).toBe('unauthorized');
    expect(lookupFailureReason(err(429))).toBe('rate_limited');
    expect(lookupFailureReason(err(503))).toBe('server_error');
    expect(lookupFailureReason(err())).toBe('unreachable');
    expect(lookupFailureReason(new Error('boom'))).toBe('error');
  });
});
