import type { WriteOp } from "../../document-store/port.js";
import { type CollectionOf, defineProjection } from "./projection.js";

export const LOT_MONEY = "lot_money";

/**
 * A lot's day is the UTC day (lots have no time zone): `YYYY-MM-DD` of an ISO timestamp.
 * Each payment fact counts on the day of its own time (capturedAt, chargedAt, refundedAt, failedAt).
 */
export const dayOf = (timestamp: string): string => new Date(timestamp).toISOString().slice(0, 10);

/**
 * `{parkingLotId}/{day}`: `/` is outside the lot ids' alphabet (schemas/common.ts Identifier), so a
 * lot's days from `from` to `to` are exactly the ids from `moneyId(lot, from)` to `moneyId(lot, to)`.
 */
export const moneyId = (parkingLotId: string, day: string): string => `${parkingLotId}/${day}`;

/** What one fact adds to its lot's day. */
interface Counted {
  readonly revenue?: { readonly currency: string; readonly amount: number };
  readonly refund?: { readonly currency: string; readonly amount: number };
  readonly failedPayment?: true;
  readonly failedStep?: true;
}

/**
 * One `$inc` of the lot's day document (created by the first fact of the day). Every counter the
 * document has is incremented, by 0 when the fact is not of its kind, so each day document holds
 * all of them: per currency `revenue.{C}` and `refunds.{C}` together, `failedPayments` and
 * `failedSteps` always.
 */
function countOn(
  collection: CollectionOf,
  data: { readonly parkingLotId: string },
  at: string,
  counted: Counted,
): WriteOp[] {
  const day = dayOf(at);
  const money = counted.revenue ?? counted.refund;
  const inc: Record<string, number> = {
    failedPayments: counted.failedPayment ? 1 : 0,
    failedSteps: counted.failedStep ? 1 : 0,
  };
  if (money) {
    inc[`revenue.${money.currency}`] = counted.revenue?.amount ?? 0;
    inc[`refunds.${money.currency}`] = counted.refund?.amount ?? 0;
  }
  return [
    {
      op: "update",
      collection: collection(LOT_MONEY),
      id: moneyId(data.parkingLotId, day),
      upsert: true,
      update: { $setOnInsert: { parkingLotId: data.parkingLotId, day }, $inc: inc },
    },
  ];
}

/**
 * The money of each lot per day (issue 38): revenue (what the provider captured, and what it charged
 * off-session for an overstay), refunds, and the payments that did not arrive (a declined or expired
 * authorization: PaymentFailed; a settlement's step the provider failed: PaymentStepFailed), each
 * counted from the amounts the facts recorded, never recomputed. One document per lot per day, in
 * each currency a fact of the day carried (a lot may change its currency; a refund is in the
 * currency of what it refunds).
 */
export const lotMoneyProjection = defineProjection({
  name: "lot-money",
  version: 1,
  collections: { [LOT_MONEY]: [] },
  on: {
    PaymentCaptured: ({ event: { data } }, collection) =>
      countOn(collection, data, data.capturedAt, { revenue: data }),
    OverstayCharged: ({ event: { data } }, collection) =>
      countOn(collection, data, data.chargedAt, { revenue: data }),
    PaymentRefunded: ({ event: { data } }, collection) =>
      countOn(collection, data, data.refundedAt, { refund: data }),
    PaymentFailed: ({ event: { data } }, collection) =>
      countOn(collection, data, data.failedAt, { failedPayment: true }),
    PaymentStepFailed: ({ event: { data } }, collection) =>
      countOn(collection, data, data.failedAt, { failedStep: true }),
  },
});
