// Starts the local stack once per test run (or reuses one started by `npm run stack:up`) and
// hands its endpoints to the tests through `inject('stack')`.
import type { TestProject } from 'vitest/node';
import type { Endpoints } from '../../stack/layout.ts';
import { startStack, stopStack } from '../../stack/stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: Endpoints;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const t0 = Date.now();
  const state = await startStack((m) => console.error(`[stack] ${m}`));
  const took = ((Date.now() - t0) / 1000).toFixed(1);
  if (!state.reused) console.error(`[stack] up in ${took} s`);
  else if (state.added.length === 0) console.error('[stack] reusing the running stack');
  else console.error(`[stack] reusing the running stack, with ${state.added.join(', ')} added in ${took} s`);
  project.provide('stack', state.endpoints);
  return async () => {
    // A stack someone started by hand stays up; one this run started goes down with it.
    if (!state.reused) await stopStack((m) => console.error(`[stack] ${m}`));
  };
}
