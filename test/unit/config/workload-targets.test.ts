// Targets of every workload kind: kind with name, kinds with a selector, awaitNextJob for a
// CronJob, and the combinations that would mean something other than what they say.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

function parse(target: string) {
  const yaml = base.replace(/targets: \[[^\]]*\]/, `targets: [ ${target} ]`);
  try {
    return { config: parseConfig(yaml, 'test.yaml', { env: {} }), problems: [] as string[] };
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems.map((p) => `${p.path}: ${p.message}`) };
    throw err;
  }
}

const at = 'pipelines.web.stages[0].targets[0]';

describe('config: workload kinds in targets', () => {
  it('accepts a StatefulSet by kind and name, a selector across kinds, and a CronJob awaiting its Job', () => {
    for (const t of [
      '{ namespace: web, kind: StatefulSet, name: db }',
      '{ namespace: web, selector: { app: web }, kinds: [Deployment, DaemonSet] }',
      '{ namespace: web, kind: CronJob, name: report, awaitNextJob: true }',
      '{ namespace: web, kind: Deployment, deployment: api }',
    ]) {
      expect(parse(t).problems, t).toEqual([]);
    }
    const parsed = parse('{ namespace: web, kind: CronJob, name: report, awaitNextJob: true }');
    expect(parsed.config?.pipelines.web?.stages[0]?.targets[0]).toEqual({
      namespace: 'web',
      kind: 'CronJob',
      name: 'report',
      awaitNextJob: true,
    });
  });

  it('refuses an unknown kind, naming the kinds there are', () => {
    expect(parse('{ namespace: web, kind: ReplicaSet, name: db }').problems).toEqual([
      `${at}.kind: must be one of Deployment, StatefulSet, DaemonSet, CronJob`,
    ]);
  });

  it('refuses a target with both a name and a selector, or a deployment of another kind', () => {
    expect(parse('{ namespace: web, kind: StatefulSet, name: db, selector: { app: db } }').problems).toEqual([
      `${at}: set exactly one of deployment (a name), name (with kind) or selector (labels)`,
    ]);
    expect(parse('{ namespace: web, kind: StatefulSet, deployment: db }').problems).toEqual([
      `${at}.kind: deployment names a Deployment; for a StatefulSet use name: db`,
    ]);
  });

  it('refuses kinds without a selector, and awaitNextJob where no CronJob can match', () => {
    expect(parse('{ namespace: web, name: db, kinds: [StatefulSet] }').problems).toEqual([
      `${at}.kinds: kinds lists the kinds a selector matches: use it with selector and without kind`,
    ]);
    expect(parse('{ namespace: web, kind: StatefulSet, name: db, awaitNextJob: true }').problems).toEqual([
      `${at}.awaitNextJob: awaitNextJob waits for the next Job of a CronJob: set kind: CronJob (or list it in kinds)`,
    ]);
  });
});
