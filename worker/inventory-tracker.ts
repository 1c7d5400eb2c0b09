// The daemon's side of the inventory: lists the scope every scanInterval, keeps the workloads
// and the watch-only images they need, and says when those images changed so the watches are
// reconfigured (a configure signal per change, not per scan).
import type { Config, InventoryConfig } from '../config/schema.ts';
import type { WatchedImage, WatchStatus } from '../workflows/watch-messages.ts';
import type { ClusterClients } from './clusters.ts';
import {
  type ImagePlan,
  type InventoryEntry,
  inventoryClusters,
  inventoryEntries,
  planImages,
  scanInventory,
} from './inventory.ts';
import type { Workload } from './inventory-workloads.ts';

export interface InventoryTracker {
  readonly inventory: InventoryConfig;
  /** Lists the scope; true when the watch-only images changed. */
  scan(): Promise<{ changed: boolean; problems: string[] }>;
  /** Takes the watch-only images the running watches follow, before the first scan succeeded. */
  adopt(statuses: readonly WatchStatus[]): void;
  discovered(): readonly WatchedImage[];
  entries(statuses: readonly WatchStatus[]): InventoryEntry[];
  /** Unix seconds of each cluster's last successful scan. */
  scans(): ReadonlyMap<string, number>;
}

const configuredNames = (config: Config) => new Set(config.images.map((i) => i.name));

export function createInventoryTracker(
  config: Config,
  inventory: InventoryConfig,
  clusters: ReadonlyMap<string, ClusterClients>,
): InventoryTracker {
  let workloads: Workload[] = [];
  let plan: ImagePlan = planImages(config, inventory, []);
  let discovered: readonly WatchedImage[] = [];
  const scans = new Map<string, number>();
  const key = (images: readonly WatchedImage[]) => images.map((i) => i.name).join('\n');
  return {
    inventory,
    async scan() {
      const read = await scanInventory(inventory, clusters);
      const now = Date.now() / 1000;
      for (const c of inventoryClusters(inventory, clusters))
        if (!read.failedClusters.includes(c.name)) scans.set(c.name, now);
      // A cluster that could not be read keeps what it ran before, rather than dropping its
      // images from the watches (which would lose their history).
      const kept = workloads.filter((w) => read.failedClusters.includes(w.cluster));
      workloads = [...read.workloads, ...kept];
      plan = planImages(config, inventory, workloads);
      const before = key(discovered);
      discovered = plan.discovered;
      return { changed: key(discovered) !== before, problems: read.problems };
    },
    adopt(statuses) {
      if (discovered.length > 0) return;
      const configured = configuredNames(config);
      discovered = statuses
        .flatMap((s) => s.images.map((i) => i.image))
        .filter((img) => !configured.has(img.name) && !img.pipeline)
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    discovered: () => discovered,
    entries: (statuses) => inventoryEntries(config, workloads, plan, statuses),
    scans: () => scans,
  };
}
