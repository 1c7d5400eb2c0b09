import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { foreignWorkflowProblem, ownedWorkflowIds } from '../../../worker/foreign-workflows.ts';

const config = parseConfig(
  `
temporal: { taskQueue: freshet-b }
registries: [ { name: local, url: "http://127.0.0.1:5000" } ]
clusters: { k: {} }
images:
  - { name: web, registry: local, repository: acme/web, track: { tag: "1" }, pipeline: web }
  - { name: db, registry: local, repository: acme/db, track: { tag: "1" }, watchGroup: slow }
pipelines:
  web: { stages: [ { name: s, cluster: k, targets: [ { namespace: web, deployment: web } ] } ] }
`,
  't',
  { env: {} },
);

describe('a workflow this deployment owns, run by another task queue', () => {
  it("lists this deployment's watch and pipeline ids, which carry its instance", () => {
    expect(ownedWorkflowIds(config)).toEqual([
      'freshet-watch-local@freshet-b',
      'freshet-watch-slow@freshet-b',
      'freshet-pipeline-web@freshet-b',
      'freshet-freeze@freshet-b',
    ]);
  });

  it('names both task queues and the shared instance name', () => {
    expect(
      foreignWorkflowProblem(config, { workflowId: 'freshet-watch-local@freshet-b', taskQueue: 'freshet-a' }),
    ).toBe(
      `runs on task queue "freshet-a", not this Freshet's "freshet-b": another deployment uses the instance name ` +
        `"freshet-b"; give each deployment its own temporal.instance`,
    );
  });
});
