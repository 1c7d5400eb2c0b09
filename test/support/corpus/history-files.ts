// Where recorded histories go and how they are named: `<workflow>-<branch>[-<suffix>].json`.
// A file that exists is never replaced unless asked: it holds the command sequence of the code
// that recorded it, which is what workflows still running on that code will replay.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/** Histories above this size are stored gzipped (`.json.gz`); most stay readable JSON. */
export const gzipAboveBytes = 256 * 1024;

const historyFile = /^(?<stem>[a-z0-9-]+)\.json(?<gz>\.gz)?$/;

export interface SaveOptions {
  dir: string;
  /** Appended to the stem (`rollout-drift-<suffix>.json`), to keep an older recording beside a newer one. */
  suffix?: string;
  force?: boolean;
}

export type SaveResult = { file: string; action: 'written' | 'replaced' | 'kept' };

export function historyStem(stem: string, suffix?: string): string {
  return suffix ? `${stem}-${suffix}` : stem;
}

/** The file that already holds `stem`, in either form, if any. */
export function existingHistoryFile(dir: string, stem: string): string | undefined {
  return [`${stem}.json`, `${stem}.json.gz`].find((f) => existsSync(join(dir, f)));
}

export function saveHistory(json: string, stem: string, opts: SaveOptions): SaveResult {
  const full = historyStem(stem, opts.suffix);
  const existing = existingHistoryFile(opts.dir, full);
  if (existing && !opts.force) return { file: existing, action: 'kept' };
  const gz = Buffer.byteLength(json) > gzipAboveBytes;
  const file = existing ?? `${full}.json${gz ? '.gz' : ''}`;
  mkdirSync(opts.dir, { recursive: true });
  writeFileSync(join(opts.dir, file), file.endsWith('.gz') ? gzipSync(json, { level: 9 }) : json);
  return { file, action: existing ? 'replaced' : 'written' };
}

/** Every history in `dir`, by file name and stem. */
export function listHistoryFiles(dir: string): { file: string; stem: string }[] {
  return readdirSync(dir).flatMap((file) => {
    const stem = historyFile.exec(file)?.groups?.stem;
    return stem ? [{ file, stem }] : [];
  });
}

export function readHistoryFile(dir: string, file: string): string {
  const raw = readFileSync(join(dir, file));
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}
