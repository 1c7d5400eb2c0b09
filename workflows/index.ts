// Every workflow the Freshet worker runs; the worker bundles this file.

export { freezeWorkflow } from './freeze.ts';
export { pipelineWorkflow } from './pipeline.ts';
export { rolloutWorkflow } from './rollout.ts';
export { watchWorkflow } from './watch.ts';
