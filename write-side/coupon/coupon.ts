import { v5 as uuidv5 } from "uuid";
import { type EventOfStream, type EventOfType, eventTypesOfStream } from "../../schemas/events.js";
import type { Rejection } from "../parking-lot/state.js";

/**
 * A reservation's coupon as a pure decider, on `coupon-{reservationId}`: issued at booking, earned
 * by its own stay, revoked when it is canceled, a no-show or too short, spent on a later booking of
 * the same customer (redeemed before that booking is appended), and returned when that booking is
 * canceled before it starts or refused after the coupon was set aside for it.
 */

const COUPON_NAMESPACE = "0b8f6c1e-5d0a-4f57-b1a4-7c2e9d3f8a60";

export const couponStream = (reservationId: string): string => `coupon-${reservationId}`;
/** Deterministic, so a retried issue names the same coupon. */
export const couponIdFor = (reservationId: string): string => uuidv5(reservationId, COUPON_NAMESPACE);

/** The coupon stream's events (their definitions say so, schemas/coupon-events.ts). */
export type CouponEvent = EventOfStream<"coupon">;

export const COUPON_EVENT_TYPES: ReadonlySet<string> = eventTypesOfStream("coupon");

export type CouponStatus = "ISSUED" | "REVOKED" | "REDEEMED";

export type CouponState =
  | { readonly kind: "none" }
  | {
      readonly kind: "issued";
      readonly couponId: string;
      /** The reservation that got it (the stream's). */
      readonly reservationId: string;
      readonly parkingLotId: string;
      readonly customerId: string;
      readonly status: CouponStatus;
      /** While REDEEMED (and once revoked after it): the booking it was spent on. */
      readonly redeemedFor?: string;
      /** From when its stay earned it (ISO); absent: not earned yet (pending). */
      readonly spendableFrom?: string;
      /** Issued pending, to be earned by its stay (an older issue was spendable at once). */
      readonly untilEarned?: true;
    };

export const noCoupon: CouponState = { kind: "none" };

export function evolveCoupon(state: CouponState, event: CouponEvent): CouponState {
  switch (event.type) {
    case "CouponIssued": {
      if (state.kind === "issued") return state;
      const { couponId, reservationId, parkingLotId, customerId } = event.data;
      const issued = { kind: "issued", couponId, reservationId, parkingLotId, customerId } as const;
      const spendableFrom = spendableFromIssue(event.data);
      const pending = event.data.untilEarned ? { untilEarned: true as const } : {};
      return { ...issued, status: "ISSUED", ...pending, ...(spendableFrom ? { spendableFrom } : {}) };
    }
    case "CouponEarned":
      return state.kind === "issued"
        ? { ...state, spendableFrom: earlier(state.spendableFrom, event.data.spendableFrom) }
        : state;
    case "CouponRevoked":
      return state.kind === "issued" ? { ...state, status: "REVOKED" } : state;
    case "CouponRedeemed":
      return state.kind === "issued" && state.status === "ISSUED"
        ? { ...state, status: "REDEEMED", redeemedFor: event.data.redeemedFor }
        : state;
    case "CouponReturned": {
      if (state.kind !== "issued" || state.status !== "REDEEMED") return state;
      const { redeemedFor: _spent, ...rest } = state;
      return { ...rest, status: "ISSUED" };
    }
  }
}

/** From when an issued coupon is spendable: one issued `untilEarned` not yet (CouponEarned says), others at once. */
export const spendableFromIssue = (data: {
  readonly issuedAt: string;
  readonly untilEarned?: true;
}): string | undefined => (data.untilEarned ? undefined : data.issuedAt);

const earlier = (a: string | undefined, b: string): string =>
  a !== undefined && Date.parse(a) <= Date.parse(b) ? a : b;

/** Whether a coupon can be spent at `now`: ISSUED and earned by its own stay by then (the one rule, read-api's too). */
export function couponSpendability(
  coupon: { readonly status: CouponStatus; readonly spendableFrom?: string | undefined },
  now: number,
): { readonly spendable: boolean; readonly spendableFrom?: string } {
  const from = coupon.spendableFrom;
  const spendable = coupon.status === "ISSUED" && from !== undefined && Date.parse(from) <= now;
  return { spendable, ...(coupon.status === "ISSUED" && from !== undefined ? { spendableFrom: from } : {}) };
}

export interface SpendCoupon {
  readonly couponId: string;
  /** The booking's customer: only the coupon's own may spend it. */
  readonly customerId: string;
  /** The booking (its reservation id, derived from its Idempotency-Key) and its lot. */
  readonly reservationId: string;
  readonly parkingLotId: string;
  readonly now: string;
}

/**
 * Whether the booking may spend the coupon, and the redemption to append (none when it is already
 * redeemed for this very booking: a retried request). Another customer's coupon answers exactly as
 * an unknown one (nothing about it is revealed).
 */
export function decideRedemption(
  state: CouponState,
  ask: SpendCoupon,
):
  | { readonly ok: true; readonly event?: EventOfType<"CouponRedeemed"> }
  | { readonly ok: false; readonly rejection: Rejection } {
  const { couponId, parkingLotId } = ask;
  if (state.kind !== "issued" || state.couponId !== couponId || state.customerId !== ask.customerId)
    return { ok: false, rejection: { code: "CouponNotFound", parkingLotId, couponId } };
  if (state.status === "REDEEMED" && state.redeemedFor === ask.reservationId) return { ok: true };
  // Revoked, or spent on another booking; or not earned by its own stay yet (PENDING), so no chain
  // of bookings canceled free (each spending the one before's coupon) takes a discount without a paid stay.
  const { spendable, spendableFrom } = couponSpendability(state, Date.parse(ask.now));
  if (!spendable) {
    const status = state.status === "ISSUED" ? "PENDING" : state.status;
    const from = spendableFrom ? { spendableFrom } : {};
    return { ok: false, rejection: { code: "CouponNotSpendable", parkingLotId, couponId, status, ...from } };
  }
  return {
    ok: true,
    event: {
      type: "CouponRedeemed",
      data: {
        couponId,
        reservationId: state.reservationId,
        parkingLotId: state.parkingLotId,
        customerId: state.customerId,
        redeemedFor: ask.reservationId,
        redeemedForLot: ask.parkingLotId,
        redeemedAt: ask.now,
      },
    },
  };
}

/** The coupon earned by its stay, unless spendable by then already (a retry), revoked, none, or issued spendable. */
export function decideEarn(
  state: CouponState,
  by: "check-in" | "check-out",
  spendableFrom: string,
  now: string,
): EventOfType<"CouponEarned"> | undefined {
  // A coupon issued spendable (an older one) leaves nothing for its stay to earn.
  if (state.kind !== "issued" || state.status === "REVOKED" || !state.untilEarned) return undefined;
  if (earlier(state.spendableFrom, spendableFrom) === state.spendableFrom) return undefined;
  const { couponId, reservationId, parkingLotId, customerId } = state;
  return {
    type: "CouponEarned",
    data: { couponId, reservationId, parkingLotId, customerId, by, spendableFrom, earnedAt: now },
  };
}

/** The revocation of a coupon that still counts (issued or spent), else nothing. */
export function decideRevoke(state: CouponState, now: string): EventOfType<"CouponRevoked"> | undefined {
  if (state.kind !== "issued" || state.status === "REVOKED") return undefined;
  const { couponId, reservationId, parkingLotId, customerId } = state;
  return {
    type: "CouponRevoked",
    data: { couponId, reservationId, parkingLotId, customerId, revokedAt: now },
  };
}

/** The coupon back to ISSUED, if it is spent on this booking (a revoked one stays revoked). */
export function decideReturn(
  state: CouponState,
  redeemedFor: string,
  reason: "booking-canceled" | "booking-refused",
  now: string,
): EventOfType<"CouponReturned"> | undefined {
  if (state.kind !== "issued" || state.status !== "REDEEMED" || state.redeemedFor !== redeemedFor)
    return undefined;
  const { couponId, reservationId, parkingLotId, customerId } = state;
  return {
    type: "CouponReturned",
    data: { couponId, reservationId, parkingLotId, customerId, redeemedFor, reason, returnedAt: now },
  };
}
