import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../event-store/port.js";
import { decodeEvent, encodeEvent } from "./event-codec.js";
import { CURRENT_SCHEMA_VERSION } from "./events.js";
import type { Upcaster } from "./upcasters.js";

/** Old events are read through the upcasters of every version after theirs, then validated. */
const recorded = (data: Record<string, unknown>, schemaVersion: number): RecordedEvent => ({
  id: "e1",
  streamId: "parkingLot-1",
  revision: 1,
  position: { commit: 2, prepare: 2 },
  type: "ParkingReserved",
  data,
  metadata: { correlationId: "c", causationId: "c", schemaVersion },
  createdAt: new Date(0),
});
const CURRENT = {
  reservationId: "0190f0d6-4b9c-7a3e-9f00-0123456789ab",
  parkingLotId: "1",
  customerId: "CUST1",
  carNumber: "10더8612",
  amount: 5000,
  reservedAt: "2026-11-23T09:00:00.000Z",
};
/** A made-up history: version 1 called the plate `plate`, version 2 the amount `price`. */
const UPCASTERS: readonly Upcaster[] = [
  { type: "ParkingReserved", from: 1, up: ({ plate, ...rest }) => ({ ...rest, carNumber: plate }) },
  { type: "ParkingReserved", from: 2, up: ({ price, ...rest }) => ({ ...rest, amount: price }) },
];
const versions = { upcasters: UPCASTERS, current: 3 };

describe("decoding events of older schema versions", () => {
  it("runs every upcaster from the event's version on, in order", () => {
    const { carNumber, amount, ...rest } = CURRENT;
    const v1 = recorded({ ...rest, plate: carNumber, price: amount }, 1);
    expect(decodeEvent(v1, versions).event.data).toEqual(CURRENT);
    const v2 = recorded({ ...rest, carNumber, price: amount }, 2);
    expect(decodeEvent(v2, versions).event.data).toEqual(CURRENT);
  });

  it("leaves an event of the current version as it was written", () => {
    expect(decodeEvent(recorded(CURRENT, 3), versions).event.data).toEqual(CURRENT);
  });

  it("still validates what the upcasters make: a broken old event is refused, not applied", () => {
    const { carNumber: _, ...rest } = CURRENT;
    expect(() => decodeEvent(recorded({ ...rest, plate: 42, price: 5000 }, 1), versions)).toThrow();
  });

  it("writes the current version, and reads today's events unchanged with the real registry", () => {
    const written = encodeEvent(
      { type: "ParkingReserved", data: CURRENT },
      { correlationId: "c", causationId: "c", actor: { sub: "CUST1", role: "customer" } },
    );
    const read = decodeEvent({
      ...recorded(written.data as Record<string, unknown>, 1),
      metadata: written.metadata,
    });
    expect(read.event.data).toEqual(CURRENT);
    expect(read.metadata.schemaVersion).toBe(CURRENT_SCHEMA_VERSION);
  });
});
