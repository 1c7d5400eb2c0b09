// PostgreSQL from Debian's packages for the Temporal cluster: a database cluster of its own
// (initdb) in the run's data dir, on 127.0.0.1, with a password made at start. PostgreSQL refuses
// to run as root, so a root stack runs it as Debian's postgres user.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Launcher } from './launcher.ts';
import { awaitExec, StackError } from './process.ts';

const run = promisify(execFile);

export interface PostgresAccess {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The uid and gid of Debian's postgres user when this process is root, as setpriv resolves them. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) {
    throw new StackError(
      'the stack runs as root, which PostgreSQL refuses, and there is no "postgres" user to run it as ' +
        '(Debian\'s postgresql package creates one: run "bash stack/install.sh")',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** Initialises a database cluster under `dir` and starts PostgreSQL on 127.0.0.1:port. */
export async function startPostgres(l: Launcher, dir: string, port: number): Promise<PostgresAccess> {
  const bin = l.bin;
  const owner = postgresUser();
  const pgdata = join(dir, 'data');
  const user = 'temporal';
  const password = randomBytes(16).toString('hex');
  // As root: the postgres user must reach its data dir through the run's (mode 0700) data dir,
  // so the directories on the way are opened for traversal only, and the cluster's files are its.
  const asOwner = (program: string, args: string[]) =>
    owner
      ? ([bin.setpriv, ['--reuid=postgres', '--regid=postgres', '--init-groups', program, ...args]] as const)
      : ([program, args] as const);
  mkdirSync(pgdata, { mode: 0o700 });
  if (owner) {
    for (const d of [dirname(dir), dir]) chmodSync(d, 0o711);
    chownSync(pgdata, owner.uid, owner.gid);
  }
  const pwfile = join(dir, 'initdb-password');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) chownSync(pwfile, owner.uid, owner.gid);
  try {
    const [program, args] = asOwner(bin.initdb, [
      `--pgdata=${pgdata}`,
      `--username=${user}`,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    await run(program, [...args], { cwd: dir }).catch((err: Error & { stderr?: string }) => {
      throw new StackError(`initdb failed: ${err.stderr?.trim() || err.message}`);
    });
  } finally {
    rmSync(pwfile, { force: true });
  }
  // A database for tests, not for keeps: no fsync; Temporal's server is what tests crash.
  const [program, args] = asOwner(bin.postgres, [
    '-D',
    pgdata,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `port=${port}`,
    '-c',
    `unix_socket_directories=${pgdata}`,
    '-c',
    'max_connections=300',
    '-c',
    'shared_buffers=32MB',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ]);
  const proc = l.start('postgres', program, [...args], {}, { cwd: dir, execs: bin.postgres });
  if (owner) await awaitExec(proc);
  await l.ready(proc, async () => {
    await run(bin.pgIsReady, ['--quiet', '--host=127.0.0.1', `--port=${port}`], { timeout: 2_000 });
    return true;
  });
  return { host: '127.0.0.1', port, user, password };
}
