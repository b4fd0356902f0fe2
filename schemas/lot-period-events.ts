import { Type } from "@sinclair/typebox";
import { ParkingLotId, Timestamp } from "./common.js";
import { defineEvent } from "./event-definition.js";
import { openingFromV1, openingV1PersonalValues } from "./lot-period-opening-v1.js";
import { isOpeningV2, openingFromV2, openingV2PersonalValues } from "./lot-period-opening-v2.js";
import { type CustomerSummary, LotSummary } from "./lot-summary.js";

/**
 * The lot's period facts (issue 48, item 2; docs/domain.md, "Periods"), on the lot's stream like
 * every fact of schemas/lot-events.ts, which lists them among the lot's types.
 */

const strict = { additionalProperties: false } as const;

/**
 * Issue 48: the books of one period of the lot close (docs/domain.md, "Periods"): the last event of
 * the period's stream; the next period's stream opens with LotPeriodOpened. `summary` counts what
 * the period's stream holds; it is informational (no decision reads it).
 */
export const LotBooksClosedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    period: Type.Integer({ minimum: 0 }),
    nextPeriod: Type.Integer({ minimum: 1 }),
    closedAt: Timestamp,
    summary: Type.Object(
      {
        /** Events of the period's stream before this one. */
        events: Type.Integer({ minimum: 0 }),
        activeReservations: Type.Integer(),
        /** Reservation records the next period's opening carries (active ones and recently ended ones). */
        carried: Type.Integer({ minimum: 0 }),
      },
      strict,
    ),
  },
  { ...strict, $id: "LotBooksClosed" },
);

export const LotBooksClosedEvent = defineEvent({
  type: "LotBooksClosed",
  schema: LotBooksClosedData,
  stream: "lot",
  recordTime: "closedAt",
  audit: (d, by) =>
    `${by} closed the books of lot ${d.parkingLotId} for period ${d.period} after ${d.summary.events} events (${d.summary.activeReservations} reservations active)`,
});

/**
 * Issue 48: the first event of a period's stream (k ≥ 1). Issue 68: it carries the lot's domain
 * summary (schemas/lot-summary.ts) as the previous period closed it: the live bookings, those that
 * ended within the idempotency window, terms, closures and counters. A fold of the lot starts
 * here: evolve replaces its state with the summary's. Schema version 1 carried the lot's state
 * codec instead: read through its upcaster (lot-period-opening-v1.ts).
 */
export const LotPeriodOpenedData = Type.Object(
  {
    parkingLotId: ParkingLotId,
    period: Type.Integer({ minimum: 1 }),
    openedAt: Timestamp,
    summary: LotSummary,
  },
  { ...strict, $id: "LotPeriodOpened" },
);

export const LotPeriodOpenedEvent = defineEvent({
  type: "LotPeriodOpened",
  schema: LotPeriodOpenedData,
  stream: "lot",
  recordTime: "openedAt",
  audit: (d, by) => `${by} opened period ${d.period} of lot ${d.parkingLotId} with the lot's summary`,
  upcasters: [
    { from: 1, up: openingFromV1 },
    { from: 2, up: openingFromV2 },
  ],
  /**
   * Each customer's id and plates, sealed as one value under the customer's key as ParkingReserved
   * seals the same fields (issue 36), and read sealed (customerValues). An opening of version 1 or
   * 2 is opened before it is upcast, in its own form (a value per id and per plate).
   */
  personalValues: (d, each, reading) => {
    if (!("summary" in d)) return openingV1PersonalValues(d, each) as typeof d;
    if (isOpeningV2(d)) return openingV2PersonalValues(d, each) as typeof d;
    // Read, its entries stay as they are, sealed ones sealed (issue 68: the lot opens one when it is shown).
    if (reading) return d;
    const customers = d.summary.customers.map((c) => customerValues(c, each));
    return { ...d, summary: { ...d.summary, customers } };
  },
});

/**
 * One customer's entry of an opening's summary as `each` makes it: `[id, ...plates]` sealed as one
 * value (JSON) under the customer's key; one sealed already (the lot's state keeps a booking loaded
 * sealed so, reservation-book.ts) or `erased` as it is.
 */
function customerValues(
  entry: CustomerSummary,
  each: (subject: string, value: string) => string,
): CustomerSummary {
  if (typeof entry === "string") return entry;
  // Nothing is sealed for an erased customer again (their bookings read `erased` already).
  if (entry[0] === "erased") return "erased";
  const json = JSON.stringify(entry);
  const done = each(entry[0] as string, json);
  return done === json ? entry : done;
}
