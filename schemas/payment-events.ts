import { type Static, Type } from "@sinclair/typebox";
import {
  Amount,
  Currency,
  CustomerId,
  IntentId,
  ParkingLotId,
  PaymentMethodId,
  PaymentTerms,
  Personal,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";
import { byType, defineEvent } from "./event-definition.js";
import { PaymentAttemptFailedEvent } from "./payment-attempt-events.js";
import { PaymentVoidDecidedEvent } from "./payment-void-events.js";

/**
 * Payload schemas of the payment facts (issue 38): a booking's authorization or its failure, the
 * settlement the decider decides when a paid booking ends (or an operator refunds), and each step's
 * outcome at the provider. Amounts are integers in the currency's minor unit.
 */

const strict = { additionalProperties: false } as const;

const SETTLED_BY: Record<Static<typeof PaymentSettlementDecidedData>["because"], string> = {
  "check-out": "its check-out",
  "customer-cancel": "the customer's cancel",
  "operator-cancel": "an operator's cancel",
  closure: "a closure",
  "no-show": "its no-show",
  refund: "a refund",
};

/** A settlement's amounts in words: only the parts that move money. */
function settlementSentence(d: Static<typeof PaymentSettlementDecidedData>, by: string): string {
  const parts = [
    d.capture > 0 ? `capture ${d.capture}` : "",
    d.release > 0 ? `release ${d.release}` : "",
    d.offSession > 0 ? `charge ${d.offSession} off-session` : "",
    d.refund > 0 ? `refund ${d.refund}` : "",
    d.waived ? `waive ${d.waived} (below the smallest charge)` : "",
  ].filter(Boolean);
  const what = parts.length > 0 ? parts.join(", ") : "move nothing";
  return `${by} settled payment ${d.intentId} of reservation ${d.reservationId} on ${SETTLED_BY[d.because]}: ${what} ${d.currency}${d.reason ? ` (${d.reason})` : ""}`;
}

const RELEASED_BECAUSE: Record<Static<typeof PaymentIntentReleasedData>["because"], string> = {
  "booking-ended": "the booking ended unpaid",
  "authorization-refused": "an authorization the booking did not take",
  reconciliation: "the reconciliation found no booking counting on it",
};

export { IntentId } from "./common.js";

/** The id of a settlement: the event id of the PaymentSettlementDecided a step executes. */
export const SettlementId = Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$" });

/** What a settlement's steps are, one outcome fact each. */
export const PaymentStep = Type.Union([
  Type.Literal("capture"),
  Type.Literal("release"),
  Type.Literal("refund"),
  Type.Literal("overstay"),
]);

/** A provider's code (a decline code, an error code). */
const ProviderCode = Type.String({ minLength: 1, maxLength: 100, pattern: "^[a-z0-9_]+$" });

/** Whose payment a fact is about: the booking, its lot and the provider's intent. */
const aboutIntent = { reservationId: ReservationId, parkingLotId: ParkingLotId, intentId: IntentId };

/**
 * Since issue 38: the provider authorized the booking's amount; a PENDING_PAYMENT booking is
 * RESERVED from `authorizedAt` on. Since issue 47 it also says which booking it made RESERVED, as
 * the lot recorded it (its customer, personal, and `booking`): integrators hear the reservation at
 * this moment, from this fact alone (absent in older facts). Issue 71, `method`: the card confirmed
 * with Stripe.js, kept for later charges: sealed (erased: `erased`, nothing charged), not in webhooks.
 */
export const PaymentAuthorizedData = Type.Object(
  {
    ...aboutIntent,
    amount: Amount,
    currency: Currency,
    authorizedAt: Timestamp,
    customerId: Type.Optional(Personal(CustomerId)),
    booking: Type.Optional(
      Type.Object(
        {
          /** What the booking costs (0: an open-ended stay priced at check-out), not what was authorized. */
          amount: Amount,
          startsAt: Type.Optional(Timestamp),
          endsAt: Type.Optional(Timestamp),
        },
        strict,
      ),
    ),
    method: Type.Optional(Personal(PaymentMethodId)),
  },
  { ...strict, $id: "PaymentAuthorized" },
);

/**
 * Issue 71: the booking's stay ends beyond a card hold's lifetime (seven days,
 * https://docs.stripe.com/payments/place-a-hold-on-a-payment-method): its card was saved to the
 * customer's provider customer without holding money (`intentId`: Stripe's SetupIntent,
 * https://docs.stripe.com/payments/save-and-reuse), and the booking is RESERVED from `savedAt` on,
 * its payment `card-saved`. `amount` is what is to be held off-session at `authorizeAt`, a stated
 * time before the stay (AUTHORIZE_BEFORE_STAY_HOURS); PaymentAuthorized follows then, or
 * PaymentFailed (the spot released). `customerId`, `booking`, `method` (the card saved, one entered
 * with Stripe.js told by `setup_intent.succeeded`) as PaymentAuthorized's.
 */
export const PaymentCardSavedData = Type.Object(
  {
    ...aboutIntent,
    amount: Amount,
    currency: Currency,
    authorizeAt: Timestamp,
    savedAt: Timestamp,
    customerId: PaymentAuthorizedData.properties.customerId,
    booking: PaymentAuthorizedData.properties.booking,
    method: PaymentAuthorizedData.properties.method,
  },
  { ...strict, $id: "PaymentCardSaved" },
);

export const PaymentCardSavedEvent = defineEvent({
  type: "PaymentCardSaved",
  schema: PaymentCardSavedData,
  stream: "payment",
  recordTime: "savedAt",
  audit: (d, by) =>
    `${by} recorded that the card for reservation ${d.reservationId} was saved (${d.intentId}) without holding money; ${d.amount} ${d.currency} is to be held at ${d.authorizeAt}`,
});

/**
 * Issue 71: the saved card's hold before the stay (PaymentCardSaved) was refused off-session
 * because the card asks for its customer (Stripe's `authentication_required`,
 * https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method): the customer is to
 * come back and complete the intent `intentId` on session (its client secret, kept as the
 * client-confirmed flow's is, is shown to the booking's customer only). The booking stays RESERVED,
 * its payment `action-required`, until `deadline` (the stay's start): completed (the intent's
 * authorization), PaymentAuthorized follows; not by then, PaymentFailed (the spot released).
 * With `authorizeAt`, it is the saving of the card itself that asks for the customer (`intentId`:
 * its SetupIntent, 3-D Secure), its booking pending: it stays PENDING_PAYMENT (nothing confirmed)
 * until the provider says the card was saved (`setup_intent.succeeded`): PaymentCardSaved follows;
 * failed or not done by `deadline` (24 h after booking, or `authorizeAt` if earlier), PaymentFailed.
 */
export const PaymentActionRequiredData = Type.Object(
  {
    ...aboutIntent,
    amount: Amount,
    currency: Currency,
    deadline: Timestamp,
    actionRequiredAt: Timestamp,
    authorizeAt: Type.Optional(Timestamp),
  },
  { ...strict, $id: "PaymentActionRequired" },
);

export const PaymentActionRequiredEvent = defineEvent({
  type: "PaymentActionRequired",
  schema: PaymentActionRequiredData,
  stream: "payment",
  recordTime: "actionRequiredAt",
  audit: (d, by) =>
    `${by} recorded that holding ${d.amount} ${d.currency} for reservation ${d.reservationId} (payment ${d.intentId}) needs its customer to authenticate by ${d.deadline}`,
});

export const PaymentAuthorizedEvent = defineEvent({
  type: "PaymentAuthorized",
  schema: PaymentAuthorizedData,
  stream: "payment",
  recordTime: "authorizedAt",
  audit: (d, by) =>
    `${by} recorded that payment ${d.intentId} of ${d.amount} ${d.currency} for reservation ${d.reservationId} was authorized`,
});

/**
 * Since issue 47: the payments process manager created the intent that is to hold the booking's
 * amount (before anyone confirms it): the one intent whose authorization may make the booking
 * RESERVED, and the one released if the booking ends unpaid. Since issue 48, `terms`: the lot's
 * terms the booking was made under (its cancel and no-show settle by them), so that the payment's
 * own stream holds them once the lot's state no longer holds the booking; absent in older facts.
 * Issue 71, `authorizeAt`: a stay beyond a hold's lifetime booked without a saved card: `intentId` is
 * the SetupIntent its customer confirms with Stripe.js; once saved (PaymentCardSaved) it is held then.
 * Issue 68 item 4, `method`: the booking's saved card, as PaymentAuthorized's.
 */
export const PaymentIntentCreatedData = Type.Object(
  {
    ...aboutIntent,
    amount: Amount,
    currency: Currency,
    terms: Type.Optional(PaymentTerms),
    authorizeAt: Type.Optional(Timestamp),
    createdAt: Timestamp,
    customerId: PaymentAuthorizedData.properties.customerId,
    method: PaymentCardSavedData.properties.method,
  },
  { ...strict, $id: "PaymentIntentCreated" },
);

export const PaymentIntentCreatedEvent = defineEvent({
  type: "PaymentIntentCreated",
  schema: PaymentIntentCreatedData,
  stream: "payment",
  recordTime: "createdAt",
  audit: (d, by) =>
    `${by} recorded that payment ${d.intentId} of ${d.amount} ${d.currency} was created for reservation ${d.reservationId}, waiting to be confirmed`,
});

/**
 * Since issue 47: an intent with this service's metadata that no booking counts on was canceled at
 * the provider, letting go of `amount` if it held any (0: canceled before anyone confirmed it, so
 * no one can any more). `because`: its booking ended unpaid (cancel, expired hold, decline), its
 * authorization was not taken by the booking (no longer waiting for it; not its intent, amount or
 * currency), or the hourly reconciliation found it open.
 */
export const PaymentIntentReleasedData = Type.Object(
  {
    ...aboutIntent,
    amount: Amount,
    because: Type.Union([
      Type.Literal("booking-ended"),
      Type.Literal("authorization-refused"),
      Type.Literal("reconciliation"),
    ]),
    releasedAt: Timestamp,
  },
  { ...strict, $id: "PaymentIntentReleased" },
);

export const PaymentIntentReleasedEvent = defineEvent({
  type: "PaymentIntentReleased",
  schema: PaymentIntentReleasedData,
  stream: "payment",
  recordTime: "releasedAt",
  audit: (d, by) =>
    `${by} recorded that payment ${d.intentId} for reservation ${d.reservationId} was canceled at the provider${d.amount > 0 ? `, releasing ${d.amount} held` : " before anything was held"} (${RELEASED_BECAUSE[d.because]})`,
});

const LAPSED_BECAUSE: Record<Static<typeof PaymentHoldLapsedData>["because"], string> = {
  provider: "the provider reported it canceled",
  reconciliation: "the reconciliation found it canceled at the provider",
};

/**
 * Issue 71: the authorization the booking counts on is no longer held: the provider canceled it
 * before its settlement (a card hold lapses seven days after it was made,
 * https://docs.stripe.com/payments/place-a-hold-on-a-payment-method; or it was canceled on the
 * provider's side). `amount` is what it held. The booking stays; its view reads `lapsed`, never
 * `authorized`, and its settlement charges what is due to the saved card off-session
 * (docs/api.md, "Holds that lapse"). `because`: the provider's webhook said so, or the
 * reconciliation found it.
 */
export const PaymentHoldLapsedData = Type.Object(
  {
    ...aboutIntent,
    amount: Amount,
    because: Type.Union([Type.Literal("provider"), Type.Literal("reconciliation")]),
    lapsedAt: Timestamp,
  },
  { ...strict, $id: "PaymentHoldLapsed" },
);

export const PaymentHoldLapsedEvent = defineEvent({
  type: "PaymentHoldLapsed",
  schema: PaymentHoldLapsedData,
  stream: "payment",
  recordTime: "lapsedAt",
  audit: (d, by) =>
    `${by} recorded that the hold of ${d.amount} by payment ${d.intentId} for reservation ${d.reservationId} is no longer held (${LAPSED_BECAUSE[d.because]})`,
});

/**
 * Since issue 38: the booking's payment failed (the provider declined it, or its hold ran out
 * first); a ReservationCanceled (reason `payment-failed` / `payment-expired`) follows it.
 */
export const PaymentFailedData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    intentId: Type.Optional(IntentId),
    reason: Type.Union([Type.Literal("declined"), Type.Literal("expired")]),
    /** The provider's decline code, when it gave one. */
    code: Type.Optional(ProviderCode),
    /** The provider's message with it (the customer's app may show it); absent in older facts. */
    message: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    failedAt: Timestamp,
  },
  { ...strict, $id: "PaymentFailed" },
);

export const PaymentFailedEvent = defineEvent({
  type: "PaymentFailed",
  schema: PaymentFailedData,
  stream: "payment",
  recordTime: "failedAt",
  audit: (d, by) =>
    d.reason === "expired"
      ? `${by} recorded that the payment hold of reservation ${d.reservationId} ran out before the payment was authorized`
      : `${by} recorded that payment ${d.intentId ?? "(no intent)"} for reservation ${d.reservationId} was declined${d.code ? ` (${d.code})` : ""}`,
});

/**
 * Since issue 38: what is to happen to a paid booking's money, decided in the same append as the
 * fact that settles it (a check-out, a cancel, a no-show, a closure's cancel) or by an operator's
 * refund, with write-side/payment/payment-policy.ts. `capture + release` is what the intent
 * still held; `offSession` is charged beyond it; `refund` is given back of what was captured.
 */
export const PaymentSettlementDecidedData = Type.Object(
  {
    ...aboutIntent,
    currency: Currency,
    capture: Amount,
    release: Amount,
    offSession: Amount,
    refund: Amount,
    because: Type.Union([
      Type.Literal("check-out"),
      Type.Literal("customer-cancel"),
      Type.Literal("operator-cancel"),
      Type.Literal("closure"),
      Type.Literal("no-show"),
      Type.Literal("refund"),
    ]),
    /** An operator's refund: why. */
    reason: Type.Optional(Reason),
    /**
     * Since issue 47: what the booking owed that is not charged because it is below the smallest
     * charge the provider accepts in this currency (schemas/charge-minimums.ts): waived.
     */
    waived: Type.Optional(Amount),
    decidedAt: Timestamp,
  },
  { ...strict, $id: "PaymentSettlementDecided" },
);

export const PaymentSettlementDecidedEvent = defineEvent({
  type: "PaymentSettlementDecided",
  schema: PaymentSettlementDecidedData,
  stream: "payment",
  recordTime: "decidedAt",
  audit: settlementSentence,
  reason: (d) => d.reason,
});

/** Since issue 38: the provider captured `amount` of the intent (a settlement's capture step). */
export const PaymentCapturedData = Type.Object(
  {
    ...aboutIntent,
    amount: Amount,
    currency: Currency,
    settlementId: SettlementId,
    /**
     * Since the money-flow hunt: the booking's authorization had lapsed (the provider canceled it
     * uncaptured after its validity window, seven days for Stripe's online cards), so `amount` was
     * charged off-session to the booking's saved method on `intentId`, a payment of its own
     * (authorized and captured at once). Absent: captured from the authorization `intentId`.
     */
    lapsedIntentId: Type.Optional(IntentId),
    capturedAt: Timestamp,
  },
  { ...strict, $id: "PaymentCaptured" },
);

export const PaymentCapturedEvent = defineEvent({
  type: "PaymentCaptured",
  schema: PaymentCapturedData,
  stream: "payment",
  recordTime: "capturedAt",
  audit: (d, by) =>
    d.lapsedIntentId === undefined
      ? `${by} recorded that ${d.amount} ${d.currency} of payment ${d.intentId} for reservation ${d.reservationId} was captured`
      : `${by} recorded that ${d.amount} ${d.currency} for reservation ${d.reservationId} was charged off-session (payment ${d.intentId}): its authorization ${d.lapsedIntentId} had lapsed`,
});

/** Since issue 38: the provider let go of `amount` of the intent's authorization (a release step). */
export const PaymentReleasedData = Type.Object(
  {
    ...aboutIntent,
    amount: Amount,
    settlementId: SettlementId,
    releasedAt: Timestamp,
  },
  { ...strict, $id: "PaymentReleased" },
);

export const PaymentReleasedEvent = defineEvent({
  type: "PaymentReleased",
  schema: PaymentReleasedData,
  stream: "payment",
  recordTime: "releasedAt",
  audit: (d, by) =>
    `${by} recorded that ${d.amount} of payment ${d.intentId} for reservation ${d.reservationId} was released`,
});

/** Since issue 38: the provider refunded `amount` of what the intent captured (a refund step). */
export const PaymentRefundedData = Type.Object(
  {
    ...aboutIntent,
    refundId: IntentId,
    amount: Amount,
    currency: Currency,
    settlementId: SettlementId,
    refundedAt: Timestamp,
  },
  { ...strict, $id: "PaymentRefunded" },
);

export const PaymentRefundedEvent = defineEvent({
  type: "PaymentRefunded",
  schema: PaymentRefundedData,
  stream: "payment",
  recordTime: "refundedAt",
  audit: (d, by) =>
    `${by} recorded that ${d.amount} ${d.currency} of payment ${d.intentId} for reservation ${d.reservationId} was refunded (${d.refundId})`,
});

/**
 * Since issue 38: what the authorization could not cover (an overstay, an open-ended stay priced
 * over its deposit) was charged off-session to the same payment method: `intentId` is the new intent.
 */
export const OverstayChargedData = Type.Object(
  {
    ...aboutIntent,
    amount: Amount,
    currency: Currency,
    settlementId: SettlementId,
    chargedAt: Timestamp,
  },
  { ...strict, $id: "OverstayCharged" },
);

export const OverstayChargedEvent = defineEvent({
  type: "OverstayCharged",
  schema: OverstayChargedData,
  stream: "payment",
  recordTime: "chargedAt",
  audit: (d, by) =>
    `${by} recorded that ${d.amount} ${d.currency} beyond the authorization of reservation ${d.reservationId} was charged off-session (${d.intentId})`,
});

/** Since issue 38: a settlement's step failed at the provider (a declined off-session charge): recorded and shown. */
export const PaymentStepFailedData = Type.Object(
  {
    reservationId: ReservationId,
    parkingLotId: ParkingLotId,
    settlementId: SettlementId,
    step: PaymentStep,
    code: ProviderCode,
    message: Type.String({ minLength: 1, maxLength: 500 }),
    /** What it was to move (a failed refund frees it among the refunds under way), in what, the card's decline code when not `code` (a lapsed capture's), the intent left for its customer to pay on session (issue 71, comeback.ts); absent on older facts. */
    amount: Type.Optional(Amount),
    currency: Type.Optional(Currency),
    declineCode: Type.Optional(ProviderCode),
    intentId: Type.Optional(IntentId),
    failedAt: Timestamp,
  },
  { ...strict, $id: "PaymentStepFailed" },
);

export const PaymentStepFailedEvent = defineEvent({
  type: "PaymentStepFailed",
  schema: PaymentStepFailedData,
  stream: "payment",
  recordTime: "failedAt",
  audit: (d, by) =>
    `${by} recorded that the ${d.step} of reservation ${d.reservationId}'s payment failed (${d.code}): ${d.message}`,
});

/**
 * The payment facts, by type: appended to the payment's own stream, `payment-{reservationId}`
 * (issue 48). A lot's stream written before issue 48 holds them too: the lot's decider still folds
 * those (write-side/parking-lot/decide.ts `PARKING_LOT_EVENT_TYPES`), and the upgrade carries each
 * such payment over to its own stream (PaymentCarriedOver).
 */
export const PAYMENT_EVENTS = byType(
  PaymentIntentCreatedEvent,
  PaymentIntentReleasedEvent,
  PaymentHoldLapsedEvent,
  PaymentAuthorizedEvent,
  PaymentCardSavedEvent,
  PaymentActionRequiredEvent,
  PaymentFailedEvent,
  PaymentAttemptFailedEvent,
  PaymentSettlementDecidedEvent,
  PaymentVoidDecidedEvent,
  PaymentCapturedEvent,
  PaymentReleasedEvent,
  PaymentRefundedEvent,
  OverstayChargedEvent,
  PaymentStepFailedEvent,
);

/** The payment facts' schemas, by type (webhooks.ts derives its messages' shapes from them). */
export const PaymentEventDataSchemas = Object.fromEntries(
  Object.values(PAYMENT_EVENTS).map((definition) => [definition.type, definition.schema]),
) as { readonly [K in keyof typeof PAYMENT_EVENTS]: (typeof PAYMENT_EVENTS)[K]["schema"] };
