// `freshet freshness --all`: every container and init container of the inventory's scope,
// in or out of a pipeline, with what it runs and how far behind its tag's newest build it is.
import type { Client } from '@temporalio/client';
import type { Config } from '../../config/schema.ts';
import { buildClusterClients } from '../clusters.ts';
import { type InventoryEntry, inventoryEntries, planImages, scanInventory } from '../inventory.ts';
import { watchStatuses } from '../watches.ts';
import { ago, CliError, shortDigest, table } from './output.ts';

export async function collectInventoryNow(client: Client, config: Config): Promise<InventoryEntry[]> {
  const inventory = config.inventory;
  if (!inventory)
    throw new CliError('no inventory in the config: add an inventory section (README: Inventory)');
  const read = await scanInventory(inventory, buildClusterClients(config));
  if (read.failedClusters.length > 0) throw new CliError(read.problems.join('\n'));
  const plan = planImages(config, inventory, read.workloads);
  return inventoryEntries(config, read.workloads, plan, await watchStatuses(client, config));
}

function state(e: InventoryEntry): string {
  if (e.problem === 'absent') return 'missing upstream';
  if (e.problem && e.problem !== 'unchecked') return `lookup failed: ${e.problem}`;
  if (e.upToDate) return 'up to date';
  if (e.behindSince !== undefined) return `behind ${ago(e.behindSince)}`;
  return e.problem === 'unchecked' ? 'not checked yet' : 'unknown';
}

export async function inventoryCommand(client: Client, config: Config, json: boolean): Promise<string> {
  const entries = await collectInventoryNow(client, config);
  if (json) return JSON.stringify(entries, null, 2);
  if (entries.length === 0) return 'No workloads found in the inventory scope.';
  const rows = entries.map((e) => [
    e.cluster,
    `${e.namespace}/${e.kind}/${e.workload}`,
    e.init ? `${e.container} (init)` : e.container,
    e.image,
    shortDigest(e.runningDigest),
    shortDigest(e.latestDigest),
    state(e),
    e.runningCreated !== undefined ? `${ago(e.runningCreated)} ago` : undefined,
    e.lastCheckAt ? `${ago(Date.parse(e.lastCheckAt) / 1000)} ago` : undefined,
    e.baseBehindSince ? `behind ${ago(Date.parse(e.baseBehindSince) / 1000)}` : e.baseName ? 'ok' : undefined,
    e.inPipeline ? 'yes' : 'no',
  ]);
  const behind = entries.filter((e) => !e.upToDate).length;
  return [
    table(
      [
        'CLUSTER',
        'WORKLOAD',
        'CONTAINER',
        'IMAGE',
        'RUNNING',
        'NEWEST',
        'STATE',
        'BUILT',
        'CHECKED',
        'BASE',
        'PIPELINE',
      ],
      rows,
    ),
    '',
    `${entries.length} containers, ${behind} not on the newest build of their tag`,
  ].join('\n');
}
