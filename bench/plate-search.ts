/**
 * Issue 66's reproduction: CPU per answer of a plate search at the largest page (`limit=1000`) by a
 * customer with 1,100 bookings whose plates share a fragment (`77`), and the same search by an
 * admin (every lot), over the read models of 32,654 and 100,000 reservations in the embedded
 * document store (a file, as the service runs it), read through the views. Warm: each answer is
 * asked once before it is measured (the lots' states kept). With the documents each answer
 * examines (the request's work meter).
 *
 *   nice -n 10 npx tsx bench/plate-search.ts            # both sizes; --sizes 32654 for one
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { WorkMeter, withWorkMeter } from "../platform/work-budget.js";
import { readViews } from "../read-api/views/views.js";
import type { DomainEvent } from "../schemas/events.js";
import { projectedLog, withProjectionIndexes } from "../test-support/projected-log.js";

const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const LOTS = 200;
const MINE = 1_100;
const ROUNDS = 7;

const booked = (id: string, parkingLotId: string, customerId: string, carNumber: string): DomainEvent => ({
  type: "ParkingReserved",
  data: {
    reservationId: id,
    parkingLotId,
    customerId,
    carNumber,
    amount: 1000,
    reservedAt: iso(T0 - 2 * HOUR),
    startsAt: iso(T0 + HOUR),
    endsAt: iso(T0 + 2 * HOUR),
  },
});

async function seed(file: string, reservations: number): Promise<SqliteDocumentStore> {
  const store = SqliteDocumentStore.open({ file });
  await withProjectionIndexes(store);
  const log = projectedLog(new Date(T0));
  await log.apply(
    store,
    Array.from({ length: LOTS }, (_, k) => ({
      type: "ParkingLotRegistered" as const,
      data: { parkingLotId: `L${k}`, name: `L${k}`, capacity: 100_000, registeredAt: iso(T0 - 24 * HOUR) },
    })),
  );
  let batch: DomainEvent[] = [];
  for (let k = 0; k < reservations; k++) {
    // Customer C1's bookings spread through the log; every other one is another customer's.
    const mine = k % Math.floor(reservations / MINE) === 0 && k / Math.floor(reservations / MINE) < MINE;
    batch.push(
      mine
        ? booked(`r${k}`, `L${k % LOTS}`, "C1", `77가${String(k).padStart(6, "0")}`)
        : booked(`r${k}`, `L${k % LOTS}`, `C${2 + (k % 5000)}`, `${10 + (k % 60)}나${1000 + (k % 9000)}`),
    );
    if (batch.length === 5_000) {
      await log.apply(store, batch);
      batch = [];
    }
  }
  await log.apply(store, batch);
  return store;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function measure(ask: () => Promise<unknown>): Promise<{ cpuMs: number; examined: number | string }> {
  await ask();
  const cpu: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = process.cpuUsage();
    await ask();
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
  }
  const meter = new WorkMeter("bench", {
    documents: Number.MAX_SAFE_INTEGER,
    events: Number.MAX_SAFE_INTEGER,
  });
  let examined: number | string;
  try {
    await withWorkMeter(meter, ask);
    examined = meter.documents;
  } catch (error) {
    examined = `refused (${(error as Error).name})`;
  }
  return { cpuMs: median(cpu), examined };
}

const { values } = parseArgs({ options: { sizes: { type: "string", default: "32654,100000" } } });
for (const size of (values.sizes ?? "").split(",").map(Number)) {
  const dir = mkdtempSync(join(tmpdir(), "plate-search-bench-"));
  try {
    const started = Date.now();
    const store = await seed(join(dir, "read-models.sqlite"), size);
    const views = readViews(store, { readYourWritesTimeoutMs: 1_000, now: () => T0 });
    const seeded = ((Date.now() - started) / 1000).toFixed(0);
    const customer = await measure(() =>
      views.reservations.reservations({ customerId: "C1", carNumber: "77", limit: 1000 }),
    );
    const admin = await measure(() => views.reservations.reservations({ carNumber: "77", limit: 1000 }));
    console.log(
      `${size} reservations (seeded in ${seeded} s): customer plate search limit=1000: ` +
        `${customer.cpuMs.toFixed(1)} ms CPU, examined ${customer.examined}; ` +
        `admin: ${admin.cpuMs.toFixed(1)} ms CPU, examined ${admin.examined}`,
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
