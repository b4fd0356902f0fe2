import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { useDataKeysOf } from "../app/personal-data.js";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore, WriteOp } from "../document-store/port.js";
import { PostgresDocumentStore } from "../document-store/postgres/pg-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../platform/logger.js";
import { startProcessors } from "../projections/processors.js";
import { systemActor } from "../schemas/actor.js";
import { startPostgres } from "../test-support/postgres/cluster.js";
import { plateFor, seedLotEvents } from "../test-support/seed.js";
import { eventually, tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";

/**
 * How many read-model document writes one booking causes across the projections and reactors
 * (issue 50): the processors follow the log live while bookings by new customers arrive
 * `--concurrency` at a time (64: the reserve load's connections; 1: one at a time), through a
 * document store that counts every op of every write() by collection and kind.
 *
 * `--postgres`: the read models in PostgreSQL (issue 70; Debian's server in a temporary folder on
 * loopback, fsync off as the embedded file syncs at checkpoints only; `--durable`: fsync and
 * synchronous commit on). Its write() waits on the server: "CPU in write()" is then this process's
 * side of it only.
 *
 *   npx tsx bench/read-model-writes.ts [--bookings 2000] [--concurrency 64] [--postgres [--durable]]
 */
const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const bookings = arg("bookings", 2000);
const concurrency = arg("concurrency", 64);

const ops = new Map<string, number>();
let writes = 0;
/** Time inside write(), ms (its SQLite transaction, the ops applied, the documents stored). */
let writeMs = 0;
/** CPU inside write(), ms: its work is synchronous (better-sqlite3), so the process's CPU over the call. */
let writeCpuMs = 0;
/** The last write() that stored a reservation: when it started and ended. */
let lastVisibleWrite = { started: 0, ended: 0 };
const counted = (store: DocumentStore): DocumentStore =>
  new Proxy(store, {
    get(target, property, receiver) {
      if (property !== "write") {
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (batch: readonly WriteOp[]) => {
        writes++;
        const seen = new Set<string>();
        for (const op of batch) {
          const doc = `${op.collection.replace(/_g\d+$/, "")} ${"id" in op ? op.id : JSON.stringify(op.filter)}`;
          if (!seen.has(doc)) {
            seen.add(doc);
            const key = `${op.collection.replace(/_g\d+$/, "")} (documents)`;
            ops.set(key, (ops.get(key) ?? 0) + 1);
          }
          const key = `${op.collection.replace(/_g\d+$/, "")} ${op.op}`;
          ops.set(key, (ops.get(key) ?? 0) + 1);
        }
        const started = performance.now();
        const visibleIn = batch.some((op) => op.collection.startsWith("reservations"));
        const cpu = process.cpuUsage();
        const written = target.write(batch);
        const spent = process.cpuUsage(cpu);
        writeCpuMs += (spent.user + spent.system) / 1000;
        return written.finally(() => {
          const ended = performance.now();
          writeMs += ended - started;
          if (visibleIn) lastVisibleWrite = { started, ended };
        });
      };
    },
  });

const data = tempDataDir("parking-writes-");
useDataKeysOf({ dataDir: data.dir });
const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
const postgres = process.argv.includes("--postgres")
  ? await startPostgres({ durable: process.argv.includes("--durable") })
  : undefined;
const docs: DocumentStore = postgres
  ? await PostgresDocumentStore.open({ url: await postgres.createDatabase("read_model_writes") })
  : SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
const group = await startProcessors({
  eventStore: events,
  documentStore: counted(docs),
  logger: createLogger("silent"),
  batchSize: 500,
  settings: {},
  lease: { ttlMs: 60_000, renewMs: 20_000 },
});
const lots = 100;
await seedLotEvents(events, { lots, capacity: 100_000, reservations: 0, cancellations: 0, concurrency });
await eventually(async () => (group.status().every((s) => s.caughtUp) ? true : undefined), 60_000);
ops.clear();
writes = 0;
writeMs = 0;
writeCpuMs = 0;
const phaseCpu = process.cpuUsage();
const visible: number[] = [];
/** Per booking one at a time: ack → its batch's write() starts, the write(), write() → both reached. */
const stages: [number, number, number][] = [];
const handler = new ParkingLotCommandHandler(events, { retryLimit: 20, cacheSize: 10_000 });
let next = 0;
const book = async () => {
  for (let i = next++; i < bookings; i = next++) {
    const outcome = await handler.handle(
      {
        type: "ReserveParking",
        reservationId: `r${i}`,
        parkingLotId: `lot-${(i % lots) + 1}`,
        customerId: `CUST${i}`,
        carNumber: plateFor(i),
        amount: 1000,
        now: new Date().toISOString(),
      },
      { correlationId: randomUUID(), commandId: randomUUID(), actor: systemActor("bench") },
    );
    if (!outcome.ok || !outcome.position) throw new Error(`refused: ${JSON.stringify(outcome)}`);
    if (concurrency === 1) {
      // Ack → visible without HTTP or the thread hop: the projection a reservation's read waits on
      // (its lot's state is loaded from the event store: lots-at.ts).
      const acked = performance.now();
      await group.whenReached("reservations", outcome.position);
      const seen = performance.now();
      visible.push(seen - acked);
      stages.push([
        lastVisibleWrite.started - acked,
        lastVisibleWrite.ended - lastVisibleWrite.started,
        seen - lastVisibleWrite.ended,
      ]);
      await sleep(2);
    }
  }
};
await Promise.all(Array.from({ length: concurrency }, book));
await eventually(async () => (group.status().every((s) => s.caughtUp) ? true : undefined), 60_000);
const phaseSpent = process.cpuUsage(phaseCpu);
const perBooking = (n: number) => Math.round((n / bookings) * 100) / 100;
console.log(
  `${bookings} bookings by new customers, ${concurrency} at a time, read models ${postgres ? "in PostgreSQL" : "embedded"}`,
);
console.log(`write() calls per booking: ${perBooking(writes)}, ${(writeMs / writes).toFixed(3)} ms each`);
console.log(`time in write() per booking: ${(writeMs / bookings).toFixed(3)} ms`);
console.log(`CPU in write() per booking: ${(writeCpuMs / bookings).toFixed(3)} ms`);
console.log(
  `CPU per booking, the whole process (commands, processors, GC): ${((phaseSpent.user + phaseSpent.system) / 1000 / bookings).toFixed(3)} ms`,
);
let total = 0;
for (const [key, n] of [...ops].sort((a, b) => b[1] - a[1])) {
  total += n;
  console.log(`  ${key.padEnd(40)} ${perBooking(n)}`);
}
console.log(`document ops per booking: ${perBooking(total)}`);
if (visible.length > 0) {
  const sorted = visible.sort((a, b) => a - b);
  const at = (q: number) =>
    (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(2);
  console.log(`ack → reservations and lot facts committed (in-process): p50 ${at(0.5)} / p99 ${at(0.99)} ms`);
  const mid = (i: number) =>
    (stages.map((s) => s[i] as number).sort((a, b) => a - b)[stages.length >> 1] as number).toFixed(2);
  console.log(`  medians: ack → write() ${mid(0)}, write() ${mid(1)}, write() → reached ${mid(2)} ms`);
}
await group.stop();
await events.close();
await docs.close();
await postgres?.stop();
data.remove();
