import { type Static, Type } from "@sinclair/typebox";
import { Amount, Currency, Timestamp } from "./common.js";
import { TimeZone } from "./place.js";

/** A paid booking's payment as the reservation view shows it (issue 38). */
export const PaymentView = Type.Object(
  {
    state: Type.Union(
      [
        Type.Literal("pending"),
        Type.Literal("card-saved"),
        Type.Literal("action-required"),
        Type.Literal("authorized"),
        Type.Literal("lapsed"),
        Type.Literal("captured"),
        Type.Literal("partially_refunded"),
        Type.Literal("refunded"),
        Type.Literal("released"),
        Type.Literal("failed"),
      ],
      {
        description:
          'pending: waiting for the provider (the booking is PENDING_PAYMENT until `holdUntil`); card-saved: the stay ends more than seven days after the booking (a card hold\'s lifetime), so its card was saved without holding money and the booking is RESERVED; the amount is held off-session at `authorizeAt`, a stated time before the stay (docs/api.md, "Holds that fit the horizon"), and the booking is canceled if that fails; action-required: that hold asked for the customer (3-D Secure, `authentication_required`): the booking stays RESERVED while its customer completes the intent with `clientSecret` until `actionDeadline` (the stay\'s start), then it is authorized, or else canceled (or saving the card itself asked for them, with the SetupIntent\'s `clientSecret`, until 24 h after booking at most, the booking PENDING_PAYMENT meanwhile; completed, it reads card-saved and the booking is RESERVED); authorized: the amount is held; lapsed: the provider let the hold go before the booking ended (a card hold lasts seven days: `lapsedAt`), nothing is held and `authorized` is 0, what is due is charged to the saved card off-session at the end (docs/api.md, "Holds that lapse"); captured, released: what the settlement did; partially_refunded: part of what was captured was refunded (`refunded` < `captured`); refunded: all of it was; failed: declined or the hold ran out (the booking was canceled).',
      },
    ),
    amount: {
      ...Amount,
      description:
        "What the booking asked the provider to authorize (the quote, or an open-ended booking's deposit).",
    },
    currency: Currency,
    holdUntil: { ...Timestamp, description: "Until when the booking held its spot waiting for its payment." },
    intentId: Type.Optional(
      Type.String({ description: "The provider's payment (Stripe: the PaymentIntent's id)." }),
    ),
    clientSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description:
          "State `pending`, payments on (PAYMENTS=stripe), a booking made without a saved `paymentMethod`: the PaymentIntent's client secret, to confirm the payment with Stripe.js or a mobile SDK (the booking is RESERVED once Stripe reports it authorized). Shown on GET /reservations/{reservationId} to the booking's customer only, once the payments process manager has created the intent, and only while the payment is pending; also in state `action-required`, the hold before the stay's client secret, to complete on session; and a booking ending more than seven days ahead gets its SetupIntent's (`seti_…_secret_…`, `confirmCardSetup`): its card is saved, then held before the stay.",
      }),
    ),
    failure: Type.Optional(
      Type.Object(
        {
          reason: Type.Union([Type.Literal("declined"), Type.Literal("expired")], {
            description:
              "declined: the provider (the card's issuer) said no; expired: the payment was not authorized before `holdUntil`.",
          }),
          code: Type.String({
            description:
              "The provider's decline code (Stripe's `decline_code`, else its error `code`, e.g. `card_declined`, `insufficient_funds`), `declined` when it gave none, or `expired`.",
            examples: ["card_declined"],
          }),
          message: Type.Optional(
            Type.String({ description: "The provider's message with the decline, when it gave one." }),
          ),
          at: Timestamp,
        },
        {
          additionalProperties: false,
          description:
            "State `failed`: why, so the customer's app can say it (\"your card was declined\"). Also in state `pending` or `action-required`, the customer's last try that was declined: they may try another card on the same intent until the deadline (`holdUntil`, or `actionDeadline`). Distinct from `failures`, the settlement steps that failed later.",
        },
      ),
    ),
    authorized: { ...Amount, description: "What the provider holds now (0 once its hold lapsed)." },
    authorizeAt: Type.Optional({
      ...Timestamp,
      description:
        "State `card-saved` (and after): when the saved card is (or was) held off-session, a stated time before the stay.",
    }),
    actionDeadline: Type.Optional({
      ...Timestamp,
      description:
        "State `action-required` (and after): until when the customer may complete the hold before the stay (the stay's start).",
    }),
    lapsedAt: Type.Optional({
      ...Timestamp,
      description:
        "State `lapsed` (and after): when the service learned the provider no longer held the amount.",
    }),
    captured: {
      ...Amount,
      description: "Captured from the authorization, with any off-session charge (an overstay).",
    },
    refunded: Amount,
    released: Amount,
    failures: Type.Array(
      Type.Object(
        {
          step: Type.Union([
            Type.Literal("capture"),
            Type.Literal("release"),
            Type.Literal("refund"),
            Type.Literal("overstay"),
          ]),
          code: Type.String(),
          message: Type.String(),
          at: Timestamp,
          amount: Type.Optional({
            ...Amount,
            description: "What it was to move: left to collect.",
          }),
          declineCode: Type.Optional(
            Type.String({
              description:
                "The card's decline code when it is not `code` (`authentication_required`: the customer must come back).",
            }),
          ),
          intentId: Type.Optional(
            Type.String({
              description:
                "The provider's intent the refused charge left for the customer to pay on session (Stripe: `requires_payment_method`); once paid, the failure leaves the list and its amount is in `captured`.",
            }),
          ),
          clientSecret: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 500,
              description:
                "That intent's client secret, to pay `amount` with Stripe.js (`confirmCardPayment`) or a mobile SDK: shown on GET /reservations/{reservationId} to the booking's customer only.",
            }),
          ),
        },
        { additionalProperties: false },
      ),
      {
        description:
          "Steps of a settlement the provider failed (a declined off-session charge): recorded (the audit trail keeps each); one its customer paid later (`intentId`) leaves the list.",
      },
    ),
  },
  { additionalProperties: false, $id: "PaymentView" },
);
export type PaymentView = Static<typeof PaymentView>;

/** A calendar day, `YYYY-MM-DD`: a lot's local day, in its time zone (issue 49; UTC for a lot without one). */
export const Day = Type.String({
  format: "date",
  description:
    "A day, YYYY-MM-DD: the lot's local day, from midnight to midnight in its time zone (UTC for a lot without one), so 23 or 25 hours on a daylight-saving change.",
  examples: ["2026-11-26"],
});

const Sum = (description: string) => Type.Integer({ minimum: 0, description });

/** What moved in one currency (issue 38): amounts in its minor unit, as the payment facts recorded them. */
export const MoneyInCurrency = Type.Object(
  {
    currency: Currency,
    revenue: Sum(
      "What the lot charged: captured by the card processor (PaymentCaptured, cancellation and no-show fees included) plus charged off-session for overstays (OverstayCharged), plus what check-outs left to collect at the gate (payments off, the default, and drive-ups: everything the lot priced; `collectedOnSite`).",
    ),
    refunds: Sum("Refunded (PaymentRefunded), on the day of the refund, whatever day it refunds."),
    net: Type.Integer({
      description: "revenue - refunds (negative on a day that refunds more than it takes).",
    }),
    collectedByProcessor: Sum("Of `revenue`, what the card processor took (payments on)."),
    collectedOnSite: Sum(
      "Of `revenue`, what is collected at the gate: stays no card processor was asked to pay (payments off; drive-ups), on the day of their check-out.",
    ),
    bookings: Sum("Of `revenue`, bookings' prices (fees included), neither overstays nor drive-ups."),
    overstays: Sum("Of `revenue`, charges for staying past a window's end."),
    driveUps: Sum("Of `revenue`, what drive-up stays (cars let in without a booking) were priced."),
  },
  { additionalProperties: false },
);
export type MoneyInCurrency = Static<typeof MoneyInCurrency>;

/**
 * A lot's money over a day or a range of days (issue 38): revenue and refunds per currency (a lot
 * that changed its currency may have two), and the payments that did not arrive.
 */
const moneyFigures = {
  amounts: Type.Array(MoneyInCurrency, {
    description: "One entry per currency money moved in, by currency; empty when none moved.",
  }),
  failedPayments: Sum("Bookings whose payment failed: declined, or its hold ran out (PaymentFailed)."),
  failedSteps: Sum(
    "Settlement steps the provider failed, such as a declined off-session overstay charge (PaymentStepFailed).",
  ),
};

/** One day's figures, described for where it appears (no `$id`: it appears in several answers). */
export const moneyDay = (description: string) =>
  Type.Object({ day: Day, ...moneyFigures }, { additionalProperties: false, description });
export const MoneyDay = moneyDay(
  "A lot's money on one local day of the lot (its time zone; UTC for a lot without one).",
);
export type MoneyDay = Static<typeof MoneyDay>;

/** GET /parking-lots/{id}/money: the lot's money per day from `from` to `to`, and over them all. */
export const LotMoneyView = Type.Object(
  {
    parkingLotId: Type.String(),
    timeZone: {
      ...TimeZone,
      description:
        "The lot's time zone, whose local days `from`, `to` and each `day` are (UTC for a lot without one): midnight to midnight there.",
    },
    from: Day,
    to: Day,
    days: Type.Array(MoneyDay, {
      description:
        "Each day of [from, to] on which a payment fact was recorded, oldest first; others are left out.",
    }),
    totals: Type.Object(moneyFigures, {
      additionalProperties: false,
      description: "The days' figures summed, per currency.",
    }),
  },
  { additionalProperties: false, $id: "LotMoneyView" },
);
export type LotMoneyView = Static<typeof LotMoneyView>;
