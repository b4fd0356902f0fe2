/**
 * The heap a lot's decider state and its windows' step tree hold, as the read side's one loader
 * keeps them (read-api/views/lots-at.ts) and counts them in its byte bound (`keptBytes`: its
 * entries at LOT_STATE_ENTRY_BYTES each): 20,000 bookings of one lot (every tenth open-ended, a
 * third of them in the lot) in an embedded event store, loaded, the heap measured after a full
 * collection before and after.
 *
 *   node --expose-gc --import tsx bench/lot-state-bytes.ts
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { LotsAt } from "../read-api/views/lots-at.js";
import { systemActor } from "../schemas/actor.js";
import { encodeEvent } from "../schemas/event-codec.js";
import type { ParkingLotEvent } from "../write-side/parking-lot/decider.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc --import tsx");

const NOW = Date.parse("2030-05-01T09:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const BOOKINGS = 20_000;

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

const dir = mkdtempSync(join(tmpdir(), "lot-state-bytes-"));
const store = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
const all = [...events()].map((e) =>
  encodeEvent(e, { correlationId: "c", causationId: "c", actor: systemActor("bench") }),
);
let revision: number | "no_stream" = "no_stream";
for (let from = 0; from < all.length; from += 1_000) {
  const batch = all.slice(from, from + 1_000);
  revision = (await store.appendToStream("parkingLot-bench", batch, { expectedRevision: revision }))
    .nextExpectedRevision;
}
const lots = new LotsAt(store, 1);
// What stays after the load is what the kept state holds of the events read.
gc();
const before = process.memoryUsage().heapUsed;
await lots.at("bench");
gc();
const used = process.memoryUsage().heapUsed - before;
const counted = lots.keptBytes;
console.log(
  `${BOOKINGS.toLocaleString("en-US")} bookings: ${(used / 1e6).toFixed(1)} MB of heap kept, ` +
    `counted as ${(counted / 1e6).toFixed(1)} MB (${(counted / used).toFixed(2)}x)`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
