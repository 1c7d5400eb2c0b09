import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../config/load.ts';

const problems = (yaml: string) => {
  try {
    parseConfig(yaml, 't', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
};

describe('two Freshet deployments in one namespace: the instance name', () => {
  it('defaults to the task queue, so deployments on two task queues never share workflow ids', () => {
    expect(parseConfig('temporal: { taskQueue: freshet-b }', 't', { env: {} }).temporal.instance).toBe(
      'freshet-b',
    );
    expect(parseConfig('{}', 't', { env: {} }).temporal.instance).toBe('freshet');
    expect(parseConfig('temporal: { instance: prod }', 't', { env: {} }).temporal).toMatchObject({
      taskQueue: 'freshet',
      instance: 'prod',
    });
  });

  it('refuses a name that cannot end a workflow id, and a task queue that cannot serve as one', () => {
    expect(problems('temporal: { instance: "a@b" }')).toEqual([
      'temporal.instance: instance names use letters, digits, ".", "_" and "-" (like "prod"), at most 63',
    ]);
    expect(problems('temporal: { taskQueue: "freshet queue" }')).toEqual([
      'temporal.instance: the task queue "freshet queue" cannot serve as the instance name; set temporal.instance (letters, digits, ".", "_" and "-")',
    ]);
    expect(problems('temporal: { taskQueue: "freshet queue", instance: prod }')).toEqual([]);
  });
});

describe('two pipelines targeting one Deployment are refused at load time', () => {
  const config = (second: string) => `
clusters: { prod: {}, staging: {} }
pipelines:
  web:
    stages:
      - name: s
        cluster: prod
        targets: [ { namespace: web, deployment: api }, { namespace: web, selector: { tier: front, app: shop } } ]
  shop:
    stages:
      - { name: s, cluster: staging, targets: [ { namespace: web, deployment: api } ] }
      - { name: t, cluster: prod, targets: [ ${second} ] }
`;

  it('names both pipelines and the path of the second target', () => {
    expect(
      problems(config('{ namespace: web, deployment: other }, { namespace: web, deployment: api }')),
    ).toEqual([
      'pipelines.shop.stages[1].targets[1].deployment: Deployment web/api on cluster prod is also a target of pipeline "web" ' +
        '(pipelines.web.stages[0].targets[0]); pipelines "web" and "shop" would fight over its image: target it from one pipeline',
    ]);
  });

  it('refuses the same selector, whatever the order of its labels', () => {
    expect(problems(config('{ namespace: web, selector: { app: shop, tier: front } }'))).toEqual([
      'pipelines.shop.stages[1].targets[0].selector: selector app=shop,tier=front in namespace web on cluster prod is also ' +
        'a target of pipeline "web" (pipelines.web.stages[0].targets[1]); pipelines "web" and "shop" would fight over its image: target it from one pipeline',
    ]);
  });

  it('allows the same name on another cluster or namespace, other selectors, and one pipeline naming it twice', () => {
    expect(
      problems(config('{ namespace: shop, deployment: api }, { namespace: web, selector: { tier: front } }')),
    ).toEqual([]);
    expect(
      problems(`
clusters: { prod: {} }
pipelines:
  web:
    stages:
      - { name: a, cluster: prod, targets: [ { namespace: web, deployment: api } ] }
      - { name: b, cluster: prod, targets: [ { namespace: web, deployment: api } ] }
`),
    ).toEqual([]);
  });
});
