// Starts the local stack once per test run (or reuses one started by `npm run stack:up`) and
// hands its endpoints to the tests through `inject('stack')`. With FRESHET_TEST_TEMPORAL=cluster
// (in the environment or a project's `env`, as the e2e-cluster project sets it) the stack also
// runs its Temporal cluster, and `stack.temporal` points at that server instead of the dev server.
import type { TestProject } from 'vitest/node';
import type { Endpoints } from '../../stack/layout.ts';
import { startStack, stopStack } from '../../stack/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: Endpoints;
  }
}

const targets = ['dev', 'cluster'] as const;

function temporalTarget(project: TestProject): (typeof targets)[number] {
  const raw = process.env.FRESHET_TEST_TEMPORAL ?? project.config.env?.FRESHET_TEST_TEMPORAL ?? 'dev';
  const target = targets.find((t) => t === raw);
  if (!target) throw new Error(`FRESHET_TEST_TEMPORAL must be "dev" or "cluster", got "${raw}"`);
  return target;
}

/** The endpoints with `temporal` on the cluster: it has no Web UI, so `ui` is empty. */
function onCluster(e: Endpoints): Endpoints {
  const c = e.temporalCluster;
  if (!c) throw new Error('the stack runs no Temporal cluster');
  return {
    ...e,
    temporal: { address: c.address, namespace: c.namespace, ui: '', httpApi: c.httpApi, metrics: c.metrics },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const target = temporalTarget(project);
  const state = await startStack((m) => console.error(`[stack] ${m}`), {
    temporalCluster: target === 'cluster',
  });
  const took = ((Date.now() - t0) / 1000).toFixed(1);
  if (!state.reused) console.error(`[stack] up in ${took} s`);
  else if (state.added.length === 0) console.error('[stack] reusing the running stack');
  else console.error(`[stack] reusing the running stack, with ${state.added.join(', ')} added in ${took} s`);
  project.provide('stack', target === 'cluster' ? onCluster(state.endpoints) : state.endpoints);
  return async () => {
    // A stack someone started by hand stays up; one this run started goes down with it.
    if (!state.reused) await stopStack((m) => console.error(`[stack] ${m}`));
  };
}
