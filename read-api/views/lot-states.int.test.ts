import { describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore } from "../../document-store/port.js";
import { PROJECTIONS } from "../../projections/read-models/index.js";
import { LOT_FACTS } from "../../projections/read-models/lot-facts.js";
import type { DomainEvent } from "../../schemas/events.js";
import { projectedLog, withProjectionIndexes } from "../../test-support/projected-log.js";
import { readViews } from "./views.js";

/**
 * A read that asked for a position (`minPosition`, a client reading its own write) is counted on a
 * lot state that has applied it: never on a load of the lot begun before the projection moved,
 * which another read started and is still running, and never before the lot's facts have applied
 * it, whichever view counts on them (the lot, the control center, a reservation's status).
 */
const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

const registered: DomainEvent = {
  type: "ParkingLotRegistered",
  data: { parkingLotId: "L1", name: "L1", capacity: 2, registeredAt: iso(T0 - 24 * HOUR) },
};
/** A window, by default one holding a spot at T0. */
const booked = (reservationId: string, startsAt = T0 - HOUR, endsAt = T0 + HOUR): DomainEvent => ({
  type: "ParkingReserved",
  data: {
    reservationId,
    parkingLotId: "L1",
    customerId: "C1",
    carNumber: "12가3456",
    amount: 1000,
    reservedAt: iso(T0 - 2 * HOUR),
    startsAt: iso(startsAt),
    endsAt: iso(endsAt),
  },
});

/**
 * The store, with the answer of the next find of the lot facts held until `release` (`held` once
 * it is read): a read of the store that took its time, as one on a busy disk or server does.
 */
function holdingNextFactsRead(store: DocumentStore) {
  let arm: (() => void) | undefined;
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    arm = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const holding = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== "find" || typeof value !== "function") return value;
      return async (collection: string, ...rest: unknown[]) => {
        const found = await value.call(target, collection, ...rest);
        if (arm && collection.includes(LOT_FACTS)) {
          const reached = arm;
          arm = undefined;
          reached();
          await gate;
        }
        return found;
      };
    },
  });
  return { store: holding, held, release };
}

/** A store holding lot L1 with r1 booked, projected at positions 1 and 2. */
async function withLot(
  test: (store: DocumentStore, log: ReturnType<typeof projectedLog>) => Promise<void>,
): Promise<void> {
  const store = SqliteDocumentStore.open({ file: ":memory:" });
  try {
    await withProjectionIndexes(store);
    const log = projectedLog(new Date(T0));
    await log.apply(store, [registered, booked("r1")]);
    await test(store, log);
  } finally {
    await store.close();
  }
}

describe("a lot's state on the read side", () => {
  it("answers a read that waited for a position with it, though a load begun before is under way", async () => {
    await withLot(async (store, log) => {
      const holding = holdingNextFactsRead(store);
      const { lots } = readViews(holding.store, { readYourWritesTimeoutMs: 2_000, now: () => T0 });
      // A read with no position loads the lot, and its read of the facts is held...
      const first = lots.parkingLot("L1");
      await holding.held;
      // ...while a second booking is projected and a client asks to see it.
      await log.apply(store, [booked("r2")]);
      const second = lots.parkingLot("L1", log.position);
      await new Promise((resolve) => setTimeout(resolve, 20));
      holding.release();
      expect(await second).toMatchObject({ availableSpots: 0, activeReservations: 2 });
      // The first saw the lot as of its own start or later.
      expect([1, 2]).toContain((await first)?.activeReservations);
      expect(await lots.parkingLot("L1")).toMatchObject({ availableSpots: 0, activeReservations: 2 });
    });
  });

  it("is awaited by the control center and a reservation's status as by the lot", async () => {
    await withLot(async (store, log) => {
      const views = readViews(store, { readYourWritesTimeoutMs: 2_000, now: () => T0 });
      // r2: a window over by T0 with no check-in yet (NO_SHOW by the lot's state, which is kept).
      await log.apply(store, [booked("r2", T0 - 2 * HOUR, T0 - HOUR / 2)]);
      expect(await views.lots.parkingLot("L1")).toMatchObject({ activeReservations: 1 });
      expect(await views.reservations.reservation("r2")).toMatchObject({ status: "NO_SHOW" });
      // Its check-in (late, within the window) reaches every read model but the lot's facts, which
      // lag behind: the car stays past its window, OVERSTAYING, and holds a spot.
      const stored = log.record([
        {
          type: "ReservationCheckedIn",
          data: { reservationId: "r2", parkingLotId: "L1", customerId: "C1", checkedInAt: iso(T0 - HOUR) },
        },
      ]);
      const lagging = PROJECTIONS.filter((p) => LOT_FACTS in p.collections);
      await log.project(
        store,
        stored,
        PROJECTIONS.filter((p) => !lagging.includes(p)),
      );
      const center = views.controlCenter.controlCenter({ limit: 10, minPosition: log.position });
      const reservation = views.reservations.reservation("r2", log.position);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await log.project(store, stored, lagging);
      const lot = (await center).parkingLots.find((l) => l.parkingLotId === "L1");
      expect(lot).toMatchObject({ availableSpots: 0, activeReservations: 2 });
      expect(lot?.presence).toMatchObject({ inLot: 1 });
      expect(await reservation).toMatchObject({ status: "OVERSTAYING" });
    });
  });

  it("counts a lot's facts across its periods, whose streams each count revisions from 0 (issue 48)", async () => {
    await withLot(async (store, log) => {
      const { lots } = readViews(store, { readYourWritesTimeoutMs: 2_000, now: () => T0 });
      expect(await lots.parkingLot("L1", log.position)).toMatchObject({ activeReservations: 1 });
      // Period 1's stream: its opening (no fact of the read side's) at revision 0, then r2 at 1.
      const r2 = log.record([booked("r2")]).map((e) => ({ ...e, streamId: "parkingLot-L1/1", revision: 1 }));
      await log.project(store, r2);
      expect(await lots.parkingLot("L1", log.position)).toMatchObject({
        activeReservations: 2,
        availableSpots: 0,
      });
      // A fresh read side folds both periods' facts in their order.
      const fresh = readViews(store, { readYourWritesTimeoutMs: 2_000, now: () => T0 });
      expect(await fresh.lots.parkingLot("L1")).toMatchObject({ activeReservations: 2, availableSpots: 0 });
    });
  });
});
