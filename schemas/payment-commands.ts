import { type Static, Type } from "@sinclair/typebox";
import { command } from "./command-shape.js";
import {
  Amount,
  Currency,
  OfferedAmount,
  ParkingLotId,
  PaymentMethodId,
  Reason,
  ReservationId,
  Timestamp,
} from "./common.js";
import { IntentId, PaymentStep, SettlementId } from "./payment-events.js";

/**
 * Payments (issue 38), sent by the payments process manager, the webhook and the scheduler (and
 * RefundPayment by an operator); each is idempotent, so a retry or a second replica appends once.
 */
const ProviderCode = Type.String({ minLength: 1, maxLength: 100, pattern: "^[a-z0-9_]+$" });

/** The provider authorized a pending booking's payment: PaymentAuthorized, RESERVED. */
export const AuthorizePayment = command("AuthorizePayment", {
  parkingLotId: ParkingLotId,
  reservationId: ReservationId,
  intentId: IntentId,
  amount: Amount,
  currency: Currency,
  /**
   * Issue 71: the card was saved (`intentId`: the SetupIntent), nothing held; `amount` is held off-session
   * at this time, before the stay (PaymentCardSaved; the booking is confirmed all the same).
   */
  authorizeAt: Type.Optional(Timestamp),
  /**
   * Issue 71: the saved card's hold before the stay (`intentId`) waits for its customer to
   * authenticate, until this time (the stay's start): PaymentActionRequired, nothing held yet.
   * With `authorizeAt`: saving the card (`intentId`, its SetupIntent) waits for the customer until then.
   */
  actionDeadline: Type.Optional(Timestamp),
  /** Issue 71: the card a SetupIntent saved (its `payment_method`), held and charged off-session later. */
  paymentMethod: Type.Optional(PaymentMethodId),
});

/** The payments process manager created the booking's intent (not confirmed yet): PaymentIntentCreated. */
export const RecordPaymentIntent = command("RecordPaymentIntent", {
  parkingLotId: ParkingLotId,
  reservationId: ReservationId,
  intentId: IntentId,
  amount: Amount,
  currency: Currency,
  /** Issue 71: `intentId` is a SetupIntent its customer confirms (a far stay): the card saved is held then. */
  authorizeAt: Type.Optional(Timestamp),
  /** Issue 68 item 4: the booking's saved card, which the fact keeps sealed (its off-session charges use it). */
  paymentMethod: Type.Optional(PaymentMethodId),
});

/** An intent no booking counts on was canceled at the provider: PaymentIntentReleased (once per intent). */
export const RecordIntentReleased = command("RecordIntentReleased", {
  parkingLotId: ParkingLotId,
  reservationId: ReservationId,
  intentId: IntentId,
  amount: Amount,
  because: Type.Union([
    Type.Literal("booking-ended"),
    Type.Literal("authorization-refused"),
    Type.Literal("reconciliation"),
  ]),
});

/** Issue 71: the provider canceled the booking's authorization before its settlement: PaymentHoldLapsed. */
export const RecordHoldLapsed = command("RecordHoldLapsed", {
  parkingLotId: ParkingLotId,
  reservationId: ReservationId,
  intentId: IntentId,
  because: Type.Union([Type.Literal("provider"), Type.Literal("reconciliation")]),
});

/** The provider declined a pending booking's payment: PaymentFailed{declined} and the cancel. */
export const FailPayment = command("FailPayment", {
  parkingLotId: ParkingLotId,
  reservationId: ReservationId,
  intentId: Type.Optional(IntentId),
  code: Type.Optional(ProviderCode),
  /** The provider's message with its decline (recorded on PaymentFailed, shown to the customer). */
  message: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  /**
   * Issue 71: the hold placed before a far stay failed, its booking confirmed on a saved card: the
   * lot cancels it though RESERVED (a failure of any other kind cancels only a pending booking).
   */
  holdBeforeStay: Type.Optional(Type.Literal(true)),
  /**
   * Issue 71: the customer's own try on an intent they confirm (Stripe.js) was declined: recorded
   * (PaymentAttemptFailed), nothing canceled; they may try another card until the deadline.
   */
  attempt: Type.Optional(Type.Literal(true)),
});

/** A pending booking's hold ran out (the scheduler, at `holdUntil`): PaymentFailed{expired} and the cancel. */
export const ExpirePaymentHold = command("ExpirePaymentHold", {
  parkingLotId: ParkingLotId,
  reservationId: ReservationId,
});

/** What the provider did with one step of a settlement: the matching outcome fact. */
export const PaymentStepOutcome = Type.Union([
  Type.Object(
    {
      ok: Type.Literal(true),
      intentId: IntentId,
      amount: Amount,
      refundId: Type.Optional(IntentId),
      /** A capture's: the authorization had lapsed, `intentId` is the off-session charge that took it. */
      lapsedIntentId: Type.Optional(IntentId),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      ok: Type.Literal(false),
      code: ProviderCode,
      message: Type.String({ minLength: 1, maxLength: 500 }),
      /** What the step was to move: a failed refund frees exactly its own amount again. */
      amount: Type.Optional(Amount),
      /** Issue 71: the card's decline code when it is not `code` (PaymentStepFailed's `declineCode`). */
      declineCode: Type.Optional(ProviderCode),
      /** Issue 71: the intent the customer may complete on session (PaymentStepFailed's `intentId`). */
      intentId: Type.Optional(IntentId),
    },
    { additionalProperties: false },
  ),
]);

export const RecordPaymentOutcome = command("RecordPaymentOutcome", {
  parkingLotId: ParkingLotId,
  reservationId: ReservationId,
  settlementId: SettlementId,
  step: PaymentStep,
  outcome: PaymentStepOutcome,
});

/**
 * Issue 71: the customer came back and paid on session the intent a refused charge left for them
 * (PaymentStepFailed's `intentId`; Stripe: `payment_intent.succeeded`): that step's success, late.
 */
export const RecordLateCharge = command("RecordLateCharge", {
  parkingLotId: ParkingLotId,
  reservationId: ReservationId,
  intentId: IntentId,
  amount: Amount,
  currency: Currency,
});

/** An operator refunds (part of) what a booking's payment captured. */
export const RefundPayment = command("RefundPayment", {
  parkingLotId: ParkingLotId,
  reservationId: ReservationId,
  amount: OfferedAmount,
  reason: Reason,
});

export type AuthorizePayment = Static<typeof AuthorizePayment>;
export type RecordPaymentIntent = Static<typeof RecordPaymentIntent>;
export type RecordIntentReleased = Static<typeof RecordIntentReleased>;
export type RecordHoldLapsed = Static<typeof RecordHoldLapsed>;
export type FailPayment = Static<typeof FailPayment>;
export type ExpirePaymentHold = Static<typeof ExpirePaymentHold>;
export type PaymentStepOutcome = Static<typeof PaymentStepOutcome>;
export type RecordPaymentOutcome = Static<typeof RecordPaymentOutcome>;
export type RefundPayment = Static<typeof RefundPayment>;
export type RecordLateCharge = Static<typeof RecordLateCharge>;
