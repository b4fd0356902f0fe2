/**
 * A lot's clock (issue 49): local days and wall-clock times of an IANA time zone, from the runtime's
 * own zone data (`Intl.DateTimeFormat`), so the service and the page (web/src imports this file)
 * read a zone alike. No Temporal polyfill or zone library is installed; this is the little the
 * project needs of one: an instant's local day and wall clock, and the instant a wall-clock time of
 * a zone names. Pure, no I/O.
 */

const DAY = 86_400_000;

const wallClocks = new Map<string, Intl.DateTimeFormat>();
/** The wall-clock fields of a zone, in a fixed locale and the 24-hour clock (one formatter per zone). */
function wallClockFormat(timeZone: string): Intl.DateTimeFormat {
  let format = wallClocks.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      // The proleptic Gregorian calendar counts years before 1 by era: year 0 is "1 BC".
      era: "short",
    });
    wallClocks.set(timeZone, format);
  }
  return format;
}

/** The wall clock of `instant` in `timeZone`, read as if it were UTC (ms), to the second. */
function wallAsUtc(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  let beforeChrist = false;
  for (const p of wallClockFormat(timeZone).formatToParts(new Date(instant)))
    if (p.type === "era") beforeChrist = p.value === "BC";
    else if (p.type !== "literal") parts[p.type] = Number(p.value);
  const { month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  // ISO 8601 years: 1 BC is year 0, 2 BC year -1.
  const year = beforeChrist ? 1 - (parts.year ?? 1) : (parts.year ?? 1970);
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear keeps them.
  const d = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  d.setUTCFullYear(year);
  return d.getTime();
}

/** The zone's offset from UTC at `instant`, in ms (Seoul +9 h, New York -5 h or -4 h). */
export const offsetAt = (instant: number, timeZone: string): number =>
  wallAsUtc(Math.floor(instant / 1000) * 1000, timeZone) - Math.floor(instant / 1000) * 1000;

/**
 * `YYYY-MM-DD` of a UTC-read ms value; past the year 9999 (the day after 9999-12-31, a local day
 * east of UTC) the expanded `+YYYYYY-MM-DD` that Date reads back, never a cut `+010000-01`.
 */
const dayText = (ms: number): string => {
  const iso = new Date(ms).toISOString();
  return iso.slice(0, iso.indexOf("T"));
};

/** The local day (`YYYY-MM-DD`) of `instant` in `timeZone`. */
export const localDay = (instant: number, timeZone: string): string => dayText(wallAsUtc(instant, timeZone));

/** The day after `day` (`YYYY-MM-DD`). */
export const nextDay = (day: string): string => dayText(Date.parse(`${day}T00:00:00Z`) + DAY);

/**
 * The instant a wall-clock time of `timeZone` names (`wall`: that time read as UTC, in ms). A time
 * the clocks skipped (02:30 on a spring-forward day) names the instant as many minutes after the
 * change; a time that happened twice (01:30 on a fall-back day) names its first, as Temporal's
 * `disambiguation: "compatible"` does.
 */
export function instantOfWall(wall: number, timeZone: string): number {
  // The offsets in force a day either side cover every offset the wall time may be read with.
  const candidates = [offsetAt(wall - DAY, timeZone), offsetAt(wall + DAY, timeZone)]
    .map((offset) => wall - offset)
    .filter((instant) => wallAsUtc(instant, timeZone) === Math.floor(wall / 1000) * 1000);
  if (candidates.length > 0) return Math.min(...candidates);
  // Skipped: read it with the offset before the change, which lands after the change.
  return wall - offsetAt(wall - DAY, timeZone);
}

/**
 * When `day` (`YYYY-MM-DD`) begins in `timeZone`: its local midnight, or, where the clocks skipped
 * midnight, the first instant of the day. A lot's day is [startOfLocalDay(d), startOfLocalDay(d + 1)):
 * 24 hours, or 23 and 25 on the days daylight saving begins and ends.
 */
export const startOfLocalDay = (day: string, timeZone: string): number =>
  instantOfWall(Date.parse(`${day}T00:00:00Z`), timeZone);

/** The local days from `from` to `to` (both included) as instants: [start of from, start of the day after to). */
export const localDays = (from: string, to: string, timeZone: string): { start: number; end: number } => ({
  start: startOfLocalDay(from, timeZone),
  end: startOfLocalDay(nextDay(to), timeZone),
});
