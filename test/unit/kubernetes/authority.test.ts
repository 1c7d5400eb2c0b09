import { describe, expect, it } from 'vitest';
import { kubernetesAuthority } from '../../../activities/kubernetes/authority.ts';
import type { PlanStageInput, UpdateInput } from '../../../activities/kubernetes/types.ts';
import { parseConfig } from '../../../config/load.ts';

const config = parseConfig(
  `
temporal: { taskQueue: freshet-prod }
registries:
  - { name: local, url: "http://127.0.0.1:5000" }
  - { name: hub, url: "https://registry-1.docker.io" }
clusters: { staging: {}, production: {} }
images:
  - { name: web, registry: local, repository: acme/web, track: { tag: "1" }, pipeline: web }
  - { name: nginx, registry: hub, repository: library/nginx, track: { tag: "1" }, pipeline: edge }
  - { name: api, registry: local, repository: acme/api, track: { tag: "1" } }
pipelines:
  web:
    stages:
      - name: staging
        cluster: staging
        targets:
          - { namespace: web, deployment: api, container: api }
          - { namespace: web, selector: { app.kubernetes.io/part-of: shop, tier: front } }
      - name: production
        cluster: production
        targets: [ { namespace: web, deployment: api } ]
  edge:
    stages: [ { name: all, cluster: production, targets: [ { namespace: edge, deployment: proxy } ] } ]
`,
  'test',
  { env: {} },
);
const authority = kubernetesAuthority(config);
const digest = `sha256:${'a'.repeat(64)}`;

const plan = (overrides: Partial<PlanStageInput>): PlanStageInput => ({
  pipeline: 'web',
  cluster: 'staging',
  targets: [{ namespace: 'web', deployment: 'api', container: 'api' }],
  registryHost: '127.0.0.1:5000',
  repository: 'acme/web',
  tag: '1',
  digest,
  ...overrides,
});

const update = (ref: Partial<UpdateInput['ref']>, overrides: Partial<UpdateInput> = {}): UpdateInput => ({
  pipeline: 'web',
  ref: { cluster: 'staging', namespace: 'web', deployment: 'api', container: 'api', ...ref },
  newImage: `127.0.0.1:5000/acme/web:1@${digest}`,
  previousImage: '127.0.0.1:5000/acme/web:1',
  rolloutId: 'r',
  changeCause: 'c',
  ...overrides,
});

describe("the worker's config is the authority: what it contains is allowed", () => {
  it('knows its instance, the task queue by default', () => {
    expect(authority.instance).toBe('freshet-prod');
  });

  it('allows a plan of configured targets and a configured image of the pipeline', () => {
    expect(authority.planRefusal(plan({}))).toBeUndefined();
    expect(
      authority.planRefusal(
        plan({
          targets: [
            { namespace: 'web', deployment: 'api', container: 'api' },
            // Selectors compare as label sets, whatever the key order.
            { namespace: 'web', selector: { tier: 'front', 'app.kubernetes.io/part-of': 'shop' } },
          ],
        }),
      ),
    ).toBeUndefined();
    expect(
      authority.planRefusal(
        plan({ cluster: 'production', targets: [{ namespace: 'web', deployment: 'api' }] }),
      ),
    ).toBeUndefined();
  });

  it("compares images as Deployments spell them, with Docker Hub's implicit parts", () => {
    const edge = plan({
      pipeline: 'edge',
      cluster: 'production',
      targets: [{ namespace: 'edge', deployment: 'proxy' }],
      registryHost: 'docker.io',
      repository: 'library/nginx',
    });
    expect(authority.planRefusal(edge)).toBeUndefined();
  });

  it('allows an update of a named target and of a Deployment a configured selector matches', () => {
    expect(authority.updateRefusal(update({}), { app: 'api' })).toBeUndefined();
    const labels = { 'app.kubernetes.io/part-of': 'shop', tier: 'front', app: 'cart' };
    expect(
      authority.updateRefusal(update({ deployment: 'cart', container: 'cart' }), labels),
    ).toBeUndefined();
  });
});

describe("the worker's config is the authority: what it does not contain is refused", () => {
  it('refuses an unknown cluster, listing the configured ones', () => {
    expect(authority.clusterRefusal('mars')).toBe(
      `cluster "mars" is not in this Freshet's config (clusters: staging, production); configure it under clusters`,
    );
    expect(authority.planRefusal(plan({ cluster: 'mars' }))).toContain('cluster "mars" is not in');
    expect(authority.updateRefusal(update({ cluster: 'mars' }), {})).toContain('cluster "mars" is not in');
  });

  it('refuses a Deployment that no stage of the pipeline targets on that cluster', () => {
    expect(
      authority.planRefusal(plan({ targets: [{ namespace: 'kube-system', deployment: 'coredns' }] })),
    ).toBe(
      'Deployment kube-system/coredns on cluster staging is not a target of pipeline "web" on that cluster; ' +
        'configure it under pipelines.web.stages[].targets',
    );
    // Configured on production only, without the container staging names.
    expect(
      authority.planRefusal(
        plan({ cluster: 'production', targets: [{ namespace: 'web', deployment: 'api', container: 'api' }] }),
      ),
    ).toContain('Deployment web/api (container api) on cluster production is not a target');
    // Another pipeline's target.
    expect(
      authority.planRefusal(
        plan({ cluster: 'production', targets: [{ namespace: 'edge', deployment: 'proxy' }] }),
      ),
    ).toContain('is not a target of pipeline "web"');
  });

  it('refuses a selector that differs from every configured one', () => {
    expect(
      authority.planRefusal(plan({ targets: [{ namespace: 'web', selector: { tier: 'front' } }] })),
    ).toBe(
      'selector tier=front in namespace web on cluster staging is not a target of pipeline "web" on that cluster; ' +
        'configure it under pipelines.web.stages[].targets',
    );
  });

  it('refuses an image repository that is not an image of the pipeline', () => {
    expect(authority.planRefusal(plan({ repository: 'evil/miner' }))).toBe(
      'image 127.0.0.1:5000/evil/miner is not an image of pipeline "web" (its images: 127.0.0.1:5000/acme/web); ' +
        'configure it under images with pipeline: web',
    );
    // Watched, but not rolled out by this pipeline.
    expect(authority.planRefusal(plan({ repository: 'acme/api' }))).toContain(
      'image 127.0.0.1:5000/acme/api is not',
    );
    // The right repository on another registry.
    expect(authority.planRefusal(plan({ registryHost: 'ghcr.io' }))).toContain(
      'image ghcr.io/acme/web is not',
    );
    expect(
      authority.updateRefusal(update({}, { newImage: `127.0.0.1:5000/evil/miner@${digest}` }), {}),
    ).toContain('image 127.0.0.1:5000/evil/miner is not an image of pipeline "web"');
  });

  it('refuses a pipeline the config does not have, or none', () => {
    expect(authority.planRefusal(plan({ pipeline: 'other' }))).toBe(
      `pipeline "other" is not in this Freshet's config (pipelines: web, edge); configure it under pipelines`,
    );
    expect(authority.planRefusal(plan({ pipeline: undefined as unknown as string }))).toContain(
      'pipeline "" is not',
    );
  });

  it('refuses an update of a Deployment the selector does not match, or of another container', () => {
    expect(
      authority.updateRefusal(update({ deployment: 'cart', container: 'cart' }), { tier: 'front' }),
    ).toBe(
      'Deployment web/cart (container cart) on cluster staging is not a target of pipeline "web" on that cluster; ' +
        'configure it under pipelines.web.stages[].targets',
    );
    expect(authority.updateRefusal(update({ container: 'sidecar' }), {})).toContain('(container sidecar)');
    expect(authority.updateRefusal(update({ namespace: 'default' }), {})).toContain('Deployment default/api');
  });
});
