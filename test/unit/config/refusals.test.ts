// What the config refuses because it would break a running Freshet: durations that make a hot
// loop or no wait, waits longer than a Temporal timer holds, semver ranges that match nothing, an
// empty file, and keys of the wrong type (said as such, not as "required").
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

/** Every problem as `path: message`, the way `freshet validate-config` prints it (without lines). */
function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

const withStage = (lines: string) => base.replace('        targets: [', `${lines}\n        targets: [`);
const withCheck = (check: string) => withStage(`        health: { checks: [ ${check} ] }`);
const stagePath = 'pipelines.web.stages[0]';

describe('config: durations where 0s makes a hot loop or no wait', () => {
  it('refuses a 0s poll interval', () => {
    expect(problems(base.replace('pipeline: web }', 'pipeline: web, interval: 0s }'))).toEqual([
      'images[0].interval: must be at least 1s: polling more often is a hot loop on the registry (webhooks detect pushes at once)',
    ]);
  });

  it('refuses a 0s check interval', () => {
    expect(
      problems(withCheck('{ prometheus: { url: "http://prom:9090", query: up, min: 1, interval: 0s } }')),
    ).toEqual([
      `${stagePath}.health.checks[0].prometheus.interval: must be at least 100ms: checks more often than that run in a hot loop`,
    ]);
  });

  it('refuses a 0s approval timeout', () => {
    expect(problems(withStage('        approval: { timeout: 0s }'))).toEqual([
      `${stagePath}.approval.timeout: must be at least 1s: a shorter approval timeout ends the rollout before anyone can decide`,
    ]);
  });

  it('refuses a 0s rollout timeout', () => {
    expect(problems(withStage('        health: { rolloutTimeout: 0s }'))).toEqual([
      `${stagePath}.health.rolloutTimeout: must be at least 1s: no Deployment becomes ready sooner, so every update would fail`,
    ]);
  });

  it('refuses 0s request timeouts for registries and HTTP checks', () => {
    expect(
      problems(base.replace('url: "http://127.0.0.1:5000" }', 'url: "http://127.0.0.1:5000", timeout: 0s }')),
    ).toEqual([
      'registries[0].timeout: must be at least 100ms: a shorter timeout gives up before the other side can answer',
    ]);
    expect(problems(withCheck('{ http: { url: "http://web/healthz", timeout: 0s } }'))).toEqual([
      `${stagePath}.health.checks[0].http.timeout: must be at least 100ms: a shorter timeout gives up before the other side can answer`,
    ]);
  });

  it('keeps 0s where it means "none": no soak', () => {
    const c = parseConfig(withStage('        health: { soak: 0s }'), 'test.yaml', { env: {} });
    expect(c.pipelines.web?.stages[0]?.health.soak).toBe(0);
  });
});

describe('config: durations past what a Temporal timer holds', () => {
  const ceiling =
    'must be at most 36500d (100 years): Temporal caps a longer timer at that without an error, so the wait would end early';

  it('refuses an approval timeout, poll interval or soak longer than 100 years', () => {
    expect(problems(withStage('        approval: { timeout: 36501d }'))).toEqual([
      `${stagePath}.approval.timeout: ${ceiling}`,
    ]);
    expect(problems(base.replace('pipeline: web }', 'pipeline: web, interval: 876001h }'))).toEqual([
      `images[0].interval: ${ceiling}`,
    ]);
    expect(problems(withStage('        health: { soak: 40000d }'))).toEqual([
      `${stagePath}.health.soak: ${ceiling}`,
    ]);
  });

  it('accepts exactly the ceiling', () => {
    const c = parseConfig(withStage('        approval: { timeout: 36500d }'), 'test.yaml', { env: {} });
    expect(c.pipelines.web?.stages[0]?.approval?.timeout).toBe(36_500 * 86_400_000);
  });

  it('holds request timeouts inside the activities that make the requests', () => {
    expect(
      problems(base.replace('url: "http://127.0.0.1:5000" }', 'url: "http://127.0.0.1:5000", timeout: 5m }')),
    ).toEqual([
      'registries[0].timeout: must be at most 1m: one watch cycle checks all its images within 2 minutes',
    ]);
    expect(problems(withCheck('{ http: { url: "http://web/healthz", timeout: 1m } }'))).toEqual([
      `${stagePath}.health.checks[0].http.timeout: must be at most 30s: a check answers within 30s or fails, like a Prometheus query`,
    ]);
  });
});

describe('config: semver ranges', () => {
  it('refuses a range that is not semver, with a hint', () => {
    expect(problems(base.replace('track: { tag: "1.4" }', 'track: { semver: latest }'))).toEqual([
      'images[0].track.semver: not a valid semver range (such as ^1.4, ~2.0 or ">=1.2 <2"); to follow one tag, use track: { tag: … }',
    ]);
    expect(problems(base.replace('track: { tag: "1.4" }', 'track: { semver: "^1.4 ||| 2" }'))).toEqual([
      'images[0].track.semver: not a valid semver range (such as ^1.4, ~2.0 or ">=1.2 <2"); to follow one tag, use track: { tag: … }',
    ]);
  });

  it('refuses a blank range, which semver would read as "any version"', () => {
    expect(problems(base.replace('track: { tag: "1.4" }', 'track: { semver: "  " }'))).toEqual([
      'images[0].track.semver: not a valid semver range (such as ^1.4, ~2.0 or ">=1.2 <2"); to follow one tag, use track: { tag: … }',
    ]);
  });

  it('accepts the usual ranges', () => {
    for (const range of ['^1.4', '~2.0', '>=1.2 <2', '1.x', '*']) {
      expect(problems(base.replace('track: { tag: "1.4" }', `track: { semver: "${range}" }`)), range).toEqual(
        [],
      );
    }
  });
});

describe('config: an empty file', () => {
  it('says the config is empty instead of starting a Freshet that watches nothing', () => {
    for (const text of ['', '\n\n', '# only a comment\n', '---\n']) {
      expect(problems(text), JSON.stringify(text)).toEqual([
        ': the config is empty; it needs at least registries, images and, to roll out, clusters and pipelines (see config/examples/minimal.yaml)',
      ]);
    }
  });

  it('says what the top level should be when it is not a mapping', () => {
    expect(problems('just a sentence\n')).toEqual([
      ': expected an object (keys such as registries and images), got a string',
    ]);
    expect(problems('- a\n- b\n')).toEqual([
      ': expected an object (keys such as registries and images), got an array',
    ]);
  });
});

describe('config: a key present with the wrong type', () => {
  it('says what was expected and what was found, not "required"', () => {
    expect(
      problems(base.replace('targets: [ { namespace: web, deployment: api } ]', 'targets: web/api')),
    ).toEqual([`${stagePath}.targets: expected an array, got a string`]);
    expect(
      problems(
        base.replace('registries:\n  - { name: local, url: "http://127.0.0.1:5000" }', 'registries: 5'),
      ),
    ).toEqual(['registries: expected an array, got a number']);
    expect(problems(base.replace('staging: { kubeconfig: ./kube }', 'staging: ./kube'))).toEqual([
      'clusters.staging: expected an object, got a string',
    ]);
    expect(problems(base.replace('track: { tag: "1.4" }', 'track: [ "1.4" ]'))).toEqual([
      'images[0].track: expected an object, got an array',
    ]);
    expect(problems(base.replace('targets: [ { namespace: web, deployment: api } ]', 'targets:'))).toEqual([
      `${stagePath}.targets: expected an array, got an empty value`,
    ]);
    expect(problems(withStage('        waves: [ { count: 1.5 } ]'))).toEqual([
      `${stagePath}.waves[0].count: expected a whole number, got a fraction`,
    ]);
    expect(problems(withCheck('{ http: { url: "http://web/healthz", expectStatus: "200" } }'))).toEqual([
      `${stagePath}.health.checks[0].http.expectStatus: expected a number, got a string`,
    ]);
  });

  it('still says "required" when the key is missing', () => {
    expect(problems(base.replace('        cluster: staging\n', ''))).toEqual([
      `${stagePath}.cluster: required (expected a string)`,
    ]);
  });
});

describe('config: waves are bounded by default', () => {
  it('gives every wave maxParallel 10 unless it says otherwise', () => {
    const c = parseConfig(
      withStage('        waves: [ { count: 1 }, { percent: 100, maxParallel: 3 } ]'),
      'test.yaml',
      {
        env: {},
      },
    );
    expect(c.pipelines.web?.stages[0]?.waves).toEqual([
      { count: 1, maxParallel: 10 },
      { percent: 100, maxParallel: 3 },
    ]);
    const defaults = parseConfig(base, 'test.yaml', { env: {} });
    expect(defaults.pipelines.web?.stages[0]?.waves).toEqual([{ percent: 100, maxParallel: 10 }]);
  });

  it('refuses a maxParallel past what one workflow may have pending', () => {
    expect(problems(withStage('        waves: [ { percent: 100, maxParallel: 1001 } ]'))).toEqual([
      `${stagePath}.waves[0].maxParallel: must be at most 1000: Temporal allows 2,000 pending activities per workflow, and each target in flight holds one`,
    ]);
  });
});
