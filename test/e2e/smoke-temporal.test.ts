// The stack's Temporal dev server is real: a worker polls it and completes a workflow.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectTemporal } from '../support/temporal.ts';
import type { SmokeActivities } from '../support/workflows/smoke.ts';

const stack = inject('stack');
let env: TestWorkflowEnvironment;

describe('temporal stack', () => {
  beforeAll(async () => {
    env = await connectTemporal(stack);
  });
  afterAll(() => env?.teardown());

  it('runs a workflow with an activity on a real worker', async () => {
    const taskQueue = `smoke-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: stack.temporal.namespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../support/workflows/smoke.ts', import.meta.url)),
      activities: { shout: async (text: string) => text.toUpperCase() } satisfies SmokeActivities,
    });
    const workflowId = `smoke-${randomUUID()}`;
    const result = await worker.runUntil(
      env.client.workflow.execute('smokeWorkflow', { taskQueue, workflowId, args: ['freshet'] }),
    );
    expect(result).toBe('HELLO FRESHET');
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const types = history.events?.map((e) => e.eventType) ?? [];
    expect(types.length).toBeGreaterThan(5);
    const description = await env.client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
  });

  it('has the search attributes Freshet registers', async () => {
    const res = await fetch(
      `${stack.temporal.httpApi}/api/v1/namespaces/${stack.temporal.namespace}/search-attributes`,
    );
    const body = (await res.json()) as { customAttributes?: Record<string, string> };
    expect(body.customAttributes).toMatchObject({ FreshetPhase: 'INDEXED_VALUE_TYPE_KEYWORD' });
  });
});
