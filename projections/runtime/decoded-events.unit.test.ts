import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../../event-store/port.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { DecodedEvents } from "./decoded-events.js";

/** A recorded event at `at` (its decoding is not what these tests look at). */
const recordAt = (at: number, type = "ParkingReserved", id = `e${at}`): RecordedEvent => ({
  id,
  streamId: "parkingLot-1",
  revision: at,
  position: { commit: at, prepare: at },
  type,
  data: {},
  metadata: {},
  createdAt: new Date(0),
});
const decodedOf = (record: RecordedEvent) => ({ ...record, event: {} }) as unknown as StoredDomainEvent;

describe("the decoded events the runtimes of a group share", () => {
  it("hands an event out once, and only for the same event at that position", () => {
    const decoded = new DecodedEvents();
    const record = recordAt(1);
    const stored = decodedOf(record);
    decoded.keep(record, stored);
    expect(decoded.take(recordAt(1, "ParkingReserved", "another"))).toBeUndefined();
    decoded.keep(record, stored);
    expect(decoded.take(record)).toBe(stored);
    expect(decoded.take(record)).toBeUndefined();
  });

  it("keeps at most its capacity (the oldest out first), and few lot period openings", () => {
    const decoded = new DecodedEvents(3, 1);
    for (const at of [1, 2, 3, 4]) decoded.keep(recordAt(at), decodedOf(recordAt(at)));
    expect(decoded.size).toBe(3);
    expect(decoded.take(recordAt(1))).toBeUndefined();
    expect(decoded.take(recordAt(4))).toBeDefined();
    const opening = (at: number) => recordAt(at, "LotPeriodOpened");
    decoded.keep(opening(5), decodedOf(opening(5)));
    decoded.keep(opening(6), decodedOf(opening(6)));
    expect(decoded.take(opening(6))).toBeUndefined();
    expect(decoded.take(opening(5))).toBeDefined();
    decoded.keep(opening(7), decodedOf(opening(7)));
    expect(decoded.take(opening(7))).toBeDefined();
  });

  it("forgets everything on an erasure", () => {
    const decoded = new DecodedEvents();
    for (const at of [1, 2]) decoded.keep(recordAt(at), decodedOf(recordAt(at)));
    decoded.forget();
    expect(decoded.size).toBe(0);
    expect(decoded.take(recordAt(2))).toBeUndefined();
  });
});
