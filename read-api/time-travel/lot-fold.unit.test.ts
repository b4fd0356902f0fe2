import { describe, expect, it } from "vitest";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { ParkingLotEvent, RegisteredLot } from "../../write-side/parking-lot/decider.js";
import { windowSteps } from "../../write-side/parking-lot/held-timeline.js";
import { liveState, openingOf } from "../../write-side/parking-lot/period-books.js";
import { openedState } from "../../write-side/parking-lot/periods.js";
import { summaryOf } from "../../write-side/parking-lot/summary.js";
import { emptyLotFold, foldLotEvent, type LotFold, lotFoldEntries } from "./lot-fold.js";

/*
 * The lot state a time-travel fold carries stays the size of the lot's present, not of its
 * history: a long life of bookings that end (canceled, or their windows over) leaves the book with
 * its live reservations and a bounded slack, while the windows' tree carried along is the tree
 * built from the state.
 */

const T0 = Date.parse("2026-11-01T00:00:00.000Z");
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

let revision = 0;
const stored = (event: ParkingLotEvent): StoredDomainEvent =>
  ({ event, revision: revision++, streamId: "parkingLot-lf" }) as unknown as StoredDomainEvent;

function registered(lot: LotFold): Extract<LotFold["state"], { kind: "registered" }> {
  if (lot.state.kind !== "registered") throw new Error("not registered");
  return lot.state;
}

describe("a lot's state carried along a time-travel fold", () => {
  it("forgets what ended as the history grows, keeping what holds a spot, its tree the one built from scratch", () => {
    let lot = foldLotEvent(
      emptyLotFold,
      stored({
        type: "ParkingLotRegistered",
        data: { parkingLotId: "lf", name: "lf", capacity: 50, registeredAt: iso(T0) },
      }),
    );
    const base = { parkingLotId: "lf", carNumber: "10더8612", amount: 1000 };
    let most = 0;
    // 6,000 bookings over about 40 days, 10 minutes apart, each a window of an hour an hour ahead;
    // every other one canceled at once, the rest recorded no-shows once over: about 12 hold a spot.
    for (let k = 0; k < 6_000; k++) {
      const t = T0 + k * 10 * MINUTE;
      const ids = { reservationId: `r-${k}`, parkingLotId: "lf", customerId: `C${k % 5}` };
      const window = { startsAt: iso(t + 60 * MINUTE), endsAt: iso(t + 120 * MINUTE) };
      lot = foldLotEvent(
        lot,
        stored({ type: "ParkingReserved", data: { ...base, ...ids, reservedAt: iso(t), ...window } }),
      );
      if (k % 2 === 0)
        lot = foldLotEvent(
          lot,
          stored({
            type: "ReservationCanceled",
            data: { ...ids, reason: "plans", canceledAt: iso(t), ...window },
          }),
        );
      // The one booked 13 bookings before, if not canceled, is over unused: the scheduler records it.
      const over = k - 13;
      if (over >= 0 && over % 2 === 1) {
        const o = T0 + over * 10 * MINUTE;
        const data = {
          reservationId: `r-${over}`,
          parkingLotId: "lf",
          customerId: `C${over % 5}`,
          startsAt: iso(o + 60 * MINUTE),
          endsAt: iso(o + 120 * MINUTE),
          recordedAt: iso(t),
        };
        lot = foldLotEvent(lot, stored({ type: "ReservationNoShow", data }));
      }
      most = Math.max(most, registered(lot).reservations.size);
      if (k % 500 === 499) expect(lot.windows).toEqual(windowSteps(registered(lot).occupancy));
    }
    // The hour index keeps a window for a day after its hour (a few hundred), plus the slack: never 6,000.
    expect(most).toBeLessThan(1_500);
    expect(registered(lot).archived).toBeGreaterThan(4_000);
    expect(lotFoldEntries(lot)).toBeLessThan(3_000);
    expect(lot.revision).toBe(revision - 1);
  });

  it("a period's opening replaces the state with the lot's live state, as the write side folds it, and its tree with the one built from it", () => {
    let lot = foldLotEvent(
      emptyLotFold,
      stored({
        type: "ParkingLotRegistered",
        data: { parkingLotId: "lf", name: "lf", capacity: 20, registeredAt: iso(T0) },
      }),
    );
    const base = { parkingLotId: "lf", carNumber: "10더8612", amount: 1000 };
    // 40 windows of an hour, a day ahead, booked an hour apart; every other one canceled at once.
    for (let k = 0; k < 40; k++) {
      const t = T0 + k * 60 * MINUTE;
      const ids = { reservationId: `o-${k}`, parkingLotId: "lf", customerId: `C${k}` };
      const window = { startsAt: iso(t + 24 * 60 * MINUTE), endsAt: iso(t + 25 * 60 * MINUTE) };
      lot = foldLotEvent(
        lot,
        stored({ type: "ParkingReserved", data: { ...base, ...ids, reservedAt: iso(t), ...window } }),
      );
      if (k % 2 === 0)
        lot = foldLotEvent(
          lot,
          stored({
            type: "ReservationCanceled",
            data: { ...ids, reason: "plans", canceledAt: iso(t), ...window },
          }),
        );
    }
    // Opened 40 hours in: the cancellations of more than 25 hours before are not carried.
    const at = T0 + 40 * 60 * MINUTE;
    const opening = openingOf(liveState(lot.state, at), "lf", 1, at);
    const opened = foldLotEvent(lot, {
      event: opening,
      revision: 0,
      streamId: "parkingLot-lf/1",
    } as unknown as StoredDomainEvent);
    const live = openedState(opening.data);
    expect(summaryOf(registered(opened))).toEqual(summaryOf(live as RegisteredLot));
    expect([...registered(opened).reservations.entries()]).toEqual([
      ...(live as RegisteredLot).reservations.entries(),
    ]);
    expect(registered(opened).reservations.size).toBeLessThan(registered(lot).reservations.size);
    expect(opened.windows).toEqual(windowSteps(registered(opened).occupancy));
    expect(opened.revision).toBe(0);
  });
});
