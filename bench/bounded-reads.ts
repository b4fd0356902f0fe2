/**
 * Issue 66's figures for the control center and a scoped staff listing: CPU per answer
 * (process.cpuUsage around each read, in-process, through the views) of GET /control-center over
 * 2,000 and 10,000 lots for an operator of one lot and of every lot (the default page of 100, and
 * the largest, 1,000), and of an attendant's listing (`GET /reservations?limit=1000`) over 200
 * lots of 5 bookings each; with what each answer examines (the request's work meter) and the
 * event loop's max delay (perf_hooks) while the answers were computed, which is what another
 * caller's read would have waited at most. Warm: each answer is asked once first.
 *
 *   nice -n 10 npx tsx bench/control-center.ts            # --sizes 2000 for one
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { WorkMeter, withWorkMeter } from "../platform/work-budget.js";
import { readViews } from "../read-api/views/views.js";
import type { DomainEvent } from "../schemas/events.js";
import { projectedLog, withProjectionIndexes } from "../test-support/projected-log.js";

const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const lotId = (i: number) => `L${String(i).padStart(5, "0")}`;
const ROUNDS = 7;

async function seed(file: string, lots: number): Promise<SqliteDocumentStore> {
  const store = SqliteDocumentStore.open({ file });
  await withProjectionIndexes(store);
  const log = projectedLog(new Date(T0));
  let batch: DomainEvent[] = [];
  let n = 0;
  for (let i = 0; i < lots; i++) {
    const parkingLotId = lotId(i);
    batch.push({
      type: "ParkingLotRegistered",
      data: { parkingLotId, name: parkingLotId, capacity: 50, registeredAt: iso(T0 - 72 * HOUR) },
    });
    for (let k = 0; k < 5; k++) {
      n++;
      batch.push({
        type: "ParkingReserved",
        data: {
          reservationId: `r${n}`,
          parkingLotId,
          customerId: `C${n % 97}`,
          carNumber: `12가${1000 + (n % 9000)}`,
          amount: 1000,
          reservedAt: iso(T0 - 48 * HOUR),
          startsAt: iso(T0 - HOUR + k * HOUR),
          endsAt: iso(T0 + k * HOUR + 30 * 60_000),
        },
      });
    }
    if (batch.length >= 6_000) {
      await log.apply(store, batch);
      batch = [];
    }
  }
  await log.apply(store, batch);
  return store;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function measure(ask: () => Promise<unknown>) {
  await ask();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const cpu: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = process.cpuUsage();
    await ask();
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
    await new Promise((resolve) => setImmediate(resolve));
  }
  delay.disable();
  const meter = new WorkMeter("bench", {
    documents: Number.MAX_SAFE_INTEGER,
    events: Number.MAX_SAFE_INTEGER,
  });
  await withWorkMeter(meter, ask);
  return `${median(cpu).toFixed(1)} ms CPU, examined ${meter.documents}, loop max delay ${(delay.max / 1e6).toFixed(1)} ms`;
}

const { values } = parseArgs({ options: { sizes: { type: "string", default: "2000,10000" } } });
for (const lots of (values.sizes ?? "").split(",").map(Number)) {
  const dir = mkdtempSync(join(tmpdir(), "control-center-bench-"));
  try {
    const started = Date.now();
    const store = await seed(join(dir, "read-models.sqlite"), lots);
    const views = readViews(store, { readYourWritesTimeoutMs: 1_000, now: () => T0 });
    const seeded = ((Date.now() - started) / 1000).toFixed(0);
    const first = Date.now();
    await views.controlCenter.controlCenter({ limit: 100 });
    console.log(
      `${lots} lots (seeded in ${seeded} s); first read after a start ${Date.now() - first} ms wall`,
    );
    const one = { every: false, ids: [lotId(3)], prefixes: [] };
    const grant = { every: false, ids: Array.from({ length: 200 }, (_, i) => lotId(i * 7)), prefixes: [] };
    const rows: [string, () => Promise<unknown>][] = [
      ["operator of one lot", () => views.controlCenter.controlCenter({ limit: 100, within: one })],
      ["operator of every lot, limit=100", () => views.controlCenter.controlCenter({ limit: 100 })],
      ["operator of every lot, limit=1000", () => views.controlCenter.controlCenter({ limit: 1000 })],
      [
        "attendant of 200 lots, GET /reservations?limit=1000",
        () => views.reservations.reservations({ parkingLotIds: grant.ids, limit: 1000 }),
      ],
    ];
    for (const [name, ask] of rows) console.log(`  ${name}: ${await measure(ask)}`);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
