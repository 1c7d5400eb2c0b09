// `freshet freshness`: every target, what it runs, the newest build and how long it is behind.
import type { Client } from '@temporalio/client';
import type { Config } from '../../config/schema.ts';
import type { ImageState } from '../../workflows/watch-messages.ts';
import { buildClusterClients } from '../clusters.ts';
import { collectTargets } from '../freshness.ts';
import { watchStatuses } from '../watches.ts';
import { ago, shortDigest, table } from './output.ts';

export async function freshnessCommand(client: Client, config: Config, json: boolean): Promise<string> {
  const statuses = await watchStatuses(client, config);
  const targets = await collectTargets(config, buildClusterClients(config), statuses);
  const bases = new Map<string, ImageState>();
  for (const s of statuses) for (const { image, state } of s.images) bases.set(image.name, state);
  if (json) {
    return JSON.stringify(
      targets.map((t) => {
        const base = bases.get(t.image);
        return {
          ...t,
          baseBehindSince: base?.baseBehindSince,
          baseName: base?.baseName,
          baseFrom: base?.baseFrom,
          baseProblem: base?.baseProblem,
        };
      }),
      null,
      2,
    );
  }
  if (targets.length === 0) return 'No targets found (check the pipelines and that the watches run).';
  const rows = targets.map((t) => {
    const base = bases.get(t.image)?.baseBehindSince;
    return [
      t.pipeline,
      t.stage,
      `${t.namespace}/${t.deployment}/${t.container}`,
      shortDigest(t.runningDigest),
      shortDigest(t.latestDigest),
      t.upToDate ? 'up to date' : t.behindSince !== undefined ? `behind ${ago(t.behindSince)}` : 'unknown',
      base ? `behind ${ago(Date.parse(base) / 1000)}` : 'ok',
      bases.get(t.image)?.baseFrom ?? '-',
    ];
  });
  const stale = targets.filter((t) => !t.upToDate).length;
  return [
    table(['PIPELINE', 'STAGE', 'TARGET', 'RUNNING', 'NEWEST', 'STATE', 'BASE IMAGE', 'BASE FROM'], rows),
    '',
    `${targets.length} targets, ${stale} not on the newest build`,
  ].join('\n');
}
