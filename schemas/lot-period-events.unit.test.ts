import type { KeyObject } from "node:crypto";
import { Value } from "@sinclair/typebox/value";
import { describe, expect, it, vi } from "vitest";
import { fromBigInt } from "../event-store/position.js";
import { type DataKeys, MemoryDataKeys } from "../platform/data-keys/port.js";
import { fold } from "../test-support/lot-state.js";
import { activeCount } from "../write-side/parking-lot/booking.js";
import { decide } from "../write-side/parking-lot/decide.js";
import type { ParkingLotEvent } from "../write-side/parking-lot/decider.js";
import { reservationsOfPlate } from "../write-side/parking-lot/gates.js";
import { liveState, openingOf } from "../write-side/parking-lot/period-books.js";
import { openedState } from "../write-side/parking-lot/periods.js";
import { summaryOf } from "../write-side/parking-lot/summary.js";
import { systemActor } from "./actor.js";
import { decodeEvent, encodeEvent } from "./event-codec.js";
import { CURRENT_SCHEMA_VERSION, type EventOfType } from "./events.js";
import { LotPeriodOpenedEvent } from "./lot-period-events.js";
import { CustomerSummary } from "./lot-summary.js";
import { ERASED, withPersonalDataKeys } from "./personal-data.js";

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

/**
 * Issue 68, the cold lot: an opening seals each customer's id and plates as one value under their
 * key (schema version 3), not each id and plate on its own, so a cold load opens one value per
 * customer; and it stores the bookings in columns. Read back, every booking has its customer's id
 * and plate again, and an erased customer's read `erased`.
 */
describe("LotPeriodOpened sealed", () => {
  const T = Date.parse("2026-11-20T00:00:00.000Z");
  const CUSTOMERS = 40;
  const BOOKINGS = 400;
  const plateOf = (i: number) => `${10 + (i % 7)}가${1000 + (i % 3)}`;
  const lot = fold([
    {
      type: "ParkingLotRegistered",
      data: { parkingLotId: "L", name: "L", capacity: 1000, registeredAt: new Date(T).toISOString() },
    },
    ...Array.from(
      { length: BOOKINGS },
      (_, i): ParkingLotEvent => ({
        type: "ParkingReserved",
        data: {
          reservationId: `r${i}`,
          parkingLotId: "L",
          customerId: `C${i % CUSTOMERS}`,
          carNumber: plateOf(i),
          amount: 5000,
          reservedAt: new Date(T).toISOString(),
        },
      }),
    ),
  ]);
  const opening = openingOf(lot, "L", 1, T);
  const stored = (keys: MemoryDataKeys) =>
    withPersonalDataKeys(keys, () =>
      encodeEvent(opening, { correlationId: "c", causationId: "c", actor: systemActor("test") }),
    );
  const readBack = (keys: DataKeys, data: unknown) =>
    withPersonalDataKeys(keys, () =>
      decodeEvent({
        id: "o",
        streamId: "parkingLot-L/1",
        revision: 0,
        position: fromBigInt(1n, 1n),
        type: "LotPeriodOpened",
        data,
        metadata: { correlationId: "c", causationId: "c", schemaVersion: CURRENT_SCHEMA_VERSION },
        createdAt: new Date(T),
      }),
    );

  it("seals one value per customer, and stores under 100 bytes a booking", () => {
    const keys = new MemoryDataKeys();
    const json = JSON.stringify(stored(keys).data);
    expect(json.match(/"pii1\./g)?.length).toBe(CUSTOMERS);
    expect(json).not.toContain("가");
    expect(JSON.stringify(opening.data).length / BOOKINGS).toBeLessThan(100);
  });

  /** A key store that counts what it is asked (the keys it reads: each read a key unwrapped). */
  const counting = (inner: DataKeys) => {
    const asked = { key: 0, keysOf: 0 };
    const keys: DataKeys = {
      keyFor: (subject) => inner.keyFor(subject),
      existingKeyFor: (subject) => inner.existingKeyFor(subject),
      key: (id) => {
        asked.key++;
        return inner.key(id);
      },
      keysOf: (ids) => {
        asked.keysOf += ids.length;
        return new Map(
          ids.flatMap((id) =>
            [[id, inner.key(id)] as const].filter((e): e is [string, KeyObject] => e[1] !== undefined),
          ),
        );
      },
      erase: (subject) => inner.erase(subject),
      isErased: (subject) => inner.isErased(subject),
      pseudonym: (subject) => inner.pseudonym(subject),
      close: () => inner.close(),
    };
    return { keys, asked };
  };

  it("loads sealed: no key read to load it or to decide on one customer, one per booking shown (issue 68)", () => {
    const inner = new MemoryDataKeys();
    const { keys, asked } = counting(inner);
    const { data } = stored(inner);
    withPersonalDataKeys(keys, () => {
      const state = openedState(readBack(keys, data).event.data as EventOfType<"LotPeriodOpened">["data"]);
      if (state.kind !== "registered") throw new Error("a registered lot");
      expect(asked).toEqual({ key: 0, keysOf: 0 });
      // The per-customer limit counts C5's bookings by their key's name: none opened, and no key
      // made (a new customer has none: their refused booking must leave none behind).
      const made = vi.spyOn(inner, "keyFor");
      expect(activeCount(state, "C5", T)).toBe(BOOKINGS / CUSTOMERS);
      expect(activeCount(state, "C-new", T)).toBe(0);
      expect(asked).toEqual({ key: 0, keysOf: 0 });
      expect(made).not.toHaveBeenCalled();
      made.mockRestore();
      expect(state.reservations.get("r5")).toMatchObject({ customerId: "C5", carNumber: plateOf(5) });
      expect(state.reservations.get("r45")).toMatchObject({ customerId: "C5", carNumber: plateOf(45) });
      expect(asked).toEqual({ key: 1, keysOf: 0 });
    });
  });

  it("decides on a booking loaded sealed opening its entry alone, and writes every entry again as it was read", () => {
    const inner = new MemoryDataKeys();
    const { keys, asked } = counting(inner);
    const { data } = stored(inner);
    withPersonalDataKeys(keys, () => {
      const read = readBack(keys, data).event.data as EventOfType<"LotPeriodOpened">["data"];
      const state = openedState(read);
      const now = new Date(T).toISOString();
      const cancel = {
        type: "CancelReservation",
        reservationId: "r5",
        parkingLotId: "L",
        reason: "t",
        now,
      } as const;
      const decision = decide(cancel, state);
      if (!decision.ok) throw new Error(decision.rejection.code);
      expect(decision.events[0]?.data).toMatchObject({ customerId: "C5" });
      const after = fold(decision.events, state);
      if (after.kind !== "registered") throw new Error("a registered lot");
      expect(activeCount(after, "C5", T)).toBe(BOOKINGS / CUSTOMERS - 1);
      // A retried booking of one of C6's compares with its record: that entry opened too.
      const again = {
        type: "ReserveParking",
        parkingLotId: "L",
        reservationId: "r6",
        customerId: "C6",
      } as const;
      expect(decide({ ...again, carNumber: plateOf(6), amount: 5000, now }, after)).toEqual({
        ok: true,
        events: [],
      });
      expect(asked).toEqual({ key: 2, keysOf: 0 });
      // The close writes each customer's entry as it was read: no key asked, nothing sealed anew.
      expect(summaryOf(after).customers).toEqual(read.summary.customers);
      const next = encodeEvent(openingOf(liveState(after, T), "L", 2, T), {
        correlationId: "c",
        causationId: "c",
        actor: systemActor("test"),
      });
      expect((next.data as typeof read).summary.customers).toEqual(read.summary.customers);
      expect(asked).toEqual({ key: 2, keysOf: 0 });
    });
  });

  it("reads back each booking's customer and plate, an erased customer's as `erased`", () => {
    const keys = new MemoryDataKeys();
    const { data } = stored(keys);
    keys.erase("C3");
    withPersonalDataKeys(keys, () => {
      const state = openedState(readBack(keys, data).event.data as EventOfType<"LotPeriodOpened">["data"]);
      if (state.kind !== "registered") throw new Error("a registered lot");
      for (let i = 0; i < BOOKINGS; i++) {
        const erased = i % CUSTOMERS === 3;
        expect(state.reservations.get(`r${i}`)).toMatchObject({
          customerId: erased ? ERASED : `C${i % CUSTOMERS}`,
          carNumber: erased ? ERASED : plateOf(i),
        });
      }
      expect(activeCount(state, "C4", T)).toBe(BOOKINGS / CUSTOMERS);
      // A camera's read finds a plate's bookings (every sealed entry opened, their keys read at once).
      const { asked, keys: countingKeys } = counting(keys);
      withPersonalDataKeys(countingKeys, () => {
        const fresh = openedState(readBack(keys, data).event.data as EventOfType<"LotPeriodOpened">["data"]);
        expect(reservationsOfPlate(fresh, plateOf(5))).toEqual(
          Array.from({ length: BOOKINGS }, (_, i) => i)
            .filter((i) => plateOf(i) === plateOf(5) && i % CUSTOMERS !== 3)
            .map((i) => `r${i}`)
            .sort(),
        );
        expect(asked).toEqual({ key: 1, keysOf: CUSTOMERS });
      });
    });
  });
});

/**
 * Issue 68: ajv tries a union's choices in order and, checking every error (`allErrors`, `verbose`),
 * builds an error object for each refused before the one that fits. An opening's customers are
 * sealed in every DATA_DIR (data keys are always installed), so the sealed form comes first: with
 * it last, an opening of 20,000 customers built 40,000 error objects only to throw them away, and
 * its check took 4× as long (bench/cold-lot.ts).
 */
describe("an opening's customer entry", () => {
  const sealed = "pii1.key.iv.ciphertext";
  it("is checked as sealed by the union's first choice, and every form still fits the union", () => {
    const [first] = CustomerSummary.anyOf;
    expect(Value.Check(first, sealed)).toBe(true);
    for (const entry of [sealed, ["C1", "12가3456"], ERASED])
      expect(Value.Check(CustomerSummary, entry)).toBe(true);
    expect(Value.Check(CustomerSummary, "C1")).toBe(false);
  });
});
