import { Type } from "@sinclair/typebox";
import { Amount, Currency, ParkingLotId, PaymentTerms, ReservationId, Timestamp } from "./common.js";
import { byType, defineEvent } from "./event-definition.js";
import { IntentId } from "./payment-events.js";

const strict = { additionalProperties: false } as const;
const Money = Type.Integer({ minimum: 0 });

/**
 * Issue 48, item 5: a payment begun before its payment had a stream of its own (its facts were
 * appended to the lot's stream), carried onto `payment-{reservationId}` by the upgrade
 * (write-side/payment/payment-upgrade.ts): the payment's whole state as the old scheme computed it
 * (the lot's frozen record, with the payment stream's own facts since on top). The payment's
 * decider takes it as is (it replaces whatever the stream held before it), so the payment stream
 * alone answers from then on.
 *
 * Projections and read models IGNORE it: the original facts, on the lot's stream, are what they
 * already counted (a replay from history gives the same views before and after the upgrade). It
 * moves no money and says nothing new; no webhook, no index of a reservation's events names it.
 */
export const PaymentCarriedOverData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    carriedAt: Timestamp,
    status: Type.Union([Type.Literal("pending"), Type.Literal("authorized"), Type.Literal("failed")]),
    intentId: Type.Optional(IntentId),
    currency: Type.Optional(Currency),
    authorized: Money,
    captured: Money,
    refunded: Money,
    refundsOutstanding: Type.Array(Money),
    settled: Type.Boolean(),
    endedAt: Type.Optional(Timestamp),
    steps: Type.Array(Type.String({ maxLength: 200 })),
    releasedIntents: Type.Array(IntentId),
    facts: Type.Array(
      Type.Object(
        {
          kind: Type.Union([
            Type.Literal("authorized"),
            Type.Literal("captured"),
            Type.Literal("released"),
            Type.Literal("refunded"),
            Type.Literal("charged"),
          ]),
          intentId: IntentId,
          amount: Money,
        },
        strict,
      ),
    ),
    /** What the booking asked, as the lot recorded it: its amount, its hold and its terms then. */
    asked: Type.Object(
      { amount: Amount, currency: Currency, holdUntil: Timestamp, terms: PaymentTerms },
      strict,
    ),
  },
  { ...strict, $id: "PaymentCarriedOver" },
);

export const PaymentCarriedOverEvent = defineEvent({
  type: "PaymentCarriedOver",
  schema: PaymentCarriedOverData,
  stream: "payment",
  recordTime: "carriedAt",
  audit: (d, by) =>
    `${by} carried the payment of reservation ${d.reservationId} over from lot ${d.parkingLotId}'s stream to its own (an upgrade: nothing changed)`,
});

/** Whether a fact is the upgrade's: every projection, read model and view skips it (see above). */
export const isUpgradeFact = (type: string): boolean => type === "PaymentCarriedOver";

/** The upgrade's facts, by type: on a payment's own stream. */
export const PAYMENT_UPGRADE_EVENTS = byType(PaymentCarriedOverEvent);
