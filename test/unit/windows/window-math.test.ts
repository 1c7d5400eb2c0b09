import { describe, expect, it } from 'vitest';
import {
  insideWindows,
  instantOfWallClock,
  parseClock,
  timeZoneProblem,
  type WindowSpec,
  weekdays,
  windowState,
} from '../../../activities/windows/window-math.ts';

const at = (iso: string) => Date.parse(iso);
const everyDay = [...weekdays];
const workdays = ['mon', 'tue', 'wed', 'thu', 'fri'] as WindowSpec['days'];
const berlin = (from: string, to: string, days = everyDay): WindowSpec => ({
  days,
  from,
  to,
  timeZone: 'Europe/Berlin',
});
const newYork = (from: string, to: string, days = everyDay): WindowSpec => ({
  days,
  from,
  to,
  timeZone: 'America/New_York',
});
const opensAt = (windows: WindowSpec[], now: string) => {
  const state = windowState(windows, at(now));
  if (state.open) return 'open';
  return state.opensAt === undefined ? 'never' : new Date(state.opensAt).toISOString();
};

describe('clock times and zones', () => {
  it('parses HH:MM and HH:MM:SS from 00:00 to 24:00 and nothing else', () => {
    expect(parseClock('00:00')).toBe(0);
    expect(parseClock('09:30')).toBe(34_200);
    expect(parseClock('09:30:15')).toBe(34_215);
    expect(parseClock('24:00')).toBe(86_400);
    for (const bad of ['24:01', '24:00:01', '9:00', '25:00', '12:60', '12:00:60', '12:00:00.5', ''])
      expect(parseClock(bad), bad).toBeUndefined();
  });

  it('knows IANA zones and refuses unknown names and fixed offsets', () => {
    expect(timeZoneProblem('Europe/Berlin')).toBeUndefined();
    expect(timeZoneProblem('America/New_York')).toBeUndefined();
    expect(timeZoneProblem('America/Argentina/Buenos_Aires')).toBeUndefined();
    expect(timeZoneProblem('UTC')).toBeUndefined();
    expect(timeZoneProblem('Mars/Olympus_Mons')).toMatch(/unknown time zone "Mars\/Olympus_Mons"/);
    expect(timeZoneProblem('+02:00')).toMatch(/not an IANA time zone name/);
    expect(timeZoneProblem('CEST; rm -rf')).toMatch(/not an IANA time zone name/);
  });

  it('finds the instant of a wall-clock time, the earlier of two and the jump over a skipped one', () => {
    // Berlin springs forward at 02:00 CET on 2026-03-29: 02:30 does not happen, 03:00 CEST = 01:00Z.
    expect(new Date(instantOfWallClock('Europe/Berlin', at('2026-03-29T02:30:00Z'))).toISOString()).toBe(
      '2026-03-29T01:00:00.000Z',
    );
    // Berlin falls back at 03:00 CEST on 2026-10-25: 02:30 happens at 00:30Z and at 01:30Z.
    expect(new Date(instantOfWallClock('Europe/Berlin', at('2026-10-25T02:30:00Z'))).toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
    expect(new Date(instantOfWallClock('Europe/Berlin', at('2026-01-15T09:00:00Z'))).toISOString()).toBe(
      '2026-01-15T08:00:00.000Z',
    );
  });
});

describe('window state', () => {
  it('is always open without windows', () => {
    expect(windowState([], at('2026-01-01T00:00:00Z'))).toEqual({ open: true });
  });

  it('opens at from and closes at to', () => {
    const w = [berlin('09:00', '17:00', workdays)];
    expect(insideWindows(w, at('2026-01-15T08:00:00Z'))).toBe(true); // Thu 09:00 CET
    expect(insideWindows(w, at('2026-01-15T07:59:59Z'))).toBe(false);
    expect(insideWindows(w, at('2026-01-15T15:59:59Z'))).toBe(true);
    expect(insideWindows(w, at('2026-01-15T16:00:00Z'))).toBe(false); // 17:00 CET
    expect(opensAt(w, '2026-01-15T16:00:00Z')).toBe('2026-01-16T08:00:00.000Z');
  });

  it('skips the days not listed: Friday evening waits for Monday morning', () => {
    expect(opensAt([berlin('09:00', '17:00', workdays)], '2026-01-16T17:00:00Z')).toBe(
      '2026-01-19T08:00:00.000Z',
    );
  });

  describe('Europe/Berlin across daylight saving', () => {
    it('spring forward: the morning window opens an hour earlier in UTC', () => {
      // Sat 2026-03-28 10:30 CET; the next 09:00 is Sun 09:00 CEST = 07:00Z, not 08:00Z.
      expect(opensAt([berlin('09:00', '10:00')], '2026-03-28T09:30:00Z')).toBe('2026-03-29T07:00:00.000Z');
    });

    it('spring forward: a window opening in the skipped hour opens when the clock jumps past it', () => {
      const w = [berlin('02:30', '03:30')];
      expect(opensAt(w, '2026-03-29T00:30:00Z')).toBe('2026-03-29T01:00:00.000Z'); // 03:00 CEST
      expect(insideWindows(w, at('2026-03-29T01:15:00Z'))).toBe(true); // 03:15 CEST
      expect(insideWindows(w, at('2026-03-29T01:30:00Z'))).toBe(false); // 03:30 CEST
    });

    it('spring forward: a window wholly inside the skipped hour does not open that day', () => {
      expect(opensAt([berlin('02:00', '02:30', ['sun'])], '2026-03-28T12:00:00Z')).toBe(
        '2026-04-05T00:00:00.000Z', // the next Sunday, 02:00 CEST
      );
    });

    it('fall back: the repeated hour is inside the window both times', () => {
      const w = [berlin('02:00', '03:00')];
      expect(insideWindows(w, at('2026-10-25T00:30:00Z'))).toBe(true); // 02:30 CEST
      expect(insideWindows(w, at('2026-10-25T01:30:00Z'))).toBe(true); // 02:30 CET
      expect(insideWindows(w, at('2026-10-25T02:00:00Z'))).toBe(false); // 03:00 CET
      expect(opensAt(w, '2026-10-25T02:00:00Z')).toBe('2026-10-26T01:00:00.000Z');
    });

    it('fall back: the morning window opens an hour later in UTC', () => {
      expect(opensAt([berlin('09:00', '10:00')], '2026-10-24T10:00:00Z')).toBe('2026-10-25T08:00:00.000Z');
    });
  });

  describe('America/New_York across daylight saving', () => {
    it('spring forward: Friday 17:00 EST waits for Monday 09:00 EDT', () => {
      expect(opensAt([newYork('09:00', '17:00', workdays)], '2026-03-06T22:00:00Z')).toBe(
        '2026-03-09T13:00:00.000Z',
      );
    });

    it('fall back: 01:30 happens twice and opens the window twice', () => {
      const w = [newYork('01:30', '02:00')];
      expect(opensAt(w, '2026-11-01T05:00:00Z')).toBe('2026-11-01T05:30:00.000Z'); // 01:30 EDT
      expect(insideWindows(w, at('2026-11-01T05:45:00Z'))).toBe(true);
      expect(opensAt(w, '2026-11-01T06:00:00Z')).toBe('2026-11-01T06:30:00.000Z'); // 01:30 EST
      expect(opensAt(w, '2026-11-01T07:00:00Z')).toBe('2026-11-02T06:30:00.000Z');
    });
  });

  describe('a window that spans midnight', () => {
    const night = [berlin('22:00', '06:00', ['fri'])];

    it('opens on the listed day and closes on the next', () => {
      expect(opensAt(night, '2026-12-04T20:59:00Z')).toBe('2026-12-04T21:00:00.000Z'); // Fri 22:00 CET
      expect(insideWindows(night, at('2026-12-04T23:30:00Z'))).toBe(true); // Sat 00:30
      expect(insideWindows(night, at('2026-12-05T04:59:00Z'))).toBe(true); // Sat 05:59
      expect(insideWindows(night, at('2026-12-05T05:00:00Z'))).toBe(false); // Sat 06:00
      expect(opensAt(night, '2026-12-05T05:00:00Z')).toBe('2026-12-11T21:00:00.000Z');
    });

    it('does not open the morning after a day that is not listed', () => {
      expect(insideWindows(night, at('2026-12-06T00:30:00Z'))).toBe(false); // Sun 01:30
      expect(insideWindows(night, at('2026-12-03T23:30:00Z'))).toBe(false); // Fri 00:30, after Thursday
    });

    it('spans the night the clock springs forward', () => {
      // Sat 2026-03-28 22:00 CET to Sun 06:00 CEST: closes at 04:00Z, not 05:00Z.
      const w = [berlin('22:00', '06:00', ['sat'])];
      expect(insideWindows(w, at('2026-03-29T03:59:00Z'))).toBe(true);
      expect(insideWindows(w, at('2026-03-29T04:00:00Z'))).toBe(false);
    });
  });

  it('takes the earliest opening of windows in several zones', () => {
    const w = [newYork('09:00', '17:00', workdays), berlin('09:00', '17:00', workdays)];
    // Fri 2026-01-16 23:00Z: Berlin opens Monday 08:00Z, New York Monday 14:00Z.
    expect(opensAt(w, '2026-01-16T23:00:00Z')).toBe('2026-01-19T08:00:00.000Z');
    expect(insideWindows(w, at('2026-01-19T15:00:00Z'))).toBe(true); // Berlin closed, New York open
  });

  it('opens to the second', () => {
    const w = [{ days: everyDay, from: '12:00:20', to: '13:00', timeZone: 'UTC' }];
    expect(opensAt(w, '2026-01-15T12:00:00Z')).toBe('2026-01-15T12:00:20.000Z');
    expect(insideWindows(w, at('2026-01-15T12:00:19.999Z'))).toBe(false);
  });

  it('covers a whole day with 00:00 to 24:00', () => {
    const w = [berlin('00:00', '24:00', ['sun'])];
    expect(insideWindows(w, at('2026-01-18T22:59:59Z'))).toBe(true); // Sun 23:59:59
    expect(insideWindows(w, at('2026-01-18T23:00:00Z'))).toBe(false); // Mon 00:00
    expect(opensAt(w, '2026-01-18T23:00:00Z')).toBe('2026-01-24T23:00:00.000Z');
  });
});
