import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../event-store/port.js";
import { MemoryDataKeys } from "../platform/data-keys/port.js";
import { decodeEvent, decodeSealedEvent, encodeEvent } from "./event-codec.js";
import { CURRENT_SCHEMA_VERSION, type DomainEvent } from "./events.js";
import { isSealed, withPersonalDataKeys } from "./personal-data.js";
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

/**
 * Issue 68: the lot's loader reads events sealed (decodeSealedEvent): the personal fields and a
 * customer actor's `sub` as written, no key read; the rest still checked against the schema.
 */
describe("decoding an event sealed", () => {
  const LONG_ID = `C${"x".repeat(254)}`; // the longest customer id: sealed, over the actor's 255 characters
  const written = (data: Record<string, unknown>) => {
    const keys = new MemoryDataKeys();
    const encoded = withPersonalDataKeys(keys, () =>
      encodeEvent({ type: "ParkingReserved", data: { ...CURRENT, customerId: LONG_ID } } as DomainEvent, {
        correlationId: "c",
        causationId: "c",
        actor: { sub: LONG_ID, role: "customer" },
      }),
    );
    const event = {
      ...recorded({ ...(encoded.data as Record<string, unknown>), ...data }, CURRENT_SCHEMA_VERSION),
      metadata: encoded.metadata,
    };
    return { keys, event };
  };

  it("leaves the personal fields and the actor sealed, reading no key", () => {
    const { keys, event } = written({});
    const asked: string[] = [];
    const counting = Object.assign(Object.create(keys) as MemoryDataKeys, {
      key: (id: string) => {
        asked.push(id);
        return keys.key(id);
      },
    });
    const read = withPersonalDataKeys(counting, () => decodeSealedEvent(event));
    const data = read.event.data as typeof CURRENT;
    expect([data.customerId, data.carNumber, read.metadata.actor?.sub].every(isSealed)).toBe(true);
    expect({ ...data, customerId: "", carNumber: "" }).toEqual({ ...CURRENT, customerId: "", carNumber: "" });
    expect(asked).toEqual([]);
    // Opened, as every other reader reads it.
    expect(withPersonalDataKeys(keys, () => decodeEvent(event).event.data)).toMatchObject({
      customerId: LONG_ID,
      carNumber: CURRENT.carNumber,
    });
  });

  it("still refuses what the schema refuses: a field not personal, or a personal one written in clear", () => {
    expect(() => decodeSealedEvent(written({ amount: -1 }).event)).toThrow(/amount/);
    expect(() => decodeSealedEvent(written({ carNumber: "!" }).event)).toThrow(/carNumber/);
  });
});
