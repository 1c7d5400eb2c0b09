// `npm run bench [-- NAME]`: runs benchmarks against the local stack and writes
// bench/results/NAME.json. Each benchmark measures a baseline in the same run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Endpoints } from '../stack/layout.ts';
import { startStack, stopStack } from '../stack/stack.ts';
import { cliStart } from './cli.ts';
import { detect } from './detect.ts';
import { footprint } from './footprint.ts';
import { inventory } from './inventory.ts';
import { overhead } from './overhead.ts';
import { pollCost } from './poll-cost.ts';
import { recovery } from './recovery.ts';
import { rollback } from './rollback.ts';
import { soak } from './soak.ts';

export interface BenchResult {
  name: string;
  date: string;
  machine: string;
  metrics: Record<string, number>;
}

type Benchmark = (stack: Endpoints) => Promise<Record<string, number>>;

/** Benchmarks register here as they are written (see DESIGN.md, "Benchmarks"). */
const benchmarks: Record<string, Benchmark> = {
  detect,
  'poll-cost': pollCost,
  overhead,
  rollback,
  recovery,
  soak,
  inventory,
  cli: cliStart,
  footprint,
};

async function main(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    console.log(`Usage: npm run bench [-- NAME...]\nBenchmarks: ${Object.keys(benchmarks).join(', ')}`);
    return 0;
  }
  const names = args.length > 0 ? args : Object.keys(benchmarks);
  const unknown = names.filter((n) => !(n in benchmarks));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}`,
    );
    return 2;
  }
  const outDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(outDir, { recursive: true });
  // A stack someone started by hand stays up; one this run started goes down with it.
  const stack = await startStack((m) => console.error(`[stack] ${m}`));
  try {
    for (const name of names) {
      const run = benchmarks[name];
      if (!run) continue;
      const t0 = Date.now();
      const result: BenchResult = {
        name,
        date: new Date().toISOString(),
        machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
        metrics: await run(stack.endpoints),
      };
      writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
      console.error(`[${name}] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      console.log(name);
      console.table(result.metrics);
    }
  } finally {
    if (!stack.reused) await stopStack((m) => console.error(`[stack] ${m}`));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
