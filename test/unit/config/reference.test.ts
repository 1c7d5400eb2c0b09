import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { descriptions, readmeFile, readmeWithReference, referenceRows } from '../../../config/reference.ts';

/** Table cells without the padding a Markdown formatter adds. */
const normalize = (text: string) =>
  text
    .split('\n')
    .map((line) =>
      line
        .replace(/\s*\|\s*/g, '|')
        .replace(/-{3,}/g, '---')
        .trim(),
    )
    .join('\n');

describe('configuration reference', () => {
  it('describes every key of the schema, and nothing that is not one', () => {
    const paths = referenceRows().map((r) => r.path);
    expect(paths.filter((p) => !descriptions[p])).toEqual([]);
    expect(Object.keys(descriptions).filter((p) => !paths.includes(p))).toEqual([]);
    expect(paths).toContain('pipelines.<name>.stages[].health.checks[].prometheus.max');
    expect(paths).toContain('registries[].auth.passwordEnv');
  });

  it('is up to date in README.md (npm run config:reference rewrites it)', () => {
    const readme = readFileSync(readmeFile, 'utf8');
    expect(normalize(readme)).toBe(normalize(readmeWithReference(readme)));
  });
});
