import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EARLIEST_INSTANT_MS, LATEST_INSTANT_MS, readInstant } from "./instant.js";

/** Runs per property: `INSTANT_RUNS=100000` for a deeper search than CI's. */
const RUNS = Number(process.env.INSTANT_RUNS ?? 2000);

const pad = (n: number, width = 2) => String(n).padStart(width, "0");
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Every shape RFC 3339 gives an instant: any year, separator, fraction length and offset. */
const instantText = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    dayPick: fc.nat(),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,20}$/), { nil: undefined }),
    separator: fc.constantFrom("T", "t", " "),
    zone: fc.oneof(
      fc.constantFrom("Z", "z"),
      fc.record({
        sign: fc.constantFrom("+", "-"),
        hours: fc.integer({ min: 0, max: 23 }),
        minutes: fc.integer({ min: 0, max: 59 }),
      }),
    ),
  })
  .map((p) => {
    const days = p.month === 2 && leap(p.year) ? 29 : (DAYS[p.month - 1] as number);
    const day = 1 + (p.dayPick % days);
    const zone =
      typeof p.zone === "string" ? p.zone : `${p.zone.sign}${pad(p.zone.hours)}:${pad(p.zone.minutes)}`;
    const offsetMs =
      typeof p.zone === "string"
        ? 0
        : (p.zone.sign === "-" ? -1 : 1) * (p.zone.hours * 60 + p.zone.minutes) * 60_000;
    const clock = `${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
    const date = `${pad(p.year, 4)}-${pad(p.month)}-${pad(day)}`;
    const text = `${date}${p.separator}${clock}${p.fraction === undefined ? "" : `.${p.fraction}`}${zone}`;
    // The oracle: the strict ISO form (uppercase T and Z, three digits), which Date reads exactly.
    const millis = (p.fraction ?? "").slice(0, 3).padEnd(3, "0");
    const expected = Date.parse(`${date}T${clock}.${millis}Z`) - offsetMs;
    return { text, expected };
  });

describe("readInstant: one reading of a caller's RFC 3339 instant", () => {
  it("reads every instant of the years 0000-9999 in any RFC 3339 shape as the same millisecond, or says it leaves them", () => {
    fc.assert(
      fc.property(instantText, ({ text, expected }) => {
        const read = readInstant(text);
        if (expected < EARLIEST_INSTANT_MS || expected > LATEST_INSTANT_MS) {
          expect(read).toEqual({ refused: "must be between the years 0000 and 9999 once in UTC" });
          return;
        }
        expect(read).toEqual({ ms: expected, iso: new Date(expected).toISOString() });
        // What it answers is a UTC Timestamp of four-digit year that reads back as itself.
        if ("iso" in read) {
          expect(read.iso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
          expect(readInstant(read.iso)).toEqual(read);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("reads what Date.parse misreads: a space before a year below 100, ten fraction digits, lowercase", () => {
    expect(readInstant("0001-03-01 00:00:00Z")).toEqual({
      ms: Date.parse("0001-03-01T00:00:00Z"),
      iso: "0001-03-01T00:00:00.000Z",
    });
    expect(readInstant("0026-06-01 10:00:00Z")).toMatchObject({ iso: "0026-06-01T10:00:00.000Z" });
    expect(readInstant("2026-11-28T10:50:02.0271234567Z")).toMatchObject({ iso: "2026-11-28T10:50:02.027Z" });
    expect(readInstant("2026-11-28t19:50:02.5+09:00")).toMatchObject({ iso: "2026-11-28T10:50:02.500Z" });
    expect(readInstant("2026-11-28T10:50:02-00:00")).toMatchObject({ iso: "2026-11-28T10:50:02.000Z" });
  });

  it("refuses a leap second at any offset, a day the calendar lacks, an offset of 24 hours, any other shape", () => {
    fc.assert(
      fc.property(instantText, ({ text }) => {
        const leapSecond = text.replace(/(\d{2}:\d{2}:)\d{2}/, "$160");
        expect(readInstant(leapSecond)).toEqual({
          refused: "is a leap second (:60), which the service's clock does not have",
        });
      }),
      { numRuns: Math.ceil(RUNS / 10) },
    );
    expect(readInstant("2026-02-29T10:00:00Z")).toEqual({ refused: "is not a day of the calendar" });
    expect(readInstant("2100-02-29T10:00:00Z")).toEqual({ refused: "is not a day of the calendar" });
    expect(readInstant("2000-02-29T10:00:00Z")).toMatchObject({ iso: "2000-02-29T10:00:00.000Z" });
    expect(readInstant("2026-04-31T10:00:00Z")).toEqual({ refused: "is not a day of the calendar" });
    expect(readInstant("2026-01-01T24:00:00Z")).toEqual({ refused: "is not a time of day" });
    expect(readInstant("2026-01-01T00:00:00+24:00")).toEqual({ refused: "has an offset beyond ±23:59" });
    expect(readInstant("2026-01-01T00:00:00-00:60")).toEqual({ refused: "has an offset beyond ±23:59" });
    for (const other of ["2026-01-01T00:00:00", "2026-01-01T00:00Z", "2026-01-01T00:00:00+0900", "", "now"])
      expect(readInstant(other)).toHaveProperty("refused");
  });

  it("holds the years 0000-9999 exactly: their edges read, a minute past them refused", () => {
    expect(readInstant("0000-01-01T00:00:00Z")).toMatchObject({ iso: "0000-01-01T00:00:00.000Z" });
    expect(readInstant("9999-12-31T23:59:59.999999Z")).toMatchObject({ iso: "9999-12-31T23:59:59.999Z" });
    expect(readInstant("0000-01-01T00:00:00+00:01")).toHaveProperty("refused");
    expect(readInstant("9999-12-31T23:59:59-23:59")).toHaveProperty("refused");
    expect(readInstant("9999-12-31T23:59:59+23:59")).toMatchObject({ iso: "9999-12-31T00:00:59.000Z" });
  });
});
