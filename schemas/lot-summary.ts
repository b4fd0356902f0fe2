import { type Static, Type } from "@sinclair/typebox";
import { CouponRule, PaymentTerms, ReservationId } from "./common.js";
import { LotPlace } from "./place.js";

/**
 * Issue 68: the lot's domain summary, what a period's opening (`LotPeriodOpened`) carries, as a
 * cashier's next shift opens with the last one's summary: the lot's terms, its live bookings with
 * what the decider needs of each, its closures in force, the bookings that ended within the
 * idempotency window, and the counters the decider keeps. Plain JSON, validated as every event's
 * payload is; write-side/parking-lot/summary.ts turns a lot's state into one and back.
 */

const strict = { additionalProperties: false } as const;
const Epoch = Type.Number({ description: "Epoch milliseconds." });

/** What the lot asks of a booking: its registration and every change of terms since. */
export const LotTermsSummary = Type.Object(
  {
    name: Type.String(),
    capacity: Type.Integer({ minimum: 0 }),
    hourlyRate: Type.Optional(Type.Integer({ minimum: 0 })),
    maxActivePerCustomer: Type.Integer({ minimum: 1 }),
    couponRule: Type.Optional(CouponRule),
    gateConfidenceThreshold: Type.Optional(Type.Number()),
    paymentTerms: Type.Optional(PaymentTerms),
    place: Type.Optional(LotPlace),
  },
  strict,
);

/** The terms a summary carries, from its schema (the state's keys of the same names). */
export const LOT_TERMS = Object.keys(LotTermsSummary.properties) as readonly (keyof Static<
  typeof LotTermsSummary
>)[];

/** What a booking asked of its payment (its ParkingReserved's hold, and the lot's terms then). */
export const PaymentAskedSummary = Type.Object(
  {
    amount: Type.Integer({ minimum: 0 }),
    currency: Type.String(),
    holdUntil: Type.String(),
    terms: PaymentTerms,
  },
  strict,
);

export const RecordedStatusSchema = Type.Union([
  Type.Literal("RESERVED"),
  Type.Literal("CHECKED_IN"),
  Type.Literal("COMPLETED"),
  Type.Literal("NO_SHOW"),
  Type.Literal("CANCELED"),
  Type.Literal("PENDING_PAYMENT"),
]);

/**
 * One booking the lot still holds: live (it holds or may hold a spot, or may still change), or
 * ended within the idempotency window (`endedAt`), so that a retried key or a cancel naming it
 * answers as before. `customerId` and `carNumber` are personal: sealed under the customer's key
 * (LotPeriodOpened's `personalValues`).
 */
export const BookingSummary = Type.Object(
  {
    reservationId: ReservationId,
    customerId: Type.String({ minLength: 1 }),
    carNumber: Type.String({ minLength: 1 }),
    amount: Type.Number(),
    status: RecordedStatusSchema,
    startsAt: Type.Optional(Type.String()),
    endsAt: Type.Optional(Type.String()),
    /** What its check-out charged for an overstay. */
    overstayCharge: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** Its payment was authorized. */
    paid: Type.Optional(Type.Literal(true)),
    /** The span it holds in the lot's hour index (a used window cut short at its check-out). */
    holds: Type.Optional(Type.Object({ start: Epoch, end: Epoch }, strict)),
    /** An active open-ended booking: when it was made. */
    openEndedSince: Type.Optional(Epoch),
    /** An active open-ended booking: the rate its check-out prices it at. */
    checkOutRate: Type.Optional(Type.Integer()),
    /** Its car is in the lot: since when, and until when its window runs (absent: open-ended). */
    inLot: Type.Optional(Type.Object({ checkedInAt: Epoch, endsAt: Type.Optional(Epoch) }, strict)),
    /** It counts towards its customer's limit of active bookings. */
    counts: Type.Optional(Type.Literal(true)),
    /** What it asked of its payment (it started PENDING_PAYMENT). */
    asked: Type.Optional(PaymentAskedSummary),
    /** When it ended, kept while it is inside the idempotency window. */
    endedAt: Type.Optional(Epoch),
  },
  strict,
);

export const ClosureSummary = Type.Object(
  { closureId: Type.String(), from: Epoch, until: Type.Number(), began: Type.Boolean() },
  strict,
);

export const LotSummary = Type.Object(
  {
    terms: LotTermsSummary,
    /** Ascending by reservation id. */
    bookings: Type.Array(BookingSummary),
    closures: Type.Array(ClosureSummary),
    /** The hour (since the epoch) below which the hour index holds no window any more. */
    heldFromHour: Type.Integer(),
    /** Informational (no decision reads it), and can go below 0: see decider.ts. */
    activeReservations: Type.Integer(),
    /** How many ended bookings the lot has forgotten (out of the idempotency window). */
    forgotten: Type.Integer({ minimum: 0 }),
    /**
     * Informational, what the lot as of a moment shows (issue 68): its registration, and its
     * reservations ever canceled. Absent in an opening written before they were kept.
     */
    registeredAt: Type.Optional(Epoch),
    canceled: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  strict,
);

export type LotTermsSummary = Static<typeof LotTermsSummary>;
export type BookingSummary = Static<typeof BookingSummary>;
export type LotSummary = Static<typeof LotSummary>;
