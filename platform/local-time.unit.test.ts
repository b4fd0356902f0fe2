import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { instantOfWall, localDay, localDays, nextDay, offsetAt, startOfLocalDay } from "./local-time.js";

const HOUR = 3_600_000;
const NY = "America/New_York";
const at = (iso: string) => Date.parse(iso);

describe("a lot's local days", () => {
  it("New York's 2026-03-08 has 23 hours and 2026-11-01 has 25 (daylight saving begins and ends)", () => {
    const spring = localDays("2026-03-08", "2026-03-08", NY);
    expect(new Date(spring.start).toISOString()).toBe("2026-03-08T05:00:00.000Z");
    expect(spring.end - spring.start).toBe(23 * HOUR);
    const fall = localDays("2026-11-01", "2026-11-01", NY);
    expect(new Date(fall.start).toISOString()).toBe("2026-11-01T04:00:00.000Z");
    expect(fall.end - fall.start).toBe(25 * HOUR);
    expect(localDays("2026-11-02", "2026-11-02", NY).end - startOfLocalDay("2026-11-02", NY)).toBe(24 * HOUR);
  });

  it("counts an instant on its local day, not its UTC day", () => {
    // 23:30 EST on 1 November is 04:30 UTC on the 2nd: the 25th hour of New York's 1 November.
    expect(localDay(at("2026-11-02T04:30:00Z"), NY)).toBe("2026-11-01");
    expect(localDay(at("2026-11-02T05:00:00Z"), NY)).toBe("2026-11-02");
    // 23:30 EDT on 8 March is 03:30 UTC on the 9th; midnight is 04:00 UTC (a 23-hour day).
    expect(localDay(at("2026-03-09T03:30:00Z"), NY)).toBe("2026-03-08");
    expect(localDay(at("2026-03-09T04:00:00Z"), NY)).toBe("2026-03-09");
    // Seoul's day splits at 15:00 UTC, not at 09:00 local.
    expect(localDay(at("2026-11-26T14:59:59Z"), "Asia/Seoul")).toBe("2026-11-26");
    expect(localDay(at("2026-11-26T15:00:00Z"), "Asia/Seoul")).toBe("2026-11-27");
    expect(localDay(at("2026-11-26T23:59:59Z"), "UTC")).toBe("2026-11-26");
  });

  it("reads a skipped wall time after the change and a repeated one as its first", () => {
    // 02:30 on 8 March does not exist in New York: read as 03:30 EDT.
    expect(new Date(instantOfWall(at("2026-03-08T02:30:00Z"), NY)).toISOString()).toBe(
      "2026-03-08T07:30:00.000Z",
    );
    // 01:30 on 1 November happens twice: the first, EDT.
    expect(new Date(instantOfWall(at("2026-11-01T01:30:00Z"), NY)).toISOString()).toBe(
      "2026-11-01T05:30:00.000Z",
    );
    expect(offsetAt(at("2026-11-01T05:30:00Z"), NY)).toBe(-4 * HOUR);
    expect(offsetAt(at("2026-11-01T06:30:00Z"), NY)).toBe(-5 * HOUR);
  });

  it("a day skipping its midnight (Santiago, 2026-09-06) starts at its first instant", () => {
    const start = startOfLocalDay("2026-09-06", "America/Santiago");
    expect(localDay(start, "America/Santiago")).toBe("2026-09-06");
    expect(localDay(start - 1000, "America/Santiago")).toBe("2026-09-05");
  });

  it("every day begins where the one before ends, in any zone (property)", () => {
    const zones = [
      "America/New_York",
      "Asia/Seoul",
      "Europe/London",
      "Australia/Lord_Howe",
      "Asia/Kathmandu",
      "America/Santiago",
      "UTC",
      "Pacific/Apia",
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: at("2020-01-01T00:00:00Z"), max: at("2035-12-31T00:00:00Z") }),
        (zone, instant) => {
          const day = localDay(instant, zone);
          const start = startOfLocalDay(day, zone);
          const end = startOfLocalDay(nextDay(day), zone);
          expect(start).toBeLessThanOrEqual(instant);
          expect(instant).toBeLessThan(end);
          expect(localDay(start, zone)).toBe(day);
          expect(localDay(start - 1000, zone)).not.toBe(day);
          expect(localDay(end, zone)).toBe(nextDay(day));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("the calendar's edges: the years 0000 and 9999", () => {
  it("reads year 0000 as 0000 (Intl counts it 1 BC), in every zone, a day either side of the new year", () => {
    const zones = ["UTC", "Asia/Seoul", "America/New_York", "Pacific/Apia", "Asia/Kathmandu"];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: at("0000-01-01T00:00:00Z"), max: at("0001-12-31T00:00:00Z") }),
        (zone, instant) => {
          const day = localDay(instant, zone);
          // The offset is the zone's local mean time then, less than a day: the UTC day or one beside it.
          expect(Math.abs(offsetAt(instant, zone))).toBeLessThan(24 * HOUR);
          const dayOf = (ms: number) => new Date(ms).toISOString().split("T")[0];
          expect([dayOf(instant - 24 * HOUR), dayOf(instant), dayOf(instant + 24 * HOUR)]).toContain(day);
          if (instant >= at("0000-01-02T00:00:00Z")) {
            const start = startOfLocalDay(day, zone);
            expect(start).toBeLessThanOrEqual(instant);
            expect(instant).toBeLessThan(startOfLocalDay(nextDay(day), zone));
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(localDay(at("0000-06-01T00:00:00Z"), "UTC")).toBe("0000-06-01");
    expect(startOfLocalDay("0000-03-01", "UTC")).toBe(at("0000-03-01T00:00:00Z"));
  });

  it("names the day after 9999-12-31 as Date writes it, so that its start reads back", () => {
    expect(nextDay("9999-12-31")).toBe("+010000-01-01");
    expect(localDay(at("9999-12-31T23:00:00Z"), "Asia/Seoul")).toBe("+010000-01-01");
    const { start, end } = localDays("9999-12-31", "9999-12-31", "Asia/Seoul");
    expect(end - start).toBe(24 * HOUR);
  });
});
