// Change windows: when a stage may start a wave. A window is wall-clock time in an IANA time zone
// ("mon-fri 09:00-17:00 Europe/Berlin"), so it follows daylight saving: an instant is inside when
// the clock on the wall there reads a listed day and a time in [from, to). A window whose `to` is
// earlier than its `from` spans midnight: it opens on a listed day and closes on the next day.
// A day whose clock skips the opening time (spring forward) opens the window when the clock jumps
// past it; a clock time that happens twice (fall back) is inside both times. Pure: Intl only.

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

export interface WindowSpec {
  /** The days the window opens on (a window spanning midnight closes on the next day). */
  days: Weekday[];
  /** HH:MM or HH:MM:SS, local time in timeZone. */
  from: string;
  /** HH:MM or HH:MM:SS (24:00 for the end of the day); earlier than from: the window spans midnight. */
  to: string;
  timeZone: string;
}

export type WindowState = { open: true } | { open: false; opensAt?: number };

const dayMs = 86_400_000;
/** Far enough to pass every weekday twice, and a day whose only window falls into a skipped hour. */
const searchDays = 15;

/** Seconds after midnight of an HH:MM or HH:MM:SS clock time (24:00 allowed), or undefined. */
export function parseClock(text: string): number | undefined {
  const m = /^([01]\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?$/.exec(text);
  if (!m) return undefined;
  const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
  return seconds > 86_400 ? undefined : seconds;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Why a time zone cannot be used, or undefined when this Node knows it. */
export function timeZoneProblem(timeZone: string): string | undefined {
  // Offsets such as "+02:00" are accepted by Intl but do not follow daylight saving.
  if (!/^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$/.test(timeZone) && timeZone !== 'UTC')
    return `"${timeZone}" is not an IANA time zone name (such as Europe/Berlin or America/New_York)`;
  try {
    formatter(timeZone);
    return undefined;
  } catch {
    return `unknown time zone "${timeZone}" (use an IANA name such as Europe/Berlin, America/New_York or UTC)`;
  }
}

interface WallClock {
  /** The wall-clock reading as if it were UTC: comparable, and local midnight is a multiple of a day. */
  wallMs: number;
  /** 0 = Monday. */
  weekday: number;
  /** Seconds after local midnight. */
  seconds: number;
}

const shortDays: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

export function wallClock(timeZone: string, at: number): WallClock {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(at))) parts[p.type] = p.value;
  const hour = Number(parts.hour);
  const minute = Number(parts.minute);
  const second = Number(parts.second);
  const wallMs = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    hour,
    minute,
    second,
  );
  return {
    wallMs: wallMs + (((at % 1000) + 1000) % 1000),
    weekday: shortDays[parts.weekday ?? ''] ?? 0,
    seconds: hour * 3600 + minute * 60 + second,
  };
}

const offsetAt = (timeZone: string, at: number) => wallClock(timeZone, at).wallMs - at;

/**
 * The first instant whose wall clock in timeZone reads `wallMs` (the earlier one when the clock
 * reads it twice), or, when the clock skips it, the instant the clock jumps past it.
 */
export function instantOfWallClock(timeZone: string, wallMs: number): number {
  return instantsOfWallClock(timeZone, wallMs)[0] as number;
}

/** Every instant whose wall clock reads `wallMs`, earliest first: one, two (fall back), or the jump. */
export function instantsOfWallClock(timeZone: string, wallMs: number): number[] {
  const candidates = [
    ...new Set(
      [offsetAt(timeZone, wallMs - dayMs), offsetAt(timeZone, wallMs + dayMs)].map(
        (offset) => wallMs - offset,
      ),
    ),
  ]
    .filter((at) => wallClock(timeZone, at).wallMs === wallMs)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return candidates;
  // Skipped: search the gap for the first instant whose clock reads later than wallMs.
  const offsets = [offsetAt(timeZone, wallMs - dayMs), offsetAt(timeZone, wallMs + dayMs)];
  let low = wallMs - Math.max(...offsets);
  let high = wallMs - Math.min(...offsets);
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (wallClock(timeZone, mid).wallMs >= wallMs) high = mid;
    else low = mid;
  }
  return [high];
}

function insideOne(w: WindowSpec, at: number): boolean {
  const from = parseClock(w.from) ?? 0;
  const to = parseClock(w.to) ?? 0;
  const clock = wallClock(w.timeZone, at);
  const listed = (weekday: number) => w.days.includes(weekdays[(weekday + 7) % 7] as Weekday);
  if (from < to) return listed(clock.weekday) && clock.seconds >= from && clock.seconds < to;
  // Spans midnight: the evening of a listed day, or the morning after one.
  return (
    (listed(clock.weekday) && clock.seconds >= from) || (listed(clock.weekday - 1) && clock.seconds < to)
  );
}

/** True when `at` lies inside any of the windows (no windows: always). */
export function insideWindows(windows: readonly WindowSpec[], at: number): boolean {
  return windows.length === 0 || windows.some((w) => insideOne(w, at));
}

/** Open now, or when the next window opens (undefined when none opens in the next two weeks). */
export function windowState(windows: readonly WindowSpec[], at: number): WindowState {
  if (insideWindows(windows, at)) return { open: true };
  let opensAt: number | undefined;
  for (const w of windows) {
    const from = parseClock(w.from) ?? 0;
    const today = wallClock(w.timeZone, at);
    const midnight = today.wallMs - (today.wallMs % dayMs);
    for (let k = 0; k <= searchDays; k++) {
      const weekday = (today.weekday + k) % 7;
      if (!w.days.includes(weekdays[weekday] as Weekday)) continue;
      // A window that lies wholly in a skipped hour does not open that day.
      const candidate = instantsOfWallClock(w.timeZone, midnight + k * dayMs + from * 1000).find(
        (t) => t > at && insideOne(w, t),
      );
      if (candidate !== undefined) {
        if (opensAt === undefined || candidate < opensAt) opensAt = candidate;
        break;
      }
    }
  }
  return opensAt === undefined ? { open: false } : { open: false, opensAt };
}

/** One line for people: "mon-fri 09:00-17:00 Europe/Berlin". */
export function describeWindow(w: WindowSpec): string {
  const days = w.days.length === 7 ? 'every day' : w.days.join(',');
  return `${days} ${w.from}-${w.to} ${w.timeZone}`;
}
