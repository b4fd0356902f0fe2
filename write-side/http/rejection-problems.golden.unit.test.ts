import { describe, expect, it } from "vitest";
import type { CommandRejection } from "../payment/payment-rejections.js";
import { rejectionProblem } from "./rejection-problems.js";

const AT = "2026-11-23T01:00:00.000Z";
const ids = { parkingLotId: "L1", reservationId: "r1" };

/** One refusal of every code (and each variant a sentence depends on), as the decider builds it. */
const REFUSALS: readonly CommandRejection[] = [
  { code: "AmountBelowMinimum", parkingLotId: "L1", amount: 40, minimum: 50, currency: "USD" },
  { code: "LotNotFound", parkingLotId: "L1" },
  { code: "LotAlreadyRegistered", parkingLotId: "L1" },
  { code: "LotFull", parkingLotId: "L1", capacity: 0, at: AT },
  { code: "LotFull", parkingLotId: "L1", capacity: 1, at: AT },
  { code: "LotFull", parkingLotId: "L1", capacity: 3, at: AT },
  { code: "ReservationNotFound", ...ids },
  { code: "ReservationIdConflict", ...ids },
  { code: "ClosureIdConflict", parkingLotId: "L1", closureId: "c1" },
  { code: "ReservationNotActive", ...ids, status: "COMPLETED" },
  { code: "NotCheckedIn", ...ids },
  { code: "StayPriceTooHigh", ...ids, price: 9, maximum: 8 },
  { code: "CheckInTooEarly", ...ids, startsAt: AT, opensAt: "2026-11-23T00:55:00.000Z" },
  { code: "InvalidWindow", parkingLotId: "L1", field: "endsAt", detail: "must be after startsAt" },
  { code: "AmountRequired", parkingLotId: "L1" },
  { code: "AmountNotAccepted", parkingLotId: "L1", hourlyRate: 3000, offered: 10 },
  { code: "AmountNotPositive", parkingLotId: "L1" },
  { code: "PriceChanged", parkingLotId: "L1", quote: 5000, offered: 4000 },
  { code: "CouponNotAccepted", parkingLotId: "L1", couponId: "k1", why: "no-discount" },
  { code: "CouponNotAccepted", parkingLotId: "L1", couponId: "k1", why: "priced-at-check-out" },
  { code: "CouponNotFound", parkingLotId: "L1", couponId: "k1" },
  { code: "CouponNotSpendable", parkingLotId: "L1", couponId: "k1", status: "REVOKED" },
  { code: "CouponNotSpendable", parkingLotId: "L1", couponId: "k1", status: "REDEEMED" },
  { code: "CouponNotSpendable", parkingLotId: "L1", couponId: "k1", status: "PENDING", spendableFrom: AT },
  { code: "CouponNotSpendable", parkingLotId: "L1", couponId: "k1", status: "PENDING" },
  { code: "TooManyActiveReservations", parkingLotId: "L1", limit: 1 },
  { code: "TooManyActiveReservations", parkingLotId: "L1", limit: 4 },
  { code: "LotClosed", parkingLotId: "L1", from: AT, until: "2026-11-23T03:00:00.000Z" },
  { code: "CheckedIn", ...ids, status: "CHECKED_IN" },
  { code: "TooManyClosures", parkingLotId: "L1", limit: 1 },
  { code: "TooManyClosures", parkingLotId: "L1", limit: 3 },
  { code: "PaymentPending", ...ids, holdUntil: AT },
  { code: "NotPaid", ...ids },
  { code: "RefundExceedsCaptured", ...ids, refundable: 100, asked: 200 },
  // The payment decider names the reservation first (payment.ts `ids`); the answer does not change.
  { code: "RefundExceedsCaptured", reservationId: "r1", parkingLotId: "L1", refundable: 100, asked: 200 },
  { code: "RefundWindowPassed", ...ids, refundableUntil: AT },
  { code: "RefundWindowPassed", ...ids },
  { code: "PaymentNotPending", ...ids },
  { code: "PaymentMismatch", ...ids, reason: "amount" },
  { code: "ClosureNotFound", parkingLotId: "L1", closureId: "c1" },
  { code: "NotDue", parkingLotId: "L1", at: AT },
  { code: "CapacityTooLow", parkingLotId: "L1", at: AT, held: 1 },
  { code: "CapacityTooLow", parkingLotId: "L1", at: AT, held: 2 },
];

/** What a refusal answers, to the letter and in its order: type, sentence, facts. */
const answer = (rejection: CommandRejection, offset?: string) => {
  const problem = rejectionProblem(rejection, offset);
  return JSON.stringify([problem.problem, problem.detail, problem.extra]);
};

/**
 * Every refusal's answer, pinned to the letter (key order included) as 86900e2 wrote them, so that
 * the way the problems are written may change and what the caller reads may not.
 */
describe("rejection problems, every answer", () => {
  it("answers every refusal as before, in UTC and at the request's offset", () => {
    expect(REFUSALS.flatMap((r) => [answer(r), answer(r, "+09:00")])).toMatchSnapshot();
  });
});
