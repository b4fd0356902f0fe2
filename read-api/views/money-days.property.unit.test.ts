import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { localDay } from "../../platform/local-time.js";
import { moneyId, quarterOf } from "../../projections/read-models/lot-money.js";
import { moneyDaysOf, quartersOf } from "./money-view.js";

/**
 * A lot's money day is its local day (spec: "a lot's 'day' (money, the page) is its local day,
 * daylight-saving changes included"), in every zone the runtime knows: the ids a day reads are
 * exactly the UTC quarter hours whose local day (Intl's own offset, not the code under test) is
 * that day, and they sum into that one day.
 */
const ZONES = [...Intl.supportedValuesOf("timeZone"), "UTC"];
const formats = new Map<string, Intl.DateTimeFormat>();
const oracleDay = (t: number, zone: string): string => {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "longOffset" });
    formats.set(zone, f);
  }
  const name = f.formatToParts(new Date(t)).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /^GMT([+-])(\d\d):(\d\d)/.exec(name);
  const offset = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000 : 0;
  return new Date(t + offset).toISOString().slice(0, 10);
};
const Q = 900_000;
const DAY = 86_400_000;
const FIRST = Date.parse("2024-01-01T00:00:00Z");
/** Runs per property: `MONEY_DAY_RUNS=20000` for a deeper search than CI's. */
const RUNS = Number(process.env.MONEY_DAY_RUNS ?? 600);

/** The oracle's quarters of `day` in `zone`: every UTC quarter two days either side whose local day it is. */
const quartersOfDay = (day: string, zone: string): string[] => {
  const mid = Date.parse(`${day}T00:00:00Z`);
  const out: string[] = [];
  for (let t = mid - 2 * DAY; t < mid + 3 * DAY; t += Q)
    if (oracleDay(t, zone) === day) out.push(quarterOf(t));
  return out;
};

describe("a lot's money day in every zone (issue 49, property)", () => {
  it("reads exactly the quarter hours of the lot's local day, and sums them into that day", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: 0, max: 12 * 366 }), (zone, n) => {
        const day = new Date(FIRST + n * DAY).toISOString().slice(0, 10);
        const want = quartersOfDay(day, zone);
        const { filter, quarters } = quartersOf("L", day, day, zone);
        const ids = [];
        const mid = Date.parse(`${day}T00:00:00Z`);
        for (let t = mid - 2 * DAY; t < mid + 3 * DAY; t += Q) {
          const id = moneyId("L", quarterOf(t));
          if (id >= filter._id.$gte && id < filter._id.$lt) ids.push(quarterOf(t));
        }
        expect(ids).toEqual(want);
        expect(quarters).toBe(want.length);
        const docs = want.map((q) => ({
          _id: moneyId("L", q),
          at: `${q}:00.000Z`,
          revenue: { KRW: 1 },
          refunds: {},
        }));
        expect(moneyDaysOf(docs, zone).map((d) => [d.day, d.amounts[0]?.revenue])).toEqual([
          [day, want.length],
        ]);
      }),
      { numRuns: RUNS },
    );
  });

  it("the control center's today of a lot holds the instant it is asked at", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: FIRST, max: FIRST + 12 * 366 * DAY }),
        (zone, now) => {
          const day = localDay(now, zone);
          expect(day).toBe(oracleDay(now, zone));
          const { filter } = quartersOf("L", day, day, zone);
          const id = moneyId("L", quarterOf(now));
          expect(id >= filter._id.$gte && id < filter._id.$lt).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
