import { describe, expect, it } from 'vitest';
import { planTargets } from '../../../activities/kubernetes/plan.ts';
import type { PlanStageInput, TargetSpec, WorkloadKind } from '../../../activities/kubernetes/types.ts';
import { imagePatch, parseWorkload, type WorkloadState } from '../../../activities/kubernetes/workload.ts';

const digest = `sha256:${'a'.repeat(64)}`;
const older = `sha256:${'b'.repeat(64)}`;
const repo = '127.0.0.1:5000/demo/web';
const oldImage = `${repo}:1.0@${older}`;

interface PodSpecInput {
  containers?: Record<string, string>;
  init?: Record<string, string>;
  sidecars?: Record<string, string>;
}

function podSpec(p: PodSpecInput) {
  const list = (m: Record<string, string> | undefined, extra = {}) =>
    Object.entries(m ?? {}).map(([name, image]) => ({ name, image, ...extra }));
  return {
    containers: list(p.containers ?? { app: 'busybox:1' }),
    initContainers: [...list(p.init), ...list(p.sidecars, { restartPolicy: 'Always' })],
  };
}

function workload(
  kind: WorkloadKind,
  name: string,
  p: PodSpecInput,
  labels: Record<string, string> = { app: name },
): WorkloadState {
  const template = { spec: podSpec(p) };
  const spec =
    kind === 'CronJob' ? { schedule: '* * * * *', jobTemplate: { spec: { template } } } : { template };
  return parseWorkload(kind, { metadata: { name, namespace: 'ns', generation: 3, labels }, spec });
}

function input(targets: TargetSpec[]): PlanStageInput {
  return {
    pipeline: 'web',
    cluster: 'staging',
    targets,
    registryHost: '127.0.0.1:5000',
    repository: 'demo/web',
    tag: '1.1',
    digest,
  };
}

describe('planTargets across workload kinds', () => {
  it('plans a named StatefulSet, DaemonSet and CronJob with their kind, and no kind for a Deployment', () => {
    const all = [
      workload('Deployment', 'web', { containers: { web: oldImage } }),
      workload('StatefulSet', 'db', { containers: { web: oldImage } }),
      workload('DaemonSet', 'agent', { containers: { web: oldImage } }),
      workload('CronJob', 'report', { containers: { web: oldImage } }),
    ];
    const plan = planTargets(
      all,
      input([
        { namespace: 'ns', deployment: 'web' },
        { namespace: 'ns', kind: 'StatefulSet', name: 'db' },
        { namespace: 'ns', kind: 'DaemonSet', name: 'agent' },
        { namespace: 'ns', kind: 'CronJob', name: 'report', awaitNextJob: true },
      ]),
      'prod',
    );
    expect(plan.problems).toEqual([]);
    expect(plan.targets.map((t) => [t.kind, t.deployment, t.container, t.awaitNextJob])).toEqual([
      ['DaemonSet', 'agent', 'web', undefined],
      ['StatefulSet', 'db', 'web', undefined],
      ['CronJob', 'report', 'web', true],
      [undefined, 'web', 'web', undefined],
    ]);
    expect(plan.targets.every((t) => t.action === 'update' && t.currentImage === oldImage)).toBe(true);
  });

  it('does not take a workload of another kind with the same name', () => {
    const plan = planTargets(
      [workload('Deployment', 'db', { containers: { web: oldImage } })],
      input([{ namespace: 'ns', kind: 'StatefulSet', name: 'db' }]),
      'prod',
    );
    expect(plan.targets).toEqual([]);
    expect(plan.problems).toEqual(['ns/db: StatefulSet not found']);
  });

  it('matches a selector across the kinds it names, and only those', () => {
    const labels = { tier: 'back' };
    const plan = planTargets(
      [
        workload('Deployment', 'api', { containers: { web: oldImage } }, labels),
        workload('StatefulSet', 'db', { containers: { web: oldImage } }, labels),
        workload('DaemonSet', 'agent', { containers: { web: oldImage } }, labels),
      ],
      input([{ namespace: 'ns', selector: labels, kinds: ['Deployment', 'StatefulSet'] }]),
      'prod',
    );
    expect(plan.problems).toEqual([]);
    expect(plan.targets.map((t) => `${t.kind ?? 'Deployment'}/${t.deployment}`)).toEqual([
      'Deployment/api',
      'StatefulSet/db',
    ]);
  });

  it('chooses the init container or the sidecar that runs the repository when none is named', () => {
    const plan = planTargets(
      [
        workload('Deployment', 'migrate', { containers: { app: 'busybox:1' }, init: { migrate: oldImage } }),
        workload('StatefulSet', 'db', {
          containers: { db: 'postgres:17' },
          sidecars: { exporter: oldImage },
        }),
      ],
      input([
        { namespace: 'ns', deployment: 'migrate' },
        { namespace: 'ns', kind: 'StatefulSet', name: 'db' },
      ]),
      'prod',
    );
    expect(plan.problems).toEqual([]);
    expect(plan.targets.map((t) => [t.deployment, t.container])).toEqual([
      ['db', 'exporter'],
      ['migrate', 'migrate'],
    ]);
  });

  it('takes a named init container, and lists init containers when the name is wrong', () => {
    const d = workload('DaemonSet', 'agent', { containers: { app: 'busybox:1' }, init: { setup: oldImage } });
    expect(
      planTargets(
        [d],
        input([{ namespace: 'ns', kind: 'DaemonSet', name: 'agent', container: 'setup' }]),
        'p',
      ).targets[0]?.container,
    ).toBe('setup');
    expect(
      planTargets([d], input([{ namespace: 'ns', kind: 'DaemonSet', name: 'agent', container: 'nope' }]), 'p')
        .problems,
    ).toEqual(['ns/daemonset/agent: no container "nope" (containers: app, setup)']);
  });

  it('refuses to guess when an init container and an app container both run the repository', () => {
    const d = workload('Deployment', 'web', { containers: { web: oldImage }, init: { migrate: oldImage } });
    expect(planTargets([d], input([{ namespace: 'ns', deployment: 'web' }]), 'p').problems).toEqual([
      'ns/web: several containers run 127.0.0.1:5000/demo/web (web, migrate); set container',
    ]);
  });
});

describe('imagePatch per kind', () => {
  const annotations = { 'freshet.dev/image': 'x' };
  it('patches a CronJob inside its Job template', () => {
    const cj = workload('CronJob', 'report', { containers: { web: oldImage } });
    expect(imagePatch(cj, 'web', oldImage, 'new', annotations).slice(0, 3)).toEqual([
      { op: 'test', path: '/spec/jobTemplate/spec/template/spec/containers/0/name', value: 'web' },
      { op: 'test', path: '/spec/jobTemplate/spec/template/spec/containers/0/image', value: oldImage },
      { op: 'replace', path: '/spec/jobTemplate/spec/template/spec/containers/0/image', value: 'new' },
    ]);
  });

  it('patches a sidecar at its index among the init containers', () => {
    const sts = workload('StatefulSet', 'db', {
      containers: { db: 'postgres:17' },
      init: { setup: 'busybox:1' },
      sidecars: { exporter: oldImage },
    });
    expect(imagePatch(sts, 'exporter', oldImage, 'new', annotations)[2]).toEqual({
      op: 'replace',
      path: '/spec/template/spec/initContainers/1/image',
      value: 'new',
    });
  });
});

describe('parseWorkload', () => {
  it('reads a CronJob as the typed client returns it (Dates) and as a watch event carries it (text)', () => {
    const at = '2026-01-02T03:04:00.000Z';
    const spec = { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: podSpec({}) } } } };
    const metadata = { name: 'report', namespace: 'ns', creationTimestamp: new Date(at) };
    // V1CronJobStatus: lastScheduleTime and lastSuccessfulTime are Date objects.
    const typed = parseWorkload('CronJob', {
      metadata,
      spec,
      status: { lastScheduleTime: new Date(at), lastSuccessfulTime: new Date(at) },
    });
    const raw = parseWorkload('CronJob', {
      metadata: { ...metadata, creationTimestamp: at },
      spec,
      status: { lastScheduleTime: at, lastSuccessfulTime: at },
    });
    expect(typed.status).toEqual({ lastScheduleTime: at, lastSuccessfulTime: at });
    expect(raw).toEqual(typed);
  });
});
