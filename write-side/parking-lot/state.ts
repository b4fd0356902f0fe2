import type { Map as ImmutableMap, List } from "immutable";
import type { IdIndex, LayeredMap } from "../../platform/layered-map.js";
import type { CouponRule, PaymentTerms } from "../../schemas/common.js";
import type { EventOfStream, EventOfType } from "../../schemas/events.js";
import type { LotPlace } from "../../schemas/place.js";
import type { ReservationStatus } from "../../schemas/reservation-time.js";
import type { CouponRejection } from "../coupon/coupon-rejections.js";
import type { Occupancy } from "./occupancy.js";
import type { ReservationBook } from "./reservation-book.js";

/**
 * The parking-lot decider's state, the consistency boundary for capacity. What holds a spot (time
 * rules: schemas/reservation-time.ts): a window over [startsAt, endsAt) (`occupancy`); an
 * open-ended booking still RESERVED from when it was made until the first closure after it
 * (`mustLeaveBy`), or for ever; a car in the lot (`inLot`) until it checks out, overstay included.
 */

export type { ReservationRecord } from "./reservation-book.js";

/** The lot stream's events (their definitions say so, schemas/lot-events.ts): the lot decides these only. */
export type ParkingLotEvent = EventOfStream<"lot">;

/**
 * An authorization an older lot stream may hold, read as the booking confirmed (evolve.ts); the
 * other payment facts moved to the payment's stream (write-side/payment/payment-upgrade.ts).
 */
export type OldLotPaymentFact = EventOfType<"PaymentAuthorized">;

/** A car in the lot: when its window ends (Infinity for an open-ended booking) and when it came in. */
export interface CarInLot {
  readonly endsAt: number;
  readonly checkedInAt: number;
}

/** A closure the lot knows: until it has begun, and then until it has ended. */
export interface Closure {
  readonly closureId: string;
  readonly from: number;
  readonly until: number;
  /** Whether its begin was recorded (ParkingLotClosureBegan). */
  readonly began: boolean;
}

export const DEFAULT_MAX_ACTIVE_PER_CUSTOMER = 4;

export type ParkingLotState =
  | { readonly kind: "unregistered" }
  | {
      readonly kind: "registered";
      readonly parkingLotId: string;
      readonly name: string;
      readonly capacity: number;
      readonly hourlyRate?: number;
      readonly maxActivePerCustomer: number;
      /** Below it a gate's read goes to review; absent: DEFAULT_GATE_CONFIDENCE_THRESHOLD. */
      readonly gateConfidenceThreshold?: number;
      /** How a stay earns the coupon; absent: DEFAULT_COUPON_RULE. */
      readonly couponRule?: CouponRule;
      /** What the lot asks to be paid; absent: DEFAULT_PAYMENT_TERMS. */
      readonly paymentTerms?: PaymentTerms;
      /** Where the lot is and its time zone; absent: no place, UTC. No booking rule reads it. */
      readonly place?: LotPlace;
      /** Informational (no decision reads it): reservations holding or going to hold a spot. */
      readonly activeReservations: number;
      /**
       * Informational (the lot as of a moment shows them): when it was registered, epoch ms, and
       * its reservations ever canceled. Absent in a state opened from an older summary.
       */
      readonly registeredAt?: number;
      readonly canceledReservations?: number;
      /**
       * The reservation records a command may name, with what each asked for, so that an ended id
       * still answers (cancel → 409, a retried Idempotency-Key → the same answer). Ended ones are
       * taken out by `forgetEnded` and kept outside (see docs/domain.md, "Ended reservations").
       */
      readonly reservations: ReservationBook;
      /** Active open-ended reservations (reserved or in the lot), with when each was made. */
      readonly openEnded: LayeredMap<number>;
      /**
       * The rate each active open-ended booking priced at check-out was made at (its
       * ParkingReserved's `hourlyRate`): a later rate change does not reprice it.
       */
      readonly checkOutRates: LayeredMap<number>;
      /** Windowed reservations that may still hold a spot, by the hour they start. */
      readonly occupancy: Occupancy;
      /** Cars in the lot (checked in, not yet out): each holds its spot until it checks out. */
      readonly inLot: ImmutableMap<string, CarInLot>;
      /** Per customer, their reservations that may still be active (bounded by the limit + pruning lag). */
      readonly byCustomer: IdIndex;
      /**
       * The same reservations as `byCustomer` by their `plateForm`, so a camera's read finds its
       * bookings in O(log n); a summary does not state it: it is derived when first read (summary.ts).
       */
      readonly byPlate: IdIndex;
      /**
       * Closures not yet begun, and those begun that have not ended more than the skew ago (the
       * rest is dropped at the next closure). At most WINDOW_RULES.maxPendingClosures not ended.
       */
      readonly closures: List<Closure>;
      /**
       * How many ended reservations this state has left out (`forgetEnded`, past the idempotency
       * window): a command naming one answers as for an unknown reservation. 0: the state holds
       * every reservation the lot ever accepted.
       */
      readonly archived: number;
      /**
       * What each booking that started PENDING_PAYMENT asked of its payment, while the lot holds its
       * record; the money itself is on the payment's own stream (write-side/payment/).
       */
      readonly paymentAsked: ImmutableMap<string, PaymentAsked>;
      /**
       * When each reservation that ended in this period (or less than KEEP_ENDED_MS before
       * it opened) ended, epoch ms: what the next period's opening keeps (periods.ts). Absent: none.
       */
      readonly endedAt?: ImmutableMap<string, number>;
      /**
       * When the lot's current period opened (its registration, or its LotPeriodOpened),
       * epoch ms: its books are due at the next local midnight of the lot (period-books.ts).
       * Absent (a state restored otherwise): due only at the size bound.
       */
      readonly periodOpenedAt?: number;
    };

/** What a booking asked of its payment (its ParkingReserved's `payment`, and the lot's terms then). */
export interface PaymentAsked {
  /** What the booking asked the provider to authorize, in `currency`'s minor unit. */
  readonly amount: number;
  readonly currency: string;
  /** Until when the booking holds its spot unpaid. */
  readonly holdUntil: string;
  /** The lot's terms when the booking was made: its cancel and no-show settle by them. */
  readonly terms: PaymentTerms;
}

export type RegisteredLot = Extract<ParkingLotState, { kind: "registered" }>;

export const initialState: ParkingLotState = { kind: "unregistered" };

/**
 * Why a command was refused: expected outcomes, so values, not exceptions. The coupon's refusals
 * are its own (not the lot's to decide), as are the payment's (payment/payment-rejections.ts).
 */
export type Rejection =
  | CouponRejection
  | { readonly code: "LotNotFound"; readonly parkingLotId: string }
  | {
      /** Below the provider's smallest charge (schemas/charge-minimums.ts): never sent to be declined. */
      readonly code: "AmountBelowMinimum";
      readonly parkingLotId: string;
      readonly amount: number;
      readonly minimum: number;
      readonly currency: string;
    }
  | { readonly code: "LotAlreadyRegistered"; readonly parkingLotId: string }
  | {
      readonly code: "LotFull";
      readonly parkingLotId: string;
      readonly capacity: number;
      /** The first instant of the asked span at which every spot is held. */
      readonly at: string;
    }
  | { readonly code: "ReservationNotFound"; readonly parkingLotId: string; readonly reservationId: string }
  | { readonly code: "ReservationIdConflict"; readonly parkingLotId: string; readonly reservationId: string }
  | { readonly code: "ClosureIdConflict"; readonly parkingLotId: string; readonly closureId: string }
  | {
      /** CheckedIn: a customer cannot cancel once the car is in (checking out ends the stay). */
      readonly code: "ReservationNotActive" | "CheckedIn";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly status: ReservationStatus;
    }
  | { readonly code: "NotCheckedIn"; readonly parkingLotId: string; readonly reservationId: string }
  | {
      /**
       * A check-out that would charge more than one amount holds (MAX_AMOUNT: a very long stay at a
       * high rate): refused, the car still in; an operator ends it by canceling, settled at the lot.
       */
      readonly code: "StayPriceTooHigh";
      readonly parkingLotId: string;
      readonly reservationId: string;
      /** What the stay would cost: its booked amount or open-ended price, plus any overstay. */
      readonly price: number;
      readonly maximum: number;
    }
  | {
      readonly code: "CheckInTooEarly";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly startsAt: string;
      /** When check-in opens: the window's start less the allowed skew. */
      readonly opensAt: string;
    }
  | {
      readonly code: "InvalidWindow";
      readonly parkingLotId?: string;
      readonly field: string;
      readonly detail: string;
    }
  | { readonly code: "AmountRequired"; readonly parkingLotId: string }
  | { readonly code: "AmountNotPositive"; readonly parkingLotId: string }
  | {
      /** A lot with a rate prices an open-ended stay itself, at check-out. */
      readonly code: "AmountNotAccepted";
      readonly parkingLotId: string;
      readonly hourlyRate: number;
      readonly offered: number;
    }
  | {
      readonly code: "PriceChanged";
      readonly parkingLotId: string;
      readonly quote: number;
      readonly offered: number;
    }
  | { readonly code: "TooManyActiveReservations"; readonly parkingLotId: string; readonly limit: number }
  | {
      readonly code: "LotClosed";
      readonly parkingLotId: string;
      readonly from: string;
      readonly until: string;
    }
  | { readonly code: "TooManyClosures"; readonly parkingLotId: string; readonly limit: number }
  | { readonly code: "ClosureNotFound"; readonly parkingLotId: string; readonly closureId: string }
  | {
      /** A time-driven fact asked for before it falls due. */
      readonly code: "NotDue";
      readonly parkingLotId: string;
      readonly at: string;
    }
  | {
      /** A booking waiting for its payment cannot be checked in. */
      readonly code: "PaymentPending";
      readonly parkingLotId: string;
      readonly reservationId: string;
      readonly holdUntil: string;
    }
  | {
      /**
       * PaymentNotPending: an authorization for a booking no longer waiting for one (the saga
       * releases it). NotPaid: a refund, or a payment outcome, about a booking with no payment (captured).
       */
      readonly code: "PaymentNotPending" | "NotPaid";
      readonly parkingLotId: string;
      readonly reservationId: string;
    }
  | {
      /** A coupon spent where the lot gives no discount: none in its `couponRule`, or priced at check-out. */
      readonly code: "CouponNotAccepted";
      readonly parkingLotId: string;
      readonly couponId: string;
      readonly why: "no-discount" | "priced-at-check-out";
    }
  | {
      readonly code: "CapacityTooLow";
      readonly parkingLotId: string;
      readonly at: string;
      readonly held: number;
    };

export type Decision =
  | { readonly ok: true; readonly events: readonly ParkingLotEvent[] }
  | { readonly ok: false; readonly rejection: Rejection };
export type { ReservationStatus } from "../../schemas/reservation-time.js";
