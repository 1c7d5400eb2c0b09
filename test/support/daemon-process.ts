// Runs a Freshet daemon in its own process for tests that kill it: `node daemon-process.ts
// CONFIG.json`, where the file holds an already parsed config. Prints "ready <url>" once serving.
// FRESHET_TEST_WORKFLOW_BUNDLE names workflow code bundled once, so restarts are quick;
// FRESHET_TEST_FRESHNESS_INTERVAL_MS sets how often the freshness gauges are recomputed (60 s).
import { readFileSync } from 'node:fs';
import type { Config } from '../../config/schema.ts';
import { startDaemon } from '../../worker/daemon.ts';

const path = process.argv[2];
if (!path) {
  console.error('usage: daemon-process.ts CONFIG.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(path, 'utf8')) as Config;
const bundle = process.env.FRESHET_TEST_WORKFLOW_BUNDLE;
const freshness = Number(process.env.FRESHET_TEST_FRESHNESS_INTERVAL_MS);
const daemon = await startDaemon({
  config,
  listen: '127.0.0.1:0',
  freshnessIntervalMs: Number.isFinite(freshness) && freshness > 0 ? freshness : 60_000,
  batchWindowMs: 100,
  ...(bundle ? { workflowBundlePath: bundle } : {}),
});
console.log(`ready ${daemon.url}`);
process.on('SIGTERM', () => {
  void daemon.close().then(() => process.exit(0));
});
