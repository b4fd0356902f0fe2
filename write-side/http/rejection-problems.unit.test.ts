import { describe, expect, it } from "vitest";
import { atOffset, rejectionProblem, requestOffset } from "./rejection-problems.js";

/** The refusals of the decider as a person reads them: when, in their terms, in plain words. */
describe("rejection problems", () => {
  it("parking-lot-full names when the lot is full, at the offset the request used", () => {
    const problem = rejectionProblem(
      { code: "LotFull", parkingLotId: "L1", capacity: 2, at: "2026-11-23T01:00:00.000Z" },
      "+09:00",
    );
    expect(problem.problem).toBe("parking-lot-full");
    expect(problem.detail).toContain("is full at 2026-11-23T10:00:00+09:00");
    expect(problem.detail).toContain("all 2 spots are taken");
    expect(problem.extra).toMatchObject({ at: "2026-11-23T10:00:00+09:00", capacity: 2 });
  });

  it('says "1 spot", not "1 spots"', () => {
    const full = rejectionProblem({
      code: "LotFull",
      parkingLotId: "L1",
      capacity: 1,
      at: "2026-11-23T01:00:00.000Z",
    });
    expect(full.detail).toContain("its 1 spot is taken");
    expect(full.detail).not.toMatch(/1 spots/);
    const low = rejectionProblem({
      code: "CapacityTooLow",
      parkingLotId: "L1",
      at: "2026-11-23T01:00:00.000Z",
      held: 1,
    });
    expect(low.detail).toContain("1 spot of parking lot L1 is reserved");
    const limit = rejectionProblem({ code: "TooManyActiveReservations", parkingLotId: "L1", limit: 1 });
    expect(limit.detail).toContain("at most 1 active reservation in");
  });

  it("check-in-too-early says when check-in opens", () => {
    const problem = rejectionProblem(
      {
        code: "CheckInTooEarly",
        parkingLotId: "L1",
        reservationId: "r1",
        startsAt: "2026-11-23T01:00:00.000Z",
        opensAt: "2026-11-23T00:55:00.000Z",
      },
      undefined,
    );
    expect(problem.detail).toContain("opens at 2026-11-23T00:55:00.000Z");
    expect(problem.extra).toMatchObject({ opensAt: "2026-11-23T00:55:00.000Z" });
  });

  it("names the body's fields as every 400 does (body.…)", () => {
    const window = rejectionProblem({
      code: "InvalidWindow",
      field: "endsAt",
      detail: "must be after startsAt",
    });
    expect(window.extra).toMatchObject({
      errors: [{ field: "body.endsAt", message: "must be after startsAt" }],
    });
    const amount = rejectionProblem({ code: "AmountRequired", parkingLotId: "L1" });
    expect(amount.extra).toMatchObject({ errors: [{ field: "body.amount" }] });
  });

  it("reads the request's offset from its instants, and writes instants at it", () => {
    expect(requestOffset({ startsAt: "2026-11-23T10:00:00+09:00" })).toBe("+09:00");
    expect(requestOffset({ from: "2026-11-23T10:00:00z" })).toBe("Z");
    expect(requestOffset({ carNumber: "10더8612" })).toBeUndefined();
    expect(requestOffset(undefined)).toBeUndefined();
    expect(atOffset("2026-11-23T20:30:00.000Z", "-05:30")).toBe("2026-11-23T15:00:00-05:30");
    expect(atOffset("2026-11-23T20:30:00.250Z", "+01:00")).toBe("2026-11-23T21:30:00.250+01:00");
    expect(atOffset("2026-11-23T20:30:00.000Z", "Z")).toBe("2026-11-23T20:30:00.000Z");
  });
});
