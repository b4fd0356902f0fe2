/**
 * Issue 66's figures, in one script: CPU per answer (process.cpuUsage around each, warm, median and
 * range of 7) of the reads the "Done when" names, the documents each examines (the
 * request's work meter), and what each does to another caller: the event loop's max delay
 * (perf_hooks monitorEventLoopDelay) while it runs at a steady rate (5 a second) beside a second
 * client's cheap reads (one lot, 50 a second, open loop: latency from when each was due), and that
 * client's p50/p99 with and without the heavy caller.
 *
 * - `lots`: GET /control-center over 2,000 and 10,000 lots (5 bookings each) for an operator of
 *   one lot and of every lot, and an attendant of 200 lots listing `GET /reservations?limit=1000`
 *   (through the views, embedded document store in a file).
 * - `plates`: `GET /reservations?carNumber=77&limit=1000` by a customer with 1,100 bookings whose
 *   plates share `77`, and by an admin, over 32,654 and 100,000 reservations in 200 lots.
 * - `crowd`: `--clients` callers (5) each asking the control center of every lot at limit=1000 once a
 *   second for 5 s over 2,000 lots, beside the second client's cheap reads: that client's p50/p99,
 *   the loop's max delay, the heavy answers' own p50/p99, and whether the event-loop watchdog fired
 *   (EventLoopWatch at EVENT_LOOP_STALL_MS's default, 10 s, its watchdog thread started: a stall
 *   past it ends this process with the watchdog's ERROR line, as in the service).
 * - `roles`: mixed-role tokens (customer+attendant, customer+gate, customer+attendant+gate with a
 *   `*` grant) trying the four escalations, over HTTP against the service in this process (so the
 *   CPU includes the client's side of each request: an upper bound).
 *
 *   nice -n 10 npx tsx bench/bounded-reads.ts      # --only lots,crowd,plates,roles; --lots 2000; --reservations 32654; --clients 5
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventToAppend } from "../event-store/port.js";
import { EventLoopWatch } from "../platform/event-loop-watch.js";
import { createLogger } from "../platform/logger.js";
import { WorkMeter, withWorkMeter } from "../platform/work-budget.js";
import { readViews } from "../read-api/views/views.js";
import { systemActor } from "../schemas/actor.js";
import { encodeEvent } from "../schemas/event-codec.js";
import type { DomainEvent } from "../schemas/events.js";
import { customerHeaders, mintToken } from "../test-support/auth.js";
import { projectedLog, withProjectionIndexes } from "../test-support/projected-log.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import { fixedRate, nowMs } from "./lib/fixed-rate.js";
import { summarize } from "./lib/stats.js";

const T0 = Date.parse("2026-11-23T12:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const lotId = (i: number) => `L${String(i).padStart(5, "0")}`;
const ROUNDS = 7;
type Ask = () => Promise<unknown>;

const booked = (id: string, parkingLotId: string, customerId: string, carNumber: string, k = 0) => ({
  type: "ParkingReserved" as const,
  data: {
    reservationId: id,
    parkingLotId,
    customerId,
    carNumber,
    amount: 1000,
    reservedAt: iso(T0 - 48 * HOUR),
    startsAt: iso(T0 - HOUR + k * HOUR),
    endsAt: iso(T0 + k * HOUR + 30 * 60_000),
  },
});

/** `lots` lots of 50 spots, registered 3 days ago, with `perLot(i)` events each, applied in batches. */
async function seed(
  file: string,
  lots: number,
  perLot: (i: number) => DomainEvent[],
  rest: DomainEvent[] = [],
) {
  const store = SqliteDocumentStore.open({ file });
  await withProjectionIndexes(store);
  const log = projectedLog(new Date(T0));
  // The lots' streams too: the views load each lot's state from them (read-api/views/lots-at.ts).
  const events = SqliteEventStore.open({ file: file.replace(/\.sqlite$/, "-events.sqlite") });
  const streams = new Map<string, EventToAppend[]>();
  const causation = { correlationId: "c", causationId: "c", actor: systemActor("bench") };
  let batch: DomainEvent[] = [];
  const flush = async (at: number) => {
    if (batch.length < at) return;
    await log.apply(store, batch);
    for (const event of batch) {
      const stream = `parkingLot-${(event.data as { parkingLotId: string }).parkingLotId}`;
      streams.set(stream, [...(streams.get(stream) ?? []), encodeEvent(event, causation)]);
    }
    batch = [];
  };
  for (let i = 0; i < lots; i++) {
    const parkingLotId = lotId(i);
    batch.push({
      type: "ParkingLotRegistered",
      data: { parkingLotId, name: parkingLotId, capacity: 100_000, registeredAt: iso(T0 - 72 * HOUR) },
    });
    batch.push(...perLot(i));
    await flush(5_000);
  }
  for (const event of rest) {
    batch.push(event);
    await flush(5_000);
  }
  await flush(0);
  for (const [stream, appended] of streams)
    await events.appendToStream(stream, appended, { expectedRevision: "no_stream" });
  return { store, events };
}

/** CPU per answer (median and range of ROUNDS, warm) and the documents one answer examines. */
async function cpuOf(ask: Ask, metered: boolean) {
  await ask();
  const cpu: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = process.cpuUsage();
    await ask();
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const meter = new WorkMeter("bench", {
    documents: Number.MAX_SAFE_INTEGER,
    events: Number.MAX_SAFE_INTEGER,
  });
  await withWorkMeter(meter, ask).catch(() => undefined);
  cpu.sort((a, b) => a - b);
  const ms = (x: number | undefined) => (x ?? 0).toFixed(1);
  const examined = metered ? `, examined ${meter.documents}` : "";
  return `${ms(cpu[ROUNDS >> 1])} ms CPU (${ms(cpu[0])}–${ms(cpu.at(-1))})${examined}`;
}

/**
 * The cheap reads at 50 a second for 3 s, beside `heavy` at 5 a second (or alone): the cheap
 * reads' p50/p99 from when each was due and the loop's max delay meanwhile.
 */
async function beside(cheap: Ask, heavy?: Ask) {
  const latencies: number[] = [];
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  await Promise.all([
    fixedRate({
      rate: 50,
      durationSec: 3,
      maxInFlight: 1_000,
      task: async (_i, due) => {
        await cheap();
        latencies.push(nowMs() - due);
      },
    }),
    heavy
      ? fixedRate({ rate: 5, durationSec: 3, maxInFlight: 100, task: async () => void (await heavy()) })
      : null,
  ]);
  delay.disable();
  const s = summarize(latencies);
  return { p50: s.p50, p99: s.p99, loopMax: delay.max / 1e6 };
}

/** Each row's cost, then beside the cheap reads; `metered`: read in this context (the work meter sees it). */
async function report(rows: readonly (readonly [string, Ask])[], cheap: Ask, metered = true) {
  const alone = await beside(cheap);
  console.log(
    `  second client alone: p50 ${alone.p50} / p99 ${alone.p99} ms, loop max delay ${alone.loopMax.toFixed(1)} ms`,
  );
  for (const [name, ask] of rows) {
    const cost = await cpuOf(ask, metered);
    const with_ = await beside(cheap, ask);
    console.log(
      `  ${name}: ${cost}; at 5/s: loop max delay ${with_.loopMax.toFixed(1)} ms, ` +
        `second client p50 ${with_.p50} / p99 ${with_.p99} ms`,
    );
  }
}

async function inStore<T>(prefix: string, run: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await run(join(dir, "read-models.sqlite"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Lot i's 5 bookings (one window an hour from an hour ago on). */
const fiveBookings = (i: number) =>
  Array.from({ length: 5 }, (_, k) => {
    const n = i * 5 + k + 1;
    return booked(`r${n}`, lotId(i), `C${n % 97}`, `12가${1000 + (n % 9000)}`, k);
  });

async function lotsBench(lots: number) {
  await inStore("bounded-lots-", async (file) => {
    const { store, events } = await seed(file, lots, fiveBookings);
    const views = readViews(store, { eventStore: events, readYourWritesTimeoutMs: 1_000, now: () => T0 });
    await views.controlCenter.controlCenter({ limit: 100 });
    console.log(`${lots} lots`);
    const one = { every: false, ids: [lotId(3)], prefixes: [] };
    const grant = Array.from({ length: 200 }, (_, i) => lotId(i * 7));
    await report(
      [
        ["operator of one lot", () => views.controlCenter.controlCenter({ limit: 100, within: one })],
        ["operator of every lot, limit=100", () => views.controlCenter.controlCenter({ limit: 100 })],
        ["operator of every lot, limit=1000", () => views.controlCenter.controlCenter({ limit: 1000 })],
        [
          "attendant of 200 lots, GET /reservations?limit=1000",
          () => views.reservations.reservations({ parkingLotIds: grant, limit: 1000 }),
        ],
      ],
      () => views.lots.parkingLot(lotId(11)),
    );
    await store.close();
    await events.close();
  });
}

/** EVENT_LOOP_STALL_MS's default: past it the service's watchdog ends the process. */
const STALL_BOUND_MS = 10_000;

/**
 * `clients` callers each asking `heavy` once a second (open loop) for 5 s beside the cheap reads at
 * 50 a second, under the service's event-loop watch and watchdog thread.
 */
async function crowd(cheap: Ask, heavy: Ask, clients: number) {
  const logger = createLogger("error", { bench: "bounded-reads" }, "pretty", true);
  const watch = new EventLoopWatch(STALL_BOUND_MS, logger).start();
  await watch.startWatchdog({ level: "error", output: "pretty", base: { bench: "bounded-reads" } });
  const cheapLatencies: number[] = [];
  const heavyLatencies: number[] = [];
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const timed = (into: number[], ask: Ask) => async (_i: number, due: number) => {
    await ask();
    into.push(nowMs() - due);
  };
  await Promise.all([
    fixedRate({ rate: 50, durationSec: 5, maxInFlight: 1_000, task: timed(cheapLatencies, cheap) }),
    ...Array.from({ length: clients }, () =>
      fixedRate({ rate: 1, durationSec: 5, maxInFlight: 100, task: timed(heavyLatencies, heavy) }),
    ),
  ]);
  delay.disable();
  const stalls = watch.stalls();
  await watch.stop();
  const c = summarize(cheapLatencies);
  const h = summarize(heavyLatencies);
  console.log(
    `  ${clients} clients × every lot, limit=1000, 1/s each: second client p50 ${c.p50} / p99 ${c.p99} ms, ` +
      `loop max delay ${(delay.max / 1e6).toFixed(1)} ms, heavy answers p50 ${h.p50} / p99 ${h.p99} ms ` +
      `(${h.count}), watchdog stalls ${stalls} (bound ${STALL_BOUND_MS} ms)`,
  );
}

async function crowdBench(lots: number, clients: number) {
  await inStore("bounded-crowd-", async (file) => {
    const { store, events } = await seed(file, lots, fiveBookings);
    const views = readViews(store, { eventStore: events, readYourWritesTimeoutMs: 1_000, now: () => T0 });
    await views.controlCenter.controlCenter({ limit: 1000 });
    console.log(`${lots} lots, ${clients} clients`);
    const cheap = () => views.lots.parkingLot(lotId(11));
    const alone = await beside(cheap);
    console.log(
      `  second client alone: p50 ${alone.p50} / p99 ${alone.p99} ms, loop max delay ${alone.loopMax.toFixed(1)} ms`,
    );
    await crowd(cheap, () => views.controlCenter.controlCenter({ limit: 1000 }), clients);
    await store.close();
  });
}

const MINE = 1_100;
async function platesBench(reservations: number) {
  await inStore("bounded-plates-", async (file) => {
    const every = Math.floor(reservations / MINE);
    const events = Array.from({ length: reservations }, (_, k) =>
      // Customer C1's bookings spread through the log; every other one is another customer's.
      k % every === 0 && k / every < MINE
        ? booked(`r${k}`, lotId(k % 200), "C1", `77가${String(k).padStart(6, "0")}`, 2)
        : booked(`r${k}`, lotId(k % 200), `C${2 + (k % 5000)}`, `${10 + (k % 60)}나${1000 + (k % 9000)}`, 2),
    );
    const seeded = await seed(file, 200, () => [], events);
    const store = seeded.store;
    const views = readViews(store, {
      eventStore: seeded.events,
      readYourWritesTimeoutMs: 1_000,
      now: () => T0,
    });
    console.log(`${reservations} reservations in 200 lots`);
    await report(
      [
        [
          "customer plate search, limit=1000",
          () => views.reservations.reservations({ customerId: "C1", carNumber: "77", limit: 1000 }),
        ],
        [
          "admin plate search, limit=1000",
          () => views.reservations.reservations({ carNumber: "77", limit: 1000 }),
        ],
      ],
      () => views.lots.parkingLot(lotId(11)),
    );
    await store.close();
    await seeded.events.close();
  });
}

async function rolesBench() {
  const data = tempDataDir("bounded-roles-");
  const service = await startTestService(data.dir);
  try {
    const lot = "mixed-1";
    await call(service.url, "POST", "/parking-lots", { parkingLotId: lot, name: lot, capacity: 50 });
    const other = await customerHeaders(data.dir, "OTHER");
    const theirs = await call<{ reservationId: string }>(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations`,
      { customerId: "OTHER", carNumber: "12가3456", amount: 1000 },
      other,
    );
    const send = async (headers: Record<string, string>, method: string, path: string, body?: unknown) => {
      const answer = await call(service.url, method, path, body, headers);
      return answer.status;
    };
    console.log("mixed-role tokens trying the four escalations (HTTP, in process)");
    const shapes = [
      ["customer+attendant", ["customer", "attendant"], [lot]],
      ["customer+gate", ["customer", "gate"], [lot]],
      ["customer+attendant+gate, lots *", ["customer", "attendant", "gate"], ["*"]],
    ] as const;
    const rows: [string, Ask][] = [];
    for (const [name, roles, lots] of shapes) {
      const token = await mintToken(data.dir, { sub: "MIXED", role: roles, lots });
      const h = { authorization: `Bearer ${token}` };
      const tries: [string, Ask][] = [
        [
          "book for another",
          () =>
            send(h, "POST", `/parking-lots/${lot}/reservations`, {
              customerId: "OTHER",
              carNumber: "34나5678",
              amount: 1000,
            }),
        ],
        [
          "cancel another's",
          () => send(h, "DELETE", `/parking-lots/${lot}/reservations/${theirs.body.reservationId}`),
        ],
        ["read another's coupons", () => send(h, "GET", "/customers/OTHER/coupons")],
        ["erase another", () => send(h, "POST", "/customers/OTHER/erasure", { reason: "bench" })],
      ];
      for (const [what, ask] of tries) rows.push([`${name}, ${what} → ${await ask()}`, ask]);
    }
    await report(rows, () => call(service.url, "GET", `/parking-lots/${lot}`, undefined, other), false);
  } finally {
    await service.shutdown("bench done");
    data.remove();
  }
}

const { values } = parseArgs({
  options: {
    only: { type: "string", default: "lots,crowd,plates,roles" },
    clients: { type: "string", default: "5" },
    lots: { type: "string", default: "2000,10000" },
    reservations: { type: "string", default: "32654,100000" },
  },
});
const only = new Set((values.only ?? "").split(","));
const sizes = (list: string | undefined) => (list ?? "").split(",").map(Number);
if (only.has("roles")) await rolesBench();
if (only.has("lots")) for (const lots of sizes(values.lots)) await lotsBench(lots);
if (only.has("crowd"))
  for (const lots of sizes(values.lots)) await crowdBench(Math.max(lots, 2_000), Number(values.clients));
if (only.has("plates")) for (const n of sizes(values.reservations)) await platesBench(n);
