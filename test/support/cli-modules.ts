// Runs the freshet CLI as a child process and reports which modules it loaded: the packages
// (by name) and the project's own files (relative to the repository).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repo, 'worker/cli/main.ts');
const hook = fileURLToPath(new URL('./module-trace-hook.ts', import.meta.url));

export interface TracedRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Every package a module was loaded from, e.g. "@temporalio/client", "zod". */
  packages: Set<string>;
  /** The project's own files that were loaded, e.g. "worker/cli/main.ts". */
  files: Set<string>;
}

/** The package a module URL belongs to: its innermost node_modules entry. */
export function packageOf(url: string): string | undefined {
  const path = url.split('/node_modules/').at(-1);
  if (path === undefined || path === url) return undefined;
  const [scope, name] = path.split('/');
  return scope?.startsWith('@') ? `${scope}/${name}` : scope;
}

export function runCliTraced(args: string[], env: NodeJS.ProcessEnv = {}): Promise<TracedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-module-trace-'));
  const trace = join(dir, 'modules.txt');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', hook, cli, ...args],
      { cwd: repo, env: { ...process.env, ...env, FRESHET_MODULE_TRACE: trace } },
      (err, stdout, stderr) => {
        try {
          const urls = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
          const packages = new Set<string>();
          const files = new Set<string>();
          for (const url of urls) {
            const pkg = packageOf(url);
            if (pkg) packages.add(pkg);
            else if (url.startsWith('file:')) files.add(relative(repo, fileURLToPath(url)));
          }
          resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr, packages, files });
        } catch (readError) {
          reject(
            new Error(`no module trace from freshet ${args.join(' ')}: ${stderr}`, { cause: readError }),
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  });
}
