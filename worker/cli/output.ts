// Output helpers for the CLI: aligned tables for people, JSON for scripts.

/** A plain aligned table; empty cells print as "-". */
export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined || c === '' ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const shortDigest = (digest: string | undefined) =>
  digest ? digest.replace(/^sha256:/, '').slice(0, 12) : undefined;

/** "3d4h", "12m", "40s": how long ago a Unix time in seconds was. */
export function ago(unixSeconds: number | undefined, nowMs = Date.now()): string | undefined {
  if (unixSeconds === undefined) return undefined;
  let s = Math.max(0, Math.round(nowMs / 1000 - unixSeconds));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (s >= size && parts.length < 2) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}

/** A failure a person can act on: printed without a stack trace, with this exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
