import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { CouponRule, PaymentTerms, ReservationId } from "./common.js";
import { LotPlace } from "./place.js";

/**
 * Issue 68: the lot's domain summary, what a period's opening (`LotPeriodOpened`) carries, as a
 * cashier's next shift opens with the last one's summary: the lot's terms, its live bookings with
 * what the decider needs of each, its closures in force, the bookings that ended within the
 * idempotency window, and the counters the decider keeps. Plain JSON, validated as every event's
 * payload is; write-side/parking-lot/summary.ts turns a lot's state into one and back. Schema
 * version 3 (this one) holds the bookings in columns and each customer's personal values once;
 * version 2's object per booking is read through its upcaster (lot-period-opening-v2.ts).
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

/**
 * Schema version 3: each customer the bookings name, once: `[customerId, ...their plates]`. One
 * personal value (LotPeriodOpened's `personalValues`): sealed as one under the customer's key, and
 * read as it is stored, sealed (`pii1.…`): the lot's state opens one only when a decision or an
 * answer shows its values (write-side/parking-lot/reservation-book.ts), so that loading a lot of
 * 20,000 customers decrypts none (issue 68). An erased customer's reads `erased`, and so then do
 * their bookings' ids and plates.
 */
export const CustomerSummary = Type.Union([
  Type.String({ pattern: "^pii1\\." }),
  Type.Array(Type.String({ minLength: 1 }), { minItems: 2 }),
  Type.Literal("erased"),
]);

/**
 * The bookings the lot still holds, in columns (entry i of each belongs to `ids[i]`, every column
 * as long, ids strictly ascending): live ones (they hold or may hold a spot, or may still change),
 * and those that ended within the idempotency window (`endedAt`), so that a retried key or a cancel
 * naming one answers as before. Columns, not an object per booking: half the bytes, and a check per
 * column instead of per field (issue 68: the cold lot).
 */
export const BookingColumns = Type.Object(
  {
    ids: Type.Array(ReservationId),
    /** Its customer: an index into `customers`. */
    customers: Type.Array(Type.Integer({ minimum: 0 })),
    /** Its car: an index into its customer's entry (1: their first plate). */
    plates: Type.Array(Type.Integer({ minimum: 1 })),
    amounts: Type.Array(Type.Number()),
    /** One letter each: R reserved, I checked in, D completed, N no-show, C canceled, P pending payment. */
    statuses: Type.String({ pattern: "^[RIDNCP]*$" }),
    /** Its window's bounds, "" for an open-ended booking. */
    startsAt: Type.Array(Type.String()),
    endsAt: Type.Array(Type.String()),
    /** What its check-out charged for an overstay (0: nothing). */
    charges: Type.Array(Type.Number({ minimum: 0 })),
    /** "1": its payment was authorized. */
    paid: Type.String({ pattern: "^[01]*$" }),
    /** "1": it counts towards its customer's limit of active bookings. */
    counts: Type.String({ pattern: "^[01]*$" }),
  },
  strict,
);

/** A fact of some of the bookings, by id (ids strictly ascending). */
const byId = <T extends TSchema[]>(...fact: T) => Type.Array(Type.Tuple([ReservationId, ...fact]));

export const ClosureSummary = Type.Object(
  { closureId: Type.String(), from: Epoch, until: Type.Number(), began: Type.Boolean() },
  strict,
);

export const LotSummary = Type.Object(
  {
    terms: LotTermsSummary,
    customers: Type.Array(CustomerSummary),
    bookings: BookingColumns,
    /** The span each holds in the lot's hour index (a used window cut short at its check-out). */
    holds: byId(Epoch, Epoch),
    /** Each active open-ended booking: when it was made. */
    openEnded: byId(Epoch),
    /** Each active open-ended booking with a rate: the rate its check-out prices it at. */
    checkOutRates: byId(Type.Integer()),
    /** Each booking whose car is in the lot: since when, and until when its window runs (null: open-ended). */
    inLot: byId(Epoch, Type.Union([Epoch, Type.Null()])),
    /** What each booking that started PENDING_PAYMENT asked of its payment. */
    asked: byId(PaymentAskedSummary),
    /** When each ended, kept while it is inside the idempotency window. */
    endedAt: byId(Epoch),
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
export type BookingColumns = Static<typeof BookingColumns>;
export type CustomerSummary = Static<typeof CustomerSummary>;
export type PaymentAskedSummary = Static<typeof PaymentAskedSummary>;
export type LotSummary = Static<typeof LotSummary>;
