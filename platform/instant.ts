/**
 * A caller's RFC 3339 instant, read by the service itself: the one reading every route gives an
 * instant it is sent (a body's `startsAt`, a query's `from`, an `asOf`...). Knows no domain.
 *
 * Never `Date.parse`: V8 reads the ISO form only in its strict shape (uppercase `T` and `Z`, at most
 * nine fraction digits) and hands anything else to a legacy parser that guesses: `0001-03-01
 * 00:00:00Z` (a space, which RFC 3339 allows) becomes 2001-01-03, `…:02.0271234567Z` becomes
 * `…:02.271Z`, and a leap second `23:59:60` is NaN. And what an offset moves past the year 9999
 * (or before 0000) is no instant a stored Timestamp (`YYYY-…Z`) can hold.
 */

/** RFC 3339 `date-time` (section 5.6): `T` or `t` (or a space, its note allows), `Z`, `z` or `±hh:mm`. */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** An instant read: epoch milliseconds and its UTC text, or why it is none (a message naming no field). */
export type InstantReading = { readonly ms: number; readonly iso: string } | { readonly refused: string };

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysIn = (year: number, month: number): number =>
  month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);

/** The epoch ms of a UTC calendar time, any year 0000-9999 (Date.UTC reads 0-99 as 1900-1999). */
function utcMs(
  year: number,
  month: number,
  day: number,
  h: number,
  m: number,
  s: number,
  ms: number,
): number {
  const date = new Date(Date.UTC(2000, month - 1, day, h, m, s, ms));
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

/** The first and last millisecond a `YYYY-MM-DDTHH:MM:SS.sssZ` text holds. */
export const EARLIEST_INSTANT_MS = utcMs(0, 1, 1, 0, 0, 0, 0);
export const LATEST_INSTANT_MS = utcMs(9999, 12, 31, 23, 59, 59, 999);

/**
 * Reads an RFC 3339 instant with an offset, to the millisecond (fraction digits past the third are
 * dropped, as a clock that ticks in milliseconds would). Refuses, saying why, a text of another
 * shape, a day the calendar does not have, a leap second (the service's clock, like POSIX time,
 * has none), an offset beyond ±23:59, and an instant outside the years 0000-9999 once in UTC.
 */
export function readInstant(text: string): InstantReading {
  const parts = DATE_TIME.exec(text);
  if (!parts)
    return { refused: "must be an RFC 3339 date and time with an offset, e.g. 2026-11-23T10:00:00+09:00" };
  const [year, month, day, hour, minute, second] = parts.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month))
    return { refused: "is not a day of the calendar" };
  if (second === 60) return { refused: "is a leap second (:60), which the service's clock does not have" };
  if (hour > 23 || minute > 59 || second > 59) return { refused: "is not a time of day" };
  const [, , , , , , , fraction = "", sign, offsetHours = "0", offsetMinutes = "0"] = parts;
  if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59)
    return { refused: "has an offset beyond ±23:59" };
  const offset = (sign === "-" ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  const millis = Number(fraction.slice(0, 3).padEnd(3, "0"));
  const ms = utcMs(year, month, day, hour, minute, second, millis) - offset;
  if (ms < EARLIEST_INSTANT_MS || ms > LATEST_INSTANT_MS)
    return { refused: "must be between the years 0000 and 9999 once in UTC" };
  return { ms, iso: new Date(ms).toISOString() };
}
