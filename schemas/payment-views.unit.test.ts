import { describe, expect, it } from "vitest";
import { Day, MoneyDay } from "./payment-views.js";
import { LotMoneyQuery } from "./queries.js";

/**
 * What the document says of a money day (its description feeds the OpenAPI document): since issue
 * 49 a lot's day is its local day, midnight to midnight in its time zone (read-api/views/money-view.ts
 * counts each fact on platform/local-time.ts's localDay), not the UTC day it once was.
 */
describe("a money day's description", () => {
  it("says the lot's local day in its time zone, never a UTC day", () => {
    for (const description of [Day.description, MoneyDay.properties.day.description]) {
      expect(description).toMatch(/local day/);
      expect(description).toMatch(/time zone/);
      expect(description).not.toMatch(/00:00 to 24:00 UTC/);
    }
    // The query's days say whose today they default to, and keep the format.
    expect(LotMoneyQuery.properties.to.format).toBe("date");
    expect(LotMoneyQuery.properties.to.description).toMatch(/in its time zone/);
  });
});
