/**
 * CPU per answer of the lot's figures (timeline, quote, lot view with free now and the next hours)
 * at 500 and at 20,000 active bookings, read through the query service over the read models the
 * projections build (in memory, as time travel reads them), the way issue 34 asks: a read's work
 * may grow with its answer, and with a lot's active bookings only logarithmically.
 *
 *   nice -n 10 npx tsx bench/lot-figures.ts
 *
 * Per size: "warm" is an answer at a position already answered (the lot's state and its occupancy
 * timeline cached: a lookup per step); "new fact" is the first answer after one more booking (the
 * facts since folded in, the timeline built again). Rounds alternate between the sizes.
 */
import { PROJECTIONS } from "../projections/read-models/index.js";
import { QueryService } from "../read-api/query-service.js";
import { FoldState } from "../read-api/time-travel/fold-state.js";
import type { StoredDomainEvent } from "../schemas/event-codec.js";
import type { ParkingLotEvent } from "../write-side/parking-lot/decider.js";

const NOW = Date.parse("2030-05-01T09:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

interface Lot {
  readonly fold: FoldState;
  readonly queries: QueryService;
  revision: number;
}

function stored(event: ParkingLotEvent, revision: number): StoredDomainEvent {
  return {
    event,
    id: `e-${revision}`,
    streamId: "parkingLot-bench",
    revision,
    position: { commit: revision + 1, prepare: revision + 1 },
    metadata: { correlationId: "c", causationId: "c", schemaVersion: 1 },
    createdAt: new Date(NOW),
  } as unknown as StoredDomainEvent;
}

function lotWith(active: number): Lot {
  const fold = new FoldState(PROJECTIONS);
  const lot: Lot = { fold, queries: undefined as unknown as QueryService, revision: 0 };
  fold.apply(
    stored(
      {
        type: "ParkingLotRegistered",
        data: {
          parkingLotId: "bench",
          name: "bench",
          capacity: active + 10,
          registeredAt: iso(NOW - HOUR),
          hourlyRate: 1000,
        },
      },
      0,
    ),
  );
  for (let i = 0; i < active; i++) book(lot, i);
  const store = fold.materialize({ commit: lot.revision + 1, prepare: lot.revision + 1 });
  (lot as { queries: QueryService }).queries = new QueryService(store, {
    readYourWritesTimeoutMs: 0,
    now: () => NOW,
  });
  return lot;
}

/** One more booking: windows of 1-3 hours spread over the next day, every tenth open-ended. */
function book(lot: Lot, i: number): void {
  lot.revision++;
  const start = NOW + ((i * 7919) % (22 * 60)) * 60_000;
  const window = i % 10 === 9 ? {} : { startsAt: iso(start), endsAt: iso(start + (1 + (i % 3)) * HOUR) };
  lot.fold.apply(
    stored(
      {
        type: "ParkingReserved",
        data: {
          reservationId: `r-${i}`,
          parkingLotId: "bench",
          customerId: `c-${i % 997}`,
          carNumber: "10더8612",
          amount: 1000,
          reservedAt: iso(NOW - HOUR),
          ...window,
        },
      },
      lot.revision,
    ),
  );
  lot.fold.materialize({ commit: lot.revision + 1, prepare: lot.revision + 1 });
}

const answers = {
  timeline: (q: QueryService) => q.timeline("bench", { stepMinutes: 15 }),
  quote: (q: QueryService) => q.availability("bench", NOW + 3 * HOUR, NOW + 5 * HOUR),
  lotView: (q: QueryService) => q.parkingLotDetail("bench"),
};

async function cpuMs(run: () => Promise<unknown>, times: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < times; i++) await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / times;
}

async function main() {
  const sizes = [500, 20_000];
  const lots = new Map(sizes.map((n) => [n, lotWith(n)]));
  const figures = new Map<string, number[]>();
  const note = (key: string, ms: number) => figures.set(key, [...(figures.get(key) ?? []), ms]);
  let next = 1_000_000;
  for (let round = 0; round < 5; round++) {
    for (const n of round % 2 === 0 ? sizes : [...sizes].reverse()) {
      const lot = lots.get(n) as Lot;
      for (const [name, answer] of Object.entries(answers)) {
        await answer(lot.queries); // warm the position
        note(`${name} warm @${n}`, await cpuMs(() => answer(lot.queries), 200));
        note(
          `${name} new fact @${n}`,
          await cpuMs(async () => {
            book(lot, next++);
            await answer(lot.queries);
          }, 5),
        );
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  for (const [key, values] of figures)
    console.log(
      `${key.padEnd(28)} ${median(values).toFixed(3)} ms CPU per answer (median of ${values.length} rounds)`,
    );
  for (const name of Object.keys(answers))
    for (const kind of ["warm", "new fact"]) {
      const small = median(figures.get(`${name} ${kind} @500`) ?? [1]);
      const big = median(figures.get(`${name} ${kind} @20000`) ?? [1]);
      console.log(`${`${name} ${kind}`.padEnd(20)} 20,000 / 500 = ${(big / small).toFixed(2)}×`);
    }
}

await main();
