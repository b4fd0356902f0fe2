import type { WriteOp } from "../../document-store/port.js";
import { type CollectionOf, defineProjection, upsertOne } from "./projection.js";

export const LOT_MONEY = "lot_money";

/**
 * The UTC quarter hour a fact counts in (`YYYY-MM-DDTHH:MM`): every zone's offset is a whole
 * number of quarter hours (Kathmandu +5:45), so a lot's local day is a range of quarters.
 */
export const quarterOf = (timestamp: string | number): string => {
  const ms = new Date(timestamp).getTime();
  return new Date(ms - (((ms % 900_000) + 900_000) % 900_000)).toISOString().slice(0, 16);
};

/** `{parkingLotId}/{quarter}` (`/` is no lot id's): a lot's facts from a to b are one range of ids. */
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

/** One `$inc` of the lot's quarter-hour document, every counter (by 0 when not of its kind) so each holds all. */
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
 * Each lot's money: revenue (captured, charged for overstays, collected at the gate), refunds and
 * the payments that did not arrive, from the amounts the facts recorded, never recomputed. One
 * document per lot and UTC quarter hour, per currency; the read side sums a local day's quarters,
 * so a zone set or changed later reads the same facts on the right days without a rebuild.
 */
export const lotMoneyProjection = defineProjection({
  name: "lot-money",
  version: 3,
  collections: { [LOT_MONEY]: [] },
  on: {
    PaymentCaptured: ({ event: { data } }, collection) =>
      countOn(collection, data, data.capturedAt, { revenue: data }),
    OverstayCharged: ({ event: { data } }, collection) =>
      countOn(collection, data, data.chargedAt, { revenue: data, overstay: data.amount }),
    // A stay no card processor was asked to pay, collected at the gate as its check-out priced it.
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
