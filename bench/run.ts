// `npm run bench [-- NAME]`: runs benchmarks against the local stack and writes
// bench/results/NAME.json. Each benchmark measures a baseline in the same run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  date: string;
  machine: string;
  metrics: Record<string, number>;
}

type Benchmark = () => Promise<Record<string, number>>;

/** Benchmarks register here as they are written (see DESIGN.md, "Benchmarks"). */
const benchmarks: Record<string, Benchmark> = {};

async function main(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    console.log(
      `Usage: npm run bench [-- NAME...]\nBenchmarks: ${Object.keys(benchmarks).join(', ') || '(none yet)'}`,
    );
    return 0;
  }
  const names = args.length > 0 ? args : Object.keys(benchmarks);
  const unknown = names.filter((n) => !(n in benchmarks));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ') || 'none yet'}`,
    );
    return 2;
  }
  if (names.length === 0) console.log('no benchmarks are defined yet');
  const outDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(outDir, { recursive: true });
  for (const name of names) {
    const run = benchmarks[name];
    if (!run) continue;
    const result: BenchResult = {
      name,
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
      metrics: await run(),
    };
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    console.table(result.metrics);
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
