// The freeze gauges, from the freeze workflow's state: one series per configured pipeline, so an
// alert sees a freeze however it was set (for one pipeline or for every one).
import type { Client } from '@temporalio/client';
import { readFreeze } from '../activities/freeze/index.ts';
import type { Config } from '../config/schema.ts';
import { freezeFor } from '../workflows/freeze-messages.ts';
import type { Metrics } from './metrics.ts';

export async function publishFreezes(metrics: Metrics, client: Client, config: Config): Promise<void> {
  const snapshot = await readFreeze(client, config.temporal.instance);
  metrics.freezeSince.reset();
  for (const pipeline of Object.keys(config.pipelines)) {
    const freeze = freezeFor(snapshot, pipeline, Date.now());
    metrics.freezeActive.set({ pipeline }, freeze ? 1 : 0);
    if (freeze) metrics.freezeSince.set({ pipeline }, Date.parse(freeze.since) / 1_000);
  }
}
