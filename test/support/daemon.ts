// Starts a real Freshet daemon against the stack for a test, with names unique to that test so
// test files can run side by side on one Temporal server and one registry.
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import type { Endpoints } from '../../stack/layout.ts';
import { type Daemon, startDaemon } from '../../worker/daemon.ts';

export const uniqueSuffix = () => randomBytes(4).toString('hex');

/** A config for the stack: `yaml` gets ${REGISTRY_URL}, ${KUBECONFIG_PATH} and ${TASK_QUEUE} expanded. */
export function stackConfig(stack: Endpoints, yaml: string, env: NodeJS.ProcessEnv = {}): Config {
  return parseConfig(yaml, 'test config', {
    env: {
      REGISTRY_URL: stack.registry.url,
      REGISTRY_AUTH_URL: stack.registryAuth.url,
      KUBECONFIG_PATH: stack.kubernetes.kubeconfig,
      TEMPORAL_ADDRESS: stack.temporal.address,
      TASK_QUEUE: `freshet-test-${uniqueSuffix()}`,
      ...env,
    },
  });
}

export async function startTestDaemon(
  config: Config,
  overrides: { freshnessIntervalMs?: number } = {},
): Promise<Daemon> {
  return startDaemon({
    config,
    listen: '127.0.0.1:0',
    freshnessIntervalMs: overrides.freshnessIntervalMs ?? 500,
    batchWindowMs: 100,
  });
}
