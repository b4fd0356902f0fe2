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

  it("given a coupon issued, keeps it ISSUED with its issue's position as seq", async () => {
    outcome = await spec.given(issued);
    await outcome.expectDocuments({
      coupons: [{ _id: "CPN1", ...coupon, issuedAt: "2026-11-22T10:00:00.000Z", status: "ISSUED", seq: 1 }],
    });
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
        },
      ],
    });
  });

  it("given a revocation of a coupon it never saw, writes nothing", async () => {
    outcome = await spec.given(revoked);
    await outcome.expectDocuments({ coupons: [] });
  });
});
