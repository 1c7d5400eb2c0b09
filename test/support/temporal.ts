// Temporal connections for end-to-end tests, against the stack's dev server.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Endpoints } from '../../stack/layout.ts';

let runtimeInstalled = false;

/** Connects to the stack's Temporal; the SDK logs only warnings so test output stays readable. */
export async function connectTemporal(stack: Endpoints): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  return TestWorkflowEnvironment.createFromExistingServer({
    address: stack.temporal.address,
    namespace: stack.temporal.namespace,
  });
}
