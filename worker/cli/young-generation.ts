// `freshet start` runs with a small V8 young generation. Node's default lets each semi-space grow
// to 32 MB when allocation is brisk (start-up, every freshness collection), and the pages stay
// resident: 70-90 MB of the idle daemon's RSS in bench/footprint.ts. A 2 MB semi-space costs
// more frequent scavenges of an idle daemon's small heap and holds the peak down. V8 reads the
// limit only when the process starts, so the process re-executes itself with the flag: the same
// pid, stdio and environment, before it has done anything.

export const semiSpaceFlag = '--max-semi-space-size';
export const defaultSemiSpaceMb = 2;

/** Whether node's command line or NODE_OPTIONS already sets the semi-space size. */
export function semiSpaceChosen(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some(
    (arg) => arg === semiSpaceFlag || arg.startsWith(`${semiSpaceFlag}=`),
  );
}

/** Replaces this process with itself plus the flag, unless the flag is set (then returns). */
export function execWithSmallYoungGeneration(): void {
  if (semiSpaceChosen(process.execArgv, process.env.NODE_OPTIONS) || !process.execve) return;
  process.execve(
    process.execPath,
    [
      process.execPath,
      `${semiSpaceFlag}=${defaultSemiSpaceMb}`,
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    process.env,
  );
}
