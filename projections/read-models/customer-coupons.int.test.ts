import { afterEach, describe, it } from "vitest";
import type { DomainEvent } from "../../schemas/events.js";
import { type ProjectionOutcome, projectionSpec } from "../../test-support/projection-spec.js";
import { customerCouponsProjection } from "./customer-coupons.js";

const spec = projectionSpec(customerCouponsProjection);
const coupon = { couponId: "CPN1", reservationId: "R1", parkingLotId: "L1", customerId: "CUST1" };
const issued: DomainEvent = {
  type: "CouponIssued",
  data: { ...coupon, issuedAt: "2026-11-22T10:00:00.000Z" },
};
const pending: DomainEvent = {
  type: "CouponIssued",
  data: { ...coupon, issuedAt: "2026-11-22T10:00:00.000Z", untilEarned: true },
};
const earned: DomainEvent = {
  type: "CouponEarned",
  data: {
    ...coupon,
    by: "check-in",
    spendableFrom: "2026-11-22T12:15:00.000Z",
    earnedAt: "2026-11-22T12:00:00.000Z",
  },
};
const revoked: DomainEvent = {
  type: "CouponRevoked",
  data: { ...coupon, revokedAt: "2026-11-22T11:00:00.000Z" },
};

describe("customer-coupons projection (spec: events in, documents out)", () => {
  let outcome: ProjectionOutcome | undefined;
  afterEach(async () => {
    await outcome?.close();
    outcome = undefined;
  });

  it("given a coupon issued (before issue 71: spendable at once), keeps it ISSUED with its issue's position as seq", async () => {
    outcome = await spec.given(issued);
    await outcome.expectDocuments({
      coupons: [
        {
          _id: "CPN1",
          ...coupon,
          issuedAt: "2026-11-22T10:00:00.000Z",
          status: "ISSUED",
          seq: 1,
          spendableFrom: "2026-11-22T10:00:00.000Z",
        },
      ],
    });
  });

  it("given a coupon issued until earned, keeps no spendableFrom until its stay earns it (issue 71)", async () => {
    outcome = await spec.given(pending);
    const stored = { _id: "CPN1", ...coupon, issuedAt: "2026-11-22T10:00:00.000Z", status: "ISSUED", seq: 1 };
    await outcome.expectDocuments({ coupons: [stored] });
    await outcome.close();
    outcome = await spec.given(pending, earned);
    await outcome.expectDocuments({ coupons: [{ ...stored, spendableFrom: "2026-11-22T12:15:00.000Z" }] });
  });

  it("given a coupon issued then revoked, keeps it REVOKED with when", async () => {
    outcome = await spec.given(issued, revoked);
    await outcome.expectDocuments({
      coupons: [
        {
          _id: "CPN1",
          ...coupon,
          issuedAt: "2026-11-22T10:00:00.000Z",
          status: "REVOKED",
          revokedAt: "2026-11-22T11:00:00.000Z",
          seq: 1,
          spendableFrom: "2026-11-22T10:00:00.000Z",
        },
      ],
    });
  });

  it("given a revocation of a coupon it never saw, writes nothing", async () => {
    outcome = await spec.given(revoked);
    await outcome.expectDocuments({ coupons: [] });
  });
});
