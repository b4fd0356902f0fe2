/**
 * The heap a lot's decider state and its windows' step tree hold per entry, as time travel carries
 * them along a fold (read-api/time-travel/lot-fold.ts) and counts them in its checkpoints' byte
 * budget (`LOT_STATE_ENTRY_BYTES` an entry of `lotFoldEntries`): 20,000 bookings of one lot (every
 * tenth open-ended, a third of them in the lot), folded fact by fact, the heap measured after a
 * full collection before and after.
 *
 *   node --expose-gc --import tsx bench/lot-state-bytes.ts
 */

import {
  emptyLotFold,
  foldLotEvent,
  LOT_STATE_ENTRY_BYTES,
  lotFoldEntries,
} from "../read-api/time-travel/lot-fold.js";
import type { StoredDomainEvent } from "../schemas/event-codec.js";
import type { ParkingLotEvent } from "../write-side/parking-lot/decider.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc --import tsx");

const NOW = Date.parse("2030-05-01T09:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const BOOKINGS = 20_000;

let revision = 0;
const stored = (event: ParkingLotEvent): StoredDomainEvent =>
  ({ event, revision: revision++, streamId: "parkingLot-bench" }) as unknown as StoredDomainEvent;

function* events(): Generator<ParkingLotEvent> {
  yield {
    type: "ParkingLotRegistered",
    data: { parkingLotId: "bench", name: "bench", capacity: BOOKINGS + 10, registeredAt: iso(NOW - HOUR) },
  };
  for (let i = 0; i < BOOKINGS; i++) {
    const start = NOW + ((i * 7919) % (22 * 60)) * 60_000;
    const window = i % 10 === 9 ? {} : { startsAt: iso(start), endsAt: iso(start + (1 + (i % 3)) * HOUR) };
    const ids = { reservationId: `r-${i}`, parkingLotId: "bench", customerId: `c-${i % 997}` };
    yield {
      type: "ParkingReserved",
      data: { ...ids, carNumber: "10더8612", amount: 1000, reservedAt: iso(NOW - HOUR), ...window },
    };
    if (i % 3 === 0) yield { type: "ReservationCheckedIn", data: { ...ids, checkedInAt: iso(start) } };
  }
}

// The events made one by one and dropped: what stays is what the state keeps of them.
gc();
const before = process.memoryUsage().heapUsed;
let lot = emptyLotFold;
for (const event of events()) lot = foldLotEvent(lot, stored(event));
gc();
const used = process.memoryUsage().heapUsed - before;
const entries = lotFoldEntries(lot);
console.log(
  `${BOOKINGS.toLocaleString("en-US")} bookings: ${entries.toLocaleString("en-US")} entries, ` +
    `${(used / 1e6).toFixed(1)} MB of heap, ${(used / entries).toFixed(0)} bytes an entry ` +
    `(counted at ${LOT_STATE_ENTRY_BYTES})`,
);
