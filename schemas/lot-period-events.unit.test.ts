import { describe, expect, it } from "vitest";
import { fold } from "../test-support/lot-state.js";
import type { ParkingLotEvent } from "../write-side/parking-lot/decider.js";
import { openingOf } from "../write-side/parking-lot/period-books.js";
import { openedState } from "../write-side/parking-lot/periods.js";
import { LotPeriodOpenedEvent } from "./lot-period-events.js";
import { ERASED } from "./personal-data.js";

/**
 * An opening's personal values as the codec reads them after an erasure (issue 36): the erased
 * customers' bookings gathered under `erased`, and the head still one the lot's state codec reads
 * (its `byCustomer` keys ascending), whichever ids sort around `erased`: here "D-y" sorts after
 * the erased "C-w" and "C-x" but before `erased`, which a decode refused before (keys out of order).
 */
describe("LotPeriodOpened's personal values", () => {
  const T = Date.parse("2026-11-20T00:00:00.000Z");
  const booking = (reservationId: string, customerId: string): ParkingLotEvent => ({
    type: "ParkingReserved",
    data: {
      reservationId,
      parkingLotId: "L",
      customerId,
      carNumber: "12가3456",
      amount: 5000,
      reservedAt: new Date(T).toISOString(),
    },
  });
  const lot: ParkingLotEvent[] = [
    {
      type: "ParkingLotRegistered",
      data: { parkingLotId: "L", name: "L", capacity: 30, registeredAt: new Date(T).toISOString() },
    },
    booking("r1", "C-a"),
    booking("r4", "C-w"),
    booking("r2", "C-x"),
    booking("r3", "D-y"),
  ];
  const opening = openingOf(fold(lot), "L", 1, T);
  const erasing =
    (...erased: string[]) =>
    (subject: string, value: string) =>
      erased.includes(subject) ? ERASED : value;

  it("reads back into a lot whose erased customers' bookings are gathered under `erased`", () => {
    const read = LotPeriodOpenedEvent.personalValues?.(opening.data, erasing("C-w", "C-x"));
    if (!read) throw new Error("LotPeriodOpened names its personal values");
    const state = openedState(read);
    if (state.kind !== "registered") throw new Error("a registered lot");
    expect([...(state.byCustomer.get(ERASED) ?? [])].sort()).toEqual(["r2", "r4"]);
    expect([...(state.byCustomer.get("D-y") ?? [])]).toEqual(["r3"]);
    expect(state.reservations.get("r4")).toMatchObject({ customerId: ERASED, carNumber: ERASED });
  });
});
