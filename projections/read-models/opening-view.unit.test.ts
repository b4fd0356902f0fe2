import { describe, expect, it } from "vitest";
import type { OpeningView } from "./opening-view.js";
import { viewDocuments } from "./opening-view.js";

describe("the documents a period's opening view writes", () => {
  const view = (coupon: Record<string, unknown>): OpeningView =>
    ({
      lot: { parkingLotId: "L1", name: "lot", capacity: 3 },
      reservations: [{ reservationId: "R1", parkingLotId: "L1", status: "RESERVED", amount: 4500, coupon }],
    }) as unknown as OpeningView;
  const reservationSet = (ops: ReturnType<typeof viewDocuments>) => {
    const op = ops.find((o) => o.op === "update" && o.id === "R1");
    return op?.op === "update" ? (op.update as { $set: Record<string, unknown> }).$set : undefined;
  };

  it("leaves out a spent coupon an older view recorded as the booking's own (it has no status)", () => {
    const set = reservationSet(
      viewDocuments(view({ couponId: "C0", reservationId: "R0", discount: 500 }), () => ({})),
    );
    expect(set).toMatchObject({ amount: 4500, status: "RESERVED" });
    expect(set).not.toHaveProperty("coupon");
  });

  it("keeps the booking's own coupon", () => {
    const coupon = { couponId: "C1", status: "ISSUED", issuedAt: "2026-11-28T10:00:00.000Z" };
    expect(reservationSet(viewDocuments(view(coupon), () => ({ carNumber: "12가3456" })))).toMatchObject({
      coupon,
      carNumber: "12가3456",
    });
  });
});
