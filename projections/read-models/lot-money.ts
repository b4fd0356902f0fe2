import type { WriteOp } from "../../document-store/port.js";
import { type CollectionOf, defineProjection, upsertOne } from "./projection.js";

export const LOT_MONEY = "lot_money";

/**
 * The quarter hour (UTC) a fact counts in: `YYYY-MM-DDTHH:MM` of an ISO timestamp, its minutes
 * floored to 00, 15, 30 or 45. A lot's local day (issue 49) is a range of quarters: every zone's
 * offset from UTC in use today is a whole number of quarter hours (Kathmandu +5:45, Chatham
 * +12:45), so a local midnight always starts a quarter, whatever the lot's zone is or becomes.
 */
export const quarterOf = (timestamp: string | number): string => {
  const ms = new Date(timestamp).getTime();
  return new Date(ms - (((ms % 900_000) + 900_000) % 900_000)).toISOString().slice(0, 16);
};

/**
 * `{parkingLotId}/{quarter}`: `/` is outside the lot ids' alphabet (schemas/common.ts Identifier),
 * and quarters sort as text in time order, so a lot's facts from instant a to instant b are exactly
 * the ids from `moneyId(lot, quarterOf(a))` up to (not including) `moneyId(lot, quarterOf(b))`.
 */
export const moneyId = (parkingLotId: string, quarter: string): string => `${parkingLotId}/${quarter}`;

/** What one fact adds to its lot's quarter hour. */
interface Counted {
  readonly revenue?: { readonly currency: string; readonly amount: number };
  readonly refund?: { readonly currency: string; readonly amount: number };
  readonly failedPayment?: true;
  readonly failedStep?: true;
  /** Issue 69: of `revenue`, what was collected at the gate, charged for overstays, and by drive-ups. */
  readonly onSite?: number;
  readonly overstay?: number;
  readonly driveUp?: number;
}

/**
 * One `$inc` of the lot's quarter-hour document (created by its first fact). Every counter the
 * document has is incremented, by 0 when the fact is not of its kind, so each document holds
 * all of them: per currency `revenue.{C}` and `refunds.{C}` together, `failedPayments` and
 * `failedSteps` always.
 */
function countOn(
  collection: CollectionOf,
  data: { readonly parkingLotId: string },
  at: string,
  counted: Counted,
): WriteOp[] {
  const quarter = quarterOf(at);
  const money = counted.revenue ?? counted.refund;
  const inc: Record<string, number> = {
    failedPayments: counted.failedPayment ? 1 : 0,
    failedSteps: counted.failedStep ? 1 : 0,
  };
  if (money) {
    inc[`revenue.${money.currency}`] = counted.revenue?.amount ?? 0;
    inc[`refunds.${money.currency}`] = counted.refund?.amount ?? 0;
    inc[`onSite.${money.currency}`] = counted.onSite ?? 0;
    inc[`overstays.${money.currency}`] = counted.overstay ?? 0;
    inc[`driveUps.${money.currency}`] = counted.driveUp ?? 0;
  }
  return upsertOne(collection, LOT_MONEY, moneyId(data.parkingLotId, quarter), {
    $setOnInsert: { parkingLotId: data.parkingLotId, at: `${quarter}:00.000Z` },
    $inc: inc,
  });
}

/**
 * The money of each lot per day (issue 38): revenue (what the provider captured, and what it charged
 * off-session for an overstay; since issue 69 also what a check-out left to collect at the gate, of
 * which overstays and drive-ups are counted apart), refunds, and the payments that did not arrive (a declined or expired
 * authorization: PaymentFailed; a settlement's step the provider failed: PaymentStepFailed), each
 * counted from the amounts the facts recorded, never recomputed. One document per lot per UTC
 * quarter hour that had a fact, in each currency a fact of it carried (a lot may change its
 * currency; a refund is in the currency of what it refunds); the read side sums the quarters of a
 * lot's local day in the lot's zone (read-api/views/money-view.ts), so a zone set or changed later
 * reads the same facts on the right days without a rebuild.
 */
export const lotMoneyProjection = defineProjection({
  name: "lot-money",
  // 2: quarter hours instead of UTC days (issue 49: a lot's days are local).
  // 3: what the lot collected on site (payments off, drive-ups), overstays and drive-ups (issue 69).
  version: 3,
  collections: { [LOT_MONEY]: [] },
  on: {
    PaymentCaptured: ({ event: { data } }, collection) =>
      countOn(collection, data, data.capturedAt, { revenue: data }),
    OverstayCharged: ({ event: { data } }, collection) =>
      countOn(collection, data, data.chargedAt, { revenue: data, overstay: data.amount }),
    // Issue 69: a stay no card processor was asked to pay (payments off, a drive-up), collected
    // at the gate as its check-out priced it (the lot's decider says what, `collectedOnSite`).
    ReservationCheckedOut: ({ event: { data } }, collection) => {
      const onSite = data.collectedOnSite;
      if (!onSite) return [];
      const amount = onSite.price + onSite.overstay;
      return countOn(collection, data, data.checkedOutAt, {
        revenue: { currency: onSite.currency, amount },
        onSite: amount,
        overstay: onSite.overstay,
        driveUp: onSite.kind === "drive-up" ? onSite.price : 0,
      });
    },
    PaymentRefunded: ({ event: { data } }, collection) =>
      countOn(collection, data, data.refundedAt, { refund: data }),
    PaymentFailed: ({ event: { data } }, collection) =>
      countOn(collection, data, data.failedAt, { failedPayment: true }),
    PaymentStepFailed: ({ event: { data } }, collection) =>
      countOn(collection, data, data.failedAt, { failedStep: true }),
  },
});
