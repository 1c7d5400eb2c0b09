// Records the replay corpus: one real history per outcome and branch of the watch, pipeline and
// rollout workflows, from today's code against the running stack. Run `--help` for usage.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { hasEveryAddOn } from '../../stack/add-ons.ts';
import { runDir } from '../../stack/layout.ts';
import { readState, stackAlive } from '../../stack/stack.ts';
import { workflowsPath } from '../../worker/daemon.ts';
import { existingHistoryFile, historyStem, saveHistory } from './corpus/history-files.ts';
import { scenarios } from './corpus/scenarios.ts';

const defaultOut = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

const help = `Usage: node test/support/record-corpus.ts [BRANCH...] [--out DIR] [--suffix NAME] [--force]
       node test/support/record-corpus.ts --list

Runs each BRANCH (default: all) as a real rollout, pipeline or watch against the running local
stack (npm run stack:up; FRESHET_STACK_RUN_DIR selects another) with the workflow code of this
checkout, and saves each workflow run's history as <workflow>-<branch>[-<suffix>].json
(.json.gz above 256 KB). test/unit/workflows/replay.test.ts replays every file there.

An existing file is kept, never replaced: it holds the commands of the code that recorded it,
which running workflows still replay. To add the history of changed workflow code beside it,
give a --suffix (the patch id of the change, for example).

  --list         print the branches and the files each writes, then exit
  --out DIR      where to write (default ${defaultOut})
  --suffix NAME  append -NAME to every file name
  --force        replace existing files (only for a recording that was wrong)

Exit codes: 0 every branch recorded (or kept), 1 a branch failed, 2 wrong usage or no stack.`;

function usage(message: string): never {
  console.error(`${message}\n\n${help}`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        list: { type: 'boolean' },
        out: { type: 'string' },
        suffix: { type: 'string' },
        force: { type: 'boolean' },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
})();

if (values.help) {
  console.log(help);
  process.exit(0);
}
if (values.list) {
  for (const s of scenarios)
    console.log(`${s.branch.padEnd(26)} ${s.stems.join(', ')}\n${''.padEnd(27)}${s.summary}`);
  process.exit(0);
}
if (values.suffix !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(values.suffix))
  usage(`--suffix "${values.suffix}": use lower-case letters, digits and dashes`);
const unknown = positionals.filter((p) => !scenarios.some((s) => s.branch === p));
if (unknown.length > 0) usage(`unknown branch ${unknown.map((u) => `"${u}"`).join(', ')}; --list shows them`);
const selected = positionals.length > 0 ? scenarios.filter((s) => positionals.includes(s.branch)) : scenarios;

const state = readState();
if (!state || !stackAlive(state) || !hasEveryAddOn(state)) {
  console.error(
    `no running, complete stack in ${runDir}: start one (or complete it) with "npm run stack:up" or set FRESHET_STACK_RUN_DIR`,
  );
  process.exit(2);
}

const out = values.out ?? defaultOut;
const progress = (m: string) => console.error(`[record] ${m}`);
const scratch = mkdtempSync(join(tmpdir(), 'freshet-corpus-'));
const workflowBundlePath = join(scratch, 'workflows.js');
progress('bundling the workflow code');
const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
writeFileSync(workflowBundlePath, code);
const connection = await Connection.connect({
  address: state.endpoints.temporal.address,
  channelArgs: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
});
const historyClient = new Client({ connection, namespace: state.endpoints.temporal.namespace });

let failed = 0;
for (const scenario of selected) {
  const pending = scenario.stems.filter((stem) => values.force || !hasHistory(stem));
  if (pending.length === 0) {
    progress(
      `${scenario.branch}: kept ${scenario.stems.map((s) => historyStem(s, values.suffix)).join(', ')}`,
    );
    continue;
  }
  progress(`${scenario.branch}: recording`);
  const t0 = Date.now();
  try {
    const recorded = await scenario.record({
      stack: state.endpoints,
      workflowBundlePath,
      historyClient,
      progress,
    });
    for (const r of recorded) {
      const saved = saveHistory(historyToJSON(r.history), r.stem, {
        dir: out,
        ...(values.suffix ? { suffix: values.suffix } : {}),
        ...(values.force ? { force: true } : {}),
      });
      progress(`${scenario.branch}: ${saved.action} ${saved.file} (${r.history.events?.length ?? 0} events)`);
    }
    progress(`${scenario.branch}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    failed++;
    progress(
      `${scenario.branch}: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
  }
}
await connection.close();
rmSync(scratch, { recursive: true, force: true });
process.exit(failed > 0 ? 1 : 0);

function hasHistory(stem: string): boolean {
  return existingHistoryFile(out, historyStem(stem, values.suffix)) !== undefined;
}
