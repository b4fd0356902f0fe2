import { describe, expect, it } from "vitest";
import { moneyId, quarterOf } from "../../projections/read-models/lot-money.js";
import { moneyCsv, moneyDaysOf, quartersOf, sumMoney } from "./money-view.js";

const NY = "America/New_York";

/** A stored quarter of lot L: a capture of `amount` USD at `at`. */
const captured = (at: string, amount: number) => ({
  _id: moneyId("L", quarterOf(at)),
  parkingLotId: "L",
  at: `${quarterOf(at)}:00.000Z`,
  revenue: { USD: amount },
  refunds: { USD: 0 },
  failedPayments: 0,
  failedSteps: 0,
});
const usd = (day: string, revenue: number) => ({
  day,
  // A quarter stored before issue 69 (no breakdown): all the card processor's, all bookings.
  amounts: [
    {
      currency: "USD",
      revenue,
      refunds: 0,
      net: revenue,
      collectedByProcessor: revenue,
      collectedOnSite: 0,
      bookings: revenue,
      overstays: 0,
      driveUps: 0,
    },
  ],
  failedPayments: 0,
  failedSteps: 0,
});

describe("a lot's money per local day (issue 49)", () => {
  it("New York, across 2026-03-08 (23 hours) and 2026-11-01 (25 hours): each capture on its local day", () => {
    const docs = [
      captured("2026-03-08T04:50:00Z", 1), // 23:50 EST on 7 March
      captured("2026-03-08T05:00:00Z", 10), // 00:00 EST on 8 March
      captured("2026-03-09T03:45:00Z", 100), // 23:45 EDT on 8 March (the day had 23 hours)
      captured("2026-03-09T04:00:00Z", 1000), // 00:00 EDT on 9 March
      captured("2026-11-01T03:59:00Z", 2), // 23:59 EDT on 31 October
      captured("2026-11-01T05:30:00Z", 20), // 01:30 EDT on 1 November
      captured("2026-11-01T06:30:00Z", 200), // 01:30 EST on 1 November (the hour again)
      captured("2026-11-02T04:45:00Z", 2000), // 23:45 EST on 1 November (its 25th hour)
      captured("2026-11-02T05:00:00Z", 20000), // 00:00 EST on 2 November
    ];
    expect(moneyDaysOf(docs, NY)).toEqual([
      usd("2026-03-07", 1),
      usd("2026-03-08", 110),
      usd("2026-03-09", 1000),
      usd("2026-10-31", 2),
      usd("2026-11-01", 2220),
      usd("2026-11-02", 20000),
    ]);
    // The same facts in a lot without a zone: UTC days.
    expect(moneyDaysOf(docs, "UTC").map((d) => d.day)).toEqual([
      "2026-03-08",
      "2026-03-09",
      "2026-11-01",
      "2026-11-02",
    ]);
  });

  it("reads a local day's quarters exactly: from its local midnight up to the next one, 92 or 100 of them", () => {
    const spring = quartersOf("L", "2026-03-08", "2026-03-08", NY);
    expect(spring.filter._id).toEqual({ $gte: "L/2026-03-08T05:00", $lt: "L/2026-03-09T04:00" });
    expect(spring.quarters).toBe(92);
    const fall = quartersOf("L", "2026-11-01", "2026-11-01", NY);
    expect(fall.filter._id).toEqual({ $gte: "L/2026-11-01T04:00", $lt: "L/2026-11-02T05:00" });
    expect(fall.quarters).toBe(100);
    const seoul = quartersOf("L", "2026-11-26", "2026-11-27", "Asia/Seoul");
    expect(seoul.filter._id).toEqual({ $gte: "L/2026-11-25T15:00", $lt: "L/2026-11-27T15:00" });
  });
});

describe("a lot's takings as CSV (issue 69)", () => {
  it("a row per day and currency, a failures-only day naming no currency, and the total", () => {
    const onSite = {
      _id: moneyId("L", "2026-11-22T09:00"),
      parkingLotId: "L",
      at: "2026-11-22T09:00:00.000Z",
      revenue: { KRW: 10_500 },
      refunds: { KRW: 0 },
      onSite: { KRW: 10_500 },
      overstays: { KRW: 1500 },
      driveUps: { KRW: 3000 },
      failedPayments: 0,
      failedSteps: 0,
    };
    const failed = { ...captured("2026-11-23T09:00:00Z", 0), revenue: {}, refunds: {}, failedPayments: 2 };
    const days = moneyDaysOf([onSite, failed], "UTC");
    const csv = moneyCsv({
      parkingLotId: "L",
      timeZone: "UTC",
      from: "2026-11-22",
      to: "2026-11-23",
      days,
      totals: sumMoney(days),
    });
    expect(csv.split("\r\n")).toEqual([
      "day,currency,revenue,collectedByProcessor,collectedOnSite,bookings,overstays,driveUps,refunds,net,failedPayments,failedSteps",
      "2026-11-22,KRW,10500,0,10500,6000,1500,3000,0,10500,0,0",
      "2026-11-23,,0,0,0,0,0,0,0,0,2,0",
      "total,KRW,10500,0,10500,6000,1500,3000,0,10500,2,0",
      "",
    ]);
  });
});
