import { WrongExpectedVersionError } from "@eventstore/db-client";
import { describe, expect, it } from "vitest";
import {
  AppendTooLargeError,
  EventStoreError,
  EventStoreUnavailableError,
  SubscriptionDroppedError,
  WrongExpectedRevisionError,
} from "../errors.js";
import { compileEventFilter } from "../event-filter.js";
import {
  type EsdbRecordedEventLike,
  escapeRegex,
  fromEsdbActualRevision,
  fromEsdbPosition,
  isStreamNotFound,
  isSystemEvent,
  mapEsdbError,
  positionOfResolved,
  toEsdbExpectedRevision,
  toEsdbPosition,
  toEsdbReadPosition,
  toRecordedEvent,
  toSubscriptionFilter,
} from "./esdb-mapping.js";

describe("expected revisions", () => {
  it("maps each variant to the client's", () => {
    expect(toEsdbExpectedRevision("any")).toBe("any");
    expect(toEsdbExpectedRevision("no_stream")).toBe("no_stream");
    expect(toEsdbExpectedRevision("stream_exists")).toBe("stream_exists");
    expect(toEsdbExpectedRevision(0)).toBe(0n);
    expect(toEsdbExpectedRevision(41)).toBe(41n);
  });

  it("maps the actual revision a server reports", () => {
    expect(fromEsdbActualRevision(7n)).toBe(7);
    expect(fromEsdbActualRevision("no_stream")).toBe("no_stream");
    expect(fromEsdbActualRevision(-1n)).toBe("no_stream");
    expect(fromEsdbActualRevision(undefined)).toBeUndefined();
    expect(() => fromEsdbActualRevision(2n ** 60n)).toThrow(RangeError);
  });
});

describe("errors", () => {
  it("maps a wrong-expected-version error (empty message) with the append's context", () => {
    const vendor = {
      type: "wrong-expected-version",
      message: "",
      streamName: "lot-1",
      expectedVersion: 2n,
      actualVersion: 3n,
    };
    const mapped = mapEsdbError(vendor, { streamId: "lot-1", expected: 2 });
    expect(mapped).toBeInstanceOf(WrongExpectedRevisionError);
    expect(mapped).toMatchObject({ streamId: "lot-1", expected: 2, actual: 3 });
    expect(mapped.message).toContain("lot-1");
    expect((mapped as WrongExpectedRevisionError).cause).toBeUndefined();
  });

  it('maps an actual "no_stream", and works without context from the error\'s own fields', () => {
    const vendor = {
      type: "wrong-expected-version",
      message: "",
      streamName: "lot-2",
      expectedVersion: "stream_exists",
      actualVersion: "no_stream",
    };
    expect(mapEsdbError(vendor)).toMatchObject({
      streamId: "lot-2",
      expected: "stream_exists",
      actual: "no_stream",
    });
    const numeric = { ...vendor, expectedVersion: 4n, actualVersion: 9n };
    expect(mapEsdbError(numeric)).toMatchObject({ expected: 4, actual: 9 });
  });

  it("maps the client's own WrongExpectedVersionError", () => {
    const vendor = new WrongExpectedVersionError(undefined, {
      streamName: "lot-3",
      expected: "no_stream",
      current: 0n,
    });
    expect(vendor.message).toBe("");
    expect(mapEsdbError(vendor, { streamId: "lot-3", expected: "no_stream" })).toMatchObject({
      name: "WrongExpectedRevisionError",
      streamId: "lot-3",
      expected: "no_stream",
      actual: 0,
    });
  });

  it("maps connection, deadline and leadership failures to EventStoreUnavailableError", () => {
    const failures: unknown[] = [
      { type: "unavailable", message: "14 UNAVAILABLE: No connection established" },
      { type: "deadline-exceeded", message: "" },
      { type: "timeout", message: "" },
      { type: "not-leader", message: "not leader", leader: { address: "n2", port: 2113 } },
      Object.assign(new Error("14 UNAVAILABLE: No connection established"), { code: 14 }),
      Object.assign(new Error("4 DEADLINE_EXCEEDED"), { code: 4 }),
      new Error("Failed to discover after 10 attempts."),
      new Error("connect ECONNREFUSED 127.0.0.1:2113"),
    ];
    for (const failure of failures) {
      const mapped = mapEsdbError(failure);
      expect(mapped).toBeInstanceOf(EventStoreUnavailableError);
      expect(mapped.cause).toBe(failure);
    }
  });

  it('maps the server\'s "Maximum Append Size" refusal (its MaxAppendSize, INVALID_ARGUMENT) to AppendTooLargeError', () => {
    const failures: unknown[] = [
      Object.assign(new Error("3 INVALID_ARGUMENT: Maximum Append Size of 1048576 Exceeded."), { code: 3 }),
      { type: "unknown", message: "Maximum Append Size of 1048576 Exceeded." },
    ];
    for (const failure of failures) {
      const mapped = mapEsdbError(failure, { streamId: "lot-4", expected: "no_stream" });
      expect(mapped).toBeInstanceOf(AppendTooLargeError);
      expect(mapped.message).toContain("lot-4");
      expect(mapped.message).toContain("MaxAppendSize");
      expect(mapped.cause).toBe(failure);
    }
  });

  it("maps anything else to a plain EventStoreError and leaves ours alone", () => {
    const denied = { type: "access-denied", message: "Access denied" };
    const mapped = mapEsdbError(denied);
    expect(mapped).toBeInstanceOf(EventStoreError);
    expect(mapped).not.toBeInstanceOf(EventStoreUnavailableError);
    expect(mapped.message).toContain("Access denied");
    const ours = new SubscriptionDroppedError("gone");
    expect(mapEsdbError(ours)).toBe(ours);
    expect(mapEsdbError("weird")).toBeInstanceOf(EventStoreError);
  });

  it("recognises a missing or deleted stream on read", () => {
    expect(isStreamNotFound({ type: "stream-not-found", streamName: "x" })).toBe(true);
    expect(isStreamNotFound({ type: "stream-deleted" })).toBe(true);
    expect(isStreamNotFound({ type: "unavailable" })).toBe(false);
    expect(isStreamNotFound(new Error("x"))).toBe(false);
  });
});

describe("positions", () => {
  it("converts both ways and refuses positions beyond safe integers", () => {
    expect(fromEsdbPosition({ commit: 1234n, prepare: 1200n })).toEqual({ commit: 1234, prepare: 1200 });
    expect(toEsdbPosition({ commit: 1234, prepare: 1200 })).toEqual({ commit: 1234n, prepare: 1200n });
    expect(() => fromEsdbPosition({ commit: 2n ** 63n, prepare: 0n })).toThrow(RangeError);
    expect(toEsdbReadPosition("start")).toBe("start");
    expect(toEsdbReadPosition("end")).toBe("end");
    expect(toEsdbReadPosition({ commit: 5, prepare: 5 })).toEqual({ commit: 5n, prepare: 5n });
  });
});

describe("recorded events", () => {
  const base: EsdbRecordedEventLike = {
    streamId: "parkingLot-1",
    id: "0b8a4e5c-4c1f-4a43-9f3e-0c8d2f1d7a11",
    revision: 3n,
    type: "ParkingReserved",
    data: { carNumber: "10더8612" },
    metadata: { correlationId: "c" },
    created: new Date("2025-01-02T03:04:05.000Z"),
    isJson: true,
    position: { commit: 900n, prepare: 900n },
  };

  it("maps fields, bigints to numbers", () => {
    expect(toRecordedEvent(base)).toEqual({
      id: base.id,
      streamId: "parkingLot-1",
      revision: 3,
      position: { commit: 900, prepare: 900 },
      type: "ParkingReserved",
      data: { carNumber: "10더8612" },
      metadata: { correlationId: "c" },
      createdAt: new Date("2025-01-02T03:04:05.000Z"),
    });
  });

  it("gives empty metadata when there is none or it is not a JSON object", () => {
    expect(toRecordedEvent({ ...base, metadata: undefined }).metadata).toEqual({});
    expect(toRecordedEvent({ ...base, metadata: new Uint8Array([1, 2]) }).metadata).toEqual({});
    expect(toRecordedEvent({ ...base, metadata: ["x"] }).metadata).toEqual({});
  });

  it("takes the position of a result from its event, else from the commit position sent with it", () => {
    expect(positionOfResolved({ event: base, commitPosition: 5n })).toEqual({ commit: 900n, prepare: 900n });
    const unknown = { commit: 18446744073709551615n, prepare: 18446744073709551615n };
    expect(positionOfResolved({ event: { ...base, position: unknown }, commitPosition: 77n })).toEqual({
      commit: 77n,
      prepare: 77n,
    });
    expect(positionOfResolved({ event: { ...base, position: undefined } })).toBeUndefined();
  });

  it("refuses an event without a real $all position", () => {
    expect(() => toRecordedEvent({ ...base, position: undefined })).toThrow(EventStoreError);
    const unknown = 18446744073709551615n;
    expect(() => toRecordedEvent({ ...base, position: { commit: unknown, prepare: unknown } })).toThrow(
      /22\.6/,
    );
  });
});

describe("system events and filters", () => {
  it("recognises system events by their $ type", () => {
    expect(isSystemEvent("$>")).toBe(true);
    expect(isSystemEvent("$metadata")).toBe(true);
    expect(isSystemEvent("$ProjectionUpdated")).toBe(true);
    expect(isSystemEvent("ParkingReserved")).toBe(false);
  });

  it("matches event types exactly on the server, with their regex characters escaped", () => {
    const filter = toSubscriptionFilter(
      compileEventFilter({ eventTypes: ["ParkingReserved", "a.b+c", "ParkingReserved"] }),
    );
    expect(filter).toMatchObject({ filterOn: "eventType" });
    const regex = new RegExp((filter as { regex: string }).regex);
    expect(regex.test("ParkingReserved")).toBe(true);
    expect(regex.test("a.b+c")).toBe(true);
    expect(regex.test("axbbc")).toBe(false);
    expect(regex.test("ParkingReservedX")).toBe(false);
    expect(regex.test("XParkingReserved")).toBe(false);
    expect(escapeRegex("(x)[y]{z}^$|?*\\")).toBe("\\(x\\)\\[y\\]\\{z\\}\\^\\$\\|\\?\\*\\\\");
  });

  it("filters stream names by prefix, and excludes system events otherwise", () => {
    expect(
      toSubscriptionFilter(compileEventFilter({ streamPrefixes: ["parkingLot-", "coupon-"] })),
    ).toMatchObject({
      filterOn: "streamName",
      prefixes: ["parkingLot-", "coupon-"],
    });
    const all = toSubscriptionFilter(compileEventFilter(undefined));
    expect(all).toMatchObject({ filterOn: "eventType" });
    const regex = new RegExp((all as { regex: string }).regex);
    expect(regex.test("ParkingReserved")).toBe(true);
    expect(regex.test("$metadata")).toBe(false);
  });
});
