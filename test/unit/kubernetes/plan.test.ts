import { describe, expect, it } from 'vitest';
import { type DeploymentState, parseDeployment } from '../../../activities/kubernetes/deployment.ts';
import { newImageFor, planTargets } from '../../../activities/kubernetes/plan.ts';
import type { PlanStageInput, TargetSpec } from '../../../activities/kubernetes/types.ts';

const digest = `sha256:${'a'.repeat(64)}`;
const older = `sha256:${'b'.repeat(64)}`;
const repo = '127.0.0.1:5000/demo/web';

function deployment(
  namespace: string,
  name: string,
  containers: Record<string, string>,
  labels: Record<string, string> = { app: name },
  generation = 1,
): DeploymentState {
  return parseDeployment({
    metadata: { name, namespace, generation, labels },
    spec: {
      template: {
        spec: { containers: Object.entries(containers).map(([n, image]) => ({ name: n, image })) },
      },
    },
  });
}

function input(targets: TargetSpec[], overrides: Partial<PlanStageInput> = {}): PlanStageInput {
  return {
    pipeline: 'web',
    cluster: 'staging',
    targets,
    registryHost: '127.0.0.1:5000',
    repository: 'demo/web',
    tag: '1.1',
    digest,
    ...overrides,
  };
}

const instance = 'prod';
const planFor = (deployments: DeploymentState[], i: PlanStageInput) => planTargets(deployments, i, instance);

describe('planTargets', () => {
  it('plans an update of the one container running the repository, with the digest-pinned image', () => {
    const d = deployment('web', 'web', { proxy: 'envoy:1.30', web: `${repo}:1.0@${older}` }, undefined, 7);
    const plan = planFor([d], input([{ namespace: 'web', deployment: 'web' }]));
    expect(plan).toEqual({
      newImage: `${repo}:1.1@${digest}`,
      problems: [],
      targets: [
        {
          cluster: 'staging',
          namespace: 'web',
          deployment: 'web',
          container: 'web',
          currentImage: `${repo}:1.0@${older}`,
          generation: 7,
          action: 'update',
        },
      ],
    });
  });

  it('skips a Deployment that already pins the digest, whatever its tag, and says why', () => {
    const d = deployment('web', 'web', { web: `${repo}:old-tag@${digest}` });
    const [target] = planFor([d], input([{ namespace: 'web', deployment: 'web' }])).targets;
    expect(target?.action).toBe('skip');
    expect(target?.reason).toBe(`already runs ${digest}`);
  });

  it('updates a container that runs the repository by tag only (no digest pinned yet)', () => {
    const d = deployment('web', 'web', { web: `${repo}:1.1` });
    expect(planFor([d], input([{ namespace: 'web', deployment: 'web' }])).targets[0]?.action).toBe('update');
  });

  it('reports a missing explicit Deployment as a problem instead of throwing', () => {
    const plan = planFor([], input([{ namespace: 'staging', deployment: 'web' }]));
    expect(plan.targets).toEqual([]);
    expect(plan.problems).toEqual(['staging/web: Deployment not found']);
  });

  it('does not match a Deployment of the same name in another namespace', () => {
    const plan = planFor(
      [deployment('other', 'web', { web: `${repo}:1.0` })],
      input([{ namespace: 'staging', deployment: 'web' }]),
    );
    expect(plan.problems).toEqual(['staging/web: Deployment not found']);
  });

  it('reports a selector that matches nothing, naming the selector', () => {
    const plan = planFor(
      [deployment('web', 'api', { api: `${repo}:1.0` }, { app: 'api' })],
      input([{ namespace: 'web', selector: { tier: 'front', app: 'web' } }]),
    );
    expect(plan.problems).toEqual(['web: no Deployment matches selector app=web,tier=front']);
  });

  it('refuses an empty selector, which would match the whole namespace', () => {
    const plan = planFor(
      [deployment('web', 'web', { web: repo })],
      input([{ namespace: 'web', selector: {} }]),
    );
    expect(plan.targets).toEqual([]);
    expect(plan.problems).toEqual(['web: target has neither a deployment nor a selector']);
  });

  it('matches selectors on all labels and sorts the result by namespace, then deployment', () => {
    const deployments = [
      deployment('b', 'zeta', { c: `${repo}:1` }, { team: 'web' }),
      deployment('b', 'alpha', { c: `${repo}:1` }, { team: 'web' }),
      deployment('a', 'mid', { c: `${repo}:1` }, { team: 'web' }),
      deployment('a', 'other-team', { c: `${repo}:1` }, { team: 'api' }),
      deployment('c', 'outside', { c: `${repo}:1` }, { team: 'web' }),
    ];
    const plan = planFor(
      deployments,
      input([
        { namespace: 'b', selector: { team: 'web' } },
        { namespace: 'a', selector: { team: 'web' } },
      ]),
    );
    expect(plan.problems).toEqual([]);
    expect(plan.targets.map((t) => `${t.namespace}/${t.deployment}`)).toEqual(['a/mid', 'b/alpha', 'b/zeta']);
  });

  it('plans a Deployment matched by several targets once', () => {
    const d = deployment('web', 'web', { web: `${repo}:1.0` }, { app: 'web', tier: 'front' });
    const plan = planFor(
      [d],
      input([
        { namespace: 'web', deployment: 'web' },
        { namespace: 'web', selector: { tier: 'front' } },
        { namespace: 'web', selector: { app: 'web' }, container: 'web' },
      ]),
    );
    expect(plan.problems).toEqual([]);
    expect(plan.targets).toHaveLength(1);
  });

  it('reports targets that pick different containers of the same Deployment', () => {
    const d = deployment('web', 'web', { web: `${repo}:1.0`, warmup: `${repo}:1.0` });
    const plan = planFor(
      [d],
      input([
        { namespace: 'web', deployment: 'web', container: 'web' },
        { namespace: 'web', deployment: 'web', container: 'warmup' },
      ]),
    );
    expect(plan.problems).toEqual(['web/web: targets disagree on the container (web, warmup)']);
  });

  it('uses the named container when it runs the repository, even beside another that does', () => {
    const d = deployment('staging', 'web', { a: `${repo}:0.9`, b: `${repo}:1.0` });
    const plan = planFor([d], input([{ namespace: 'staging', deployment: 'web', container: 'b' }]));
    expect(plan.problems).toEqual([]);
    expect(plan.targets[0]).toMatchObject({ container: 'b', currentImage: `${repo}:1.0`, action: 'update' });
  });

  it('reports a named container that runs another repository instead of patching it', () => {
    const d = deployment('staging', 'web', { a: 'nginx:1.25', b: `${repo}:1.0` });
    const plan = planFor([d], input([{ namespace: 'staging', deployment: 'web', container: 'a' }]));
    expect(plan.targets).toEqual([]);
    expect(plan.problems).toEqual([
      `staging/web: container "a" runs nginx:1.25, not ${repo}; check the target's container`,
    ]);
  });

  it('reports a named container of the same repository on another registry', () => {
    const d = deployment('staging', 'web', { web: '127.0.0.1:5001/demo/web:1.0' });
    const plan = planFor([d], input([{ namespace: 'staging', deployment: 'web', container: 'web' }]));
    expect(plan.targets).toEqual([]);
    expect(plan.problems).toEqual([
      `staging/web: container "web" runs 127.0.0.1:5001/demo/web:1.0, not ${repo}; check the target's container`,
    ]);
  });

  it('reports a named container that does not exist, listing the containers', () => {
    const d = deployment('staging', 'web', { a: `${repo}:1`, b: 'busybox:1' });
    const plan = planFor([d], input([{ namespace: 'staging', deployment: 'web', container: 'x' }]));
    expect(plan.targets).toEqual([]);
    expect(plan.problems).toEqual(['staging/web: no container "x" (containers: a, b)']);
  });

  it('reports a Deployment with no container running the repository', () => {
    const d = deployment('staging', 'web', { web: '127.0.0.1:5001/demo/web:1.0' });
    const plan = planFor([d], input([{ namespace: 'staging', deployment: 'web' }]));
    expect(plan.problems).toEqual([
      'staging/web: no container runs 127.0.0.1:5000/demo/web (containers: web=127.0.0.1:5001/demo/web:1.0); set container',
    ]);
  });

  it('reports a Deployment with several containers running the repository', () => {
    const d = deployment('staging', 'web', { web: `${repo}:1.0`, warmup: `${repo}@${older}` });
    const plan = planFor([d], input([{ namespace: 'staging', deployment: 'web' }]));
    expect(plan.problems).toEqual([
      'staging/web: several containers run 127.0.0.1:5000/demo/web (web, warmup); set container',
    ]);
  });

  it("matches Docker Hub's implicit host and library/ prefix", () => {
    const d = deployment('web', 'web', { web: 'nginx:1.25' });
    const plan = planFor(
      [d],
      input([{ namespace: 'web', deployment: 'web' }], {
        registryHost: 'docker.io',
        repository: 'library/nginx',
      }),
    );
    expect(plan.problems).toEqual([]);
    expect(plan.targets[0]?.container).toBe('web');
    expect(plan.newImage).toBe(`docker.io/library/nginx:1.1@${digest}`);
  });

  it('reports every problem at once while still planning the good targets', () => {
    const plan = planFor(
      [deployment('web', 'web', { web: `${repo}:1.0` })],
      input([
        { namespace: 'web', deployment: 'web' },
        { namespace: 'web', deployment: 'gone' },
        { namespace: 'web', selector: { app: 'nothing' } },
      ]),
    );
    expect(plan.targets.map((t) => t.deployment)).toEqual(['web']);
    expect(plan.problems).toEqual([
      'web/gone: Deployment not found',
      'web: no Deployment matches selector app=nothing',
    ]);
  });
});

describe('planTargets: a Deployment belongs to one pipeline', () => {
  const owned = (annotations: Record<string, string>) =>
    parseDeployment({
      metadata: { name: 'web', namespace: 'web', annotations, labels: { app: 'web' } },
      spec: { template: { spec: { containers: [{ name: 'web', image: `${repo}:1.0` }] } } },
    });

  it("plans a Deployment this pipeline of this instance owns, or nobody's yet", () => {
    const mine = owned({ 'freshet.dev/pipeline': 'web', 'freshet.dev/instance': instance });
    const nobodys = owned({ 'kubernetes.io/change-cause': 'kubectl' });
    for (const d of [mine, nobodys]) {
      const plan = planFor([d], input([{ namespace: 'web', deployment: 'web' }]));
      expect(plan.problems).toEqual([]);
      expect(plan.targets).toHaveLength(1);
    }
  });

  it("refuses another pipeline's Deployment as a plan problem, naming the owner and the annotations", () => {
    const d = owned({ 'freshet.dev/pipeline': 'shop', 'freshet.dev/instance': instance });
    const plan = planFor([d], input([{ namespace: 'web', selector: { app: 'web' } }]));
    expect(plan.targets).toEqual([]);
    expect(plan.problems).toEqual([
      'web/web: belongs to pipeline "shop" of Freshet instance "prod" (annotations freshet.dev/pipeline, ' +
        'freshet.dev/instance), not to pipeline "web" of "prod"; target it from one pipeline, or remove both annotations to hand it over',
    ]);
  });

  it("refuses a pipeline of the same name in another Freshet instance's", () => {
    const d = owned({ 'freshet.dev/pipeline': 'web', 'freshet.dev/instance': 'staging-freshet' });
    const plan = planFor([d], input([{ namespace: 'web', deployment: 'web' }]));
    expect(plan.targets).toEqual([]);
    expect(plan.problems[0]).toContain('belongs to pipeline "web" of Freshet instance "staging-freshet"');
  });
});

describe('newImageFor', () => {
  it('keeps the tag for readability and pins the digest', () => {
    expect(newImageFor({ registryHost: 'r.example:5000', repository: 'a/b', tag: '2', digest })).toBe(
      `r.example:5000/a/b:2@${digest}`,
    );
  });

  it('pins by digest alone when there is no tag', () => {
    expect(newImageFor({ registryHost: 'r.example', repository: 'a/b', tag: '', digest })).toBe(
      `r.example/a/b@${digest}`,
    );
  });
});
