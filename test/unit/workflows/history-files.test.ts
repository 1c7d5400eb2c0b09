// The corpus recorder never replaces a history it did not mean to: a file recorded by older code
// is what running workflows of that code replay.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  gzipAboveBytes,
  listHistoryFiles,
  readHistoryFile,
  saveHistory,
} from '../../support/corpus/history-files.ts';

const scratch = () => mkdtempSync(join(tmpdir(), 'freshet-histories-'));

describe('recorded history files', () => {
  it('keeps an existing file, writes beside it with a suffix, replaces it only with force', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'rollout-drift.json'), '{"old":true}');
    expect(saveHistory('{"new":true}', 'rollout-drift', { dir })).toEqual({
      file: 'rollout-drift.json',
      action: 'kept',
    });
    expect(readFileSync(join(dir, 'rollout-drift.json'), 'utf8')).toBe('{"old":true}');
    expect(saveHistory('{"new":true}', 'rollout-drift', { dir, suffix: 'wave-groups' })).toEqual({
      file: 'rollout-drift-wave-groups.json',
      action: 'written',
    });
    expect(saveHistory('{"fixed":true}', 'rollout-drift', { dir, force: true })).toEqual({
      file: 'rollout-drift.json',
      action: 'replaced',
    });
    expect(readFileSync(join(dir, 'rollout-drift.json'), 'utf8')).toBe('{"fixed":true}');
  });

  it('gzips large histories, lists both forms and reads them back', () => {
    const dir = scratch();
    const big = JSON.stringify({ events: 'x'.repeat(gzipAboveBytes + 1) });
    expect(saveHistory(big, 'pipeline-continue-as-new', { dir }).file).toBe(
      'pipeline-continue-as-new.json.gz',
    );
    saveHistory('{"events":[]}', 'watch-rebuild-detected', { dir });
    // A gzipped file counts as existing too.
    expect(saveHistory(big, 'pipeline-continue-as-new', { dir }).action).toBe('kept');
    writeFileSync(join(dir, 'notes.txt'), 'not a history');
    expect(listHistoryFiles(dir).sort((a, b) => a.file.localeCompare(b.file))).toEqual([
      { file: 'pipeline-continue-as-new.json.gz', stem: 'pipeline-continue-as-new' },
      { file: 'watch-rebuild-detected.json', stem: 'watch-rebuild-detected' },
    ]);
    expect(readHistoryFile(dir, 'pipeline-continue-as-new.json.gz')).toBe(big);
  });
});
