import { afterEach, describe, it } from "vitest";
import type { DomainEvent } from "../../schemas/events.js";
import { type ProjectionOutcome, projectionSpec } from "../../test-support/projection-spec.js";
import { PARKING_LOTS, parkingLotsProjection } from "./parking-lots.js";

const spec = projectionSpec(parkingLotsProjection);
const registeredAt = "2026-11-26T09:00:00.000Z";
const changedAt = "2026-11-26T10:00:00.000Z";
const terms = {
  currency: "KRW",
  deposit: 10000,
  cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
  noShowFee: 5000,
};
const events: DomainEvent[] = [
  {
    type: "ParkingLotRegistered",
    data: { parkingLotId: "L1", name: "North", capacity: 10, registeredAt },
  },
  {
    type: "ParkingLotCapacityChanged",
    data: { parkingLotId: "L1", capacity: 12, previousCapacity: 10, changedAt },
  },
  { type: "ParkingLotRateChanged", data: { parkingLotId: "L1", hourlyRate: 3000, changedAt } },
  {
    type: "ParkingLotCustomerLimitChanged",
    data: { parkingLotId: "L1", maxActivePerCustomer: 2, previousMaxActivePerCustomer: 4, changedAt },
  },
  { type: "ParkingLotPaymentTermsChanged", data: { parkingLotId: "L1", terms, changedAt } },
] as DomainEvent[];

describe("the parking-lots projection's terms", () => {
  let outcome: ProjectionOutcome | undefined;
  afterEach(async () => {
    await outcome?.close();
  });

  it("sets each changed term on the lot, as of when it changed", async () => {
    outcome = await spec.given(...events);
    await outcome.expectDocuments({
      [PARKING_LOTS]: [
        {
          _id: "L1",
          parkingLotId: "L1",
          name: "North",
          capacity: 12,
          hourlyRate: 3000,
          maxActivePerCustomer: 2,
          paymentTerms: terms,
          registeredAt,
          updatedAt: changedAt,
          openEndedHeld: 0,
          totalReservations: 0,
          canceledReservations: 0,
        },
      ],
    });
  });
});
