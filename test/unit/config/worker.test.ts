// The daemon's Temporal worker settings: the SDK's defaults when absent, bounds that name the key.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('config: worker', () => {
  it("defaults to the SDK's own settings", () => {
    expect(parseConfig(base, 't', { env: {} }).worker).toEqual({
      maxConcurrentActivities: 100,
      maxConcurrentWorkflowTasks: 40,
      activityTaskPollers: 10,
      workflowTaskPollers: 10,
      eagerActivities: 3,
    });
  });

  it('takes each setting', () => {
    const yaml = `${base}\nworker: { maxConcurrentActivities: 400, eagerActivities: 0, activityTaskPollers: 20 }\n`;
    expect(parseConfig(yaml, 't', { env: {} }).worker).toMatchObject({
      maxConcurrentActivities: 400,
      eagerActivities: 0,
      activityTaskPollers: 20,
      workflowTaskPollers: 10,
    });
  });

  it('refuses settings out of bounds and unknown keys, naming them', () => {
    const found = problems(
      `${base}\nworker: { maxConcurrentActivities: 0, workflowTaskPollers: 1, eagerActivities: 1.5, pollers: 3 }\n`,
    );
    expect(found.map((p) => p.slice(0, p.indexOf(':')))).toEqual(
      expect.arrayContaining([
        'worker.maxConcurrentActivities',
        'worker.workflowTaskPollers',
        'worker.eagerActivities',
        'worker',
      ]),
    );
    expect(found).toHaveLength(4);
  });
});
