import { describe, expect, it } from 'vitest';
import { freezeLines, parseUntil } from '../../../worker/cli/freeze.ts';
import { CliError } from '../../../worker/cli/output.ts';

const now = Date.parse('2026-12-01T12:00:00Z');

describe('freshet freeze --until', () => {
  it('takes a duration from now or a time with its offset', () => {
    expect(parseUntil('2h', now)).toBe('2026-12-01T14:00:00.000Z');
    expect(parseUntil('1d', now)).toBe('2026-12-02T12:00:00.000Z');
    expect(parseUntil('2026-12-24T18:00:00+01:00', now)).toBe('2026-12-24T17:00:00.000Z');
  });

  it('refuses anything else with a usage error', () => {
    for (const bad of ['tomorrow', '0s', '2026-12-24', '2026-12-24T18:00:00', '-2h']) {
      expect(() => parseUntil(bad, now), bad).toThrow(CliError);
      expect(() => parseUntil(bad, now), bad).toThrow(/--until: expected a duration such as 2h/);
    }
  });
});

describe('freeze lines in freshet status', () => {
  it('lists the freezes in force and leaves out the expired ones', () => {
    expect(
      freezeLines(
        {
          version: 3,
          all: { reason: 'incident 42', by: 'oncall', since: '2026-12-01T11:00:00.000Z' },
          pipelines: {
            web: {
              reason: 'release',
              by: 'lead',
              since: '2026-12-01T10:00:00.000Z',
              until: '2026-12-01T13:00:00.000Z',
            },
            api: {
              reason: 'old',
              by: 'lead',
              since: '2026-12-01T09:00:00.000Z',
              until: '2026-12-01T11:00:00.000Z',
            },
          },
        },
        now,
      ),
    ).toEqual([
      '  every pipeline: by oncall since 2026-12-01T11:00:00.000Z: incident 42',
      '  pipeline web: by lead since 2026-12-01T10:00:00.000Z until 2026-12-01T13:00:00.000Z: release',
    ]);
    expect(freezeLines({ version: 0, pipelines: {} }, now)).toEqual([]);
  });
});
