import { describe, expect, it } from "vitest";
import type { DomainEvent } from "../../schemas/events.js";
import { projectionSpec } from "../../test-support/projection-spec.js";
import { CONTROL_CENTER, controlCenterProjection } from "./control-center.js";
import { ENDS_PREFIX, STARTS_PREFIX } from "./control-center-clock.js";

const base = { parkingLotId: "1", customerId: "CUST1" };
const window = { startsAt: "2026-12-01T10:00:00.000Z", endsAt: "2026-12-01T12:00:00.000Z" };
const reserved = (reservationId: string, extra: object = {}): DomainEvent => ({
  type: "ParkingReserved",
  data: {
    ...base,
    reservationId,
    carNumber: "10더8612",
    amount: 5000,
    reservedAt: "2026-11-22T11:00:00.000Z",
    ...extra,
  },
});

/** The boundary documents of a control-center outcome, in id order. */
async function boundaries(events: DomainEvent[]) {
  const outcome = await projectionSpec(controlCenterProjection).given(...events);
  try {
    return (await outcome.documents(CONTROL_CENTER)).filter(
      (d) => d._id.startsWith(STARTS_PREFIX) || d._id.startsWith(ENDS_PREFIX),
    );
  } finally {
    await outcome.close();
  }
}

describe("control-center projection: when a window starts and ends", () => {
  it("given a window booked, keeps its start and its end; given an open-ended booking, nothing", async () => {
    expect(await boundaries([reserved("w1", window), reserved("o1")])).toEqual([
      { _id: "ends:2026-12-01T12:00:00.000Z:w1", at: "2026-12-01T12:00:00.000Z" },
      { _id: "starts:2026-12-01T10:00:00.000Z:w1", at: "2026-12-01T10:00:00.000Z" },
    ]);
  });

  it("given a window canceled or checked out, adds where its span now ends; an open-ended one adds nothing", async () => {
    const docs = await boundaries([
      reserved("w1", window),
      reserved("w2", window),
      reserved("o1"),
      {
        type: "ReservationCanceled",
        data: {
          ...base,
          reservationId: "w1",
          reason: "plans",
          canceledAt: "2026-11-30T09:00:00Z",
          ...window,
        },
      },
      {
        type: "ReservationCheckedOut",
        data: { ...base, reservationId: "w2", checkedOutAt: "2026-12-01T11:15:00.000Z", ...window },
      },
      {
        type: "ReservationCanceled",
        data: { ...base, reservationId: "o1", reason: "plans", canceledAt: "2026-11-30T09:00:00Z" },
      },
    ]);
    expect(docs.map((d) => d._id)).toEqual([
      // Normalized to the store's ISO form, so ids sort as time does.
      "ends:2026-11-30T09:00:00.000Z:w1",
      "ends:2026-12-01T11:15:00.000Z:w2",
      "ends:2026-12-01T12:00:00.000Z:w1",
      "ends:2026-12-01T12:00:00.000Z:w2",
      "starts:2026-12-01T10:00:00.000Z:w1",
      "starts:2026-12-01T10:00:00.000Z:w2",
    ]);
  });
});
