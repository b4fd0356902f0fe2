import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { v7 as uuidv7 } from "uuid";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventToAppend, RecordedEvent } from "../event-store/port.js";
import { validTraceparent } from "../platform/tracing.js";
import { couponStream } from "../projections/coupon-policy/coupon-policy.js";
import { type Causation, decodeEvent, encodeEvent } from "../schemas/event-codec.js";
import { parkingLotStream } from "../write-side/parking-lot/decider.js";
import { causation, couponIssued, lotRegistered, parkingReserved } from "./lib/domain.js";
import { batchMeans } from "./lib/stats.js";

/*
 * Issue 22: what carrying a traceparent in the events costs a reservation, the work it adds and
 * nothing else, on the real codec and the real embedded store. With tracing on, the events a request
 * causes (the reservation, and the coupon the policy issues for it) carry its traceparent, so each
 * of those two events is validated with it, written to the log with it (JSON, SQLite), relayed
 * between the threads (the coupon's append is a structured clone), read back and decoded with it
 * by the processors; with tracing off nothing is carried (platform/http/tracing.ts), which this
 * measured first. A round does that for N reservations, with a traceparent or without, in
 * alternating rounds; the cost is the CPU of the rounds with one less the mean of the rounds on
 * either side. The service spends ~0.6–1.2 ms of CPU on a reservation (BENCHMARKS.md): the µs here
 * over that is the share of its throughput.
 *
 *   npx tsx bench/tracing-carry.ts        env: ROUNDS (16), N (reservations a round, 2000)
 *   STORE=0 npx tsx bench/tracing-carry.ts  the codec's part alone, no store: each event validated,
 *                                          written as JSON, relayed (a structured clone), parsed and
 *                                          decoded, as the service's group-committed log adds little
 *                                          per byte beside it (tracing on carries the same bytes)
 */

const rounds = Number(process.env.ROUNDS ?? 16);
const withStore = process.env.STORE !== "0";
const perRound = Number(process.env.N ?? 2_000);
const LOTS = 50;

const traceparents = Array.from(
  { length: 4096 },
  () => `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`,
);

const dir = mkdtempSync(join(tmpdir(), "bench-tracing-carry-"));
const store = SqliteEventStore.open({ file: join(dir, "events.db") });
const lots = Array.from({ length: LOTS }, (_, i) => `lot-${i + 1}`);
const revisions = new Map<string, number>();
let reservations = 0;

/** What the edge and the log do with N reservations, with a traceparent or without: µs of CPU each. */
async function round(carry: boolean): Promise<number> {
  const now = new Date().toISOString();
  const start = process.cpuUsage();
  const from = await headPosition();
  for (let k = 0; k < perRound; k++) {
    const i = reservations++;
    // The edge: the header checked (with tracing off, the rest of the middleware is a WeakMap entry).
    const traceparent = carry ? validTraceparent(traceparents[i % 4096]) : validTraceparent(undefined);
    // Built as the service builds a command's causation (properties, not a spread then one more:
    // on Node 20 that alone would cost more than what is measured).
    const cause = withTraceparent(causation(), traceparent);
    const lot = lots[i % LOTS] as string;
    const id = uuidv7();
    if (!withStore) {
      codecOnly(encodeEvent(parkingReserved(id, lot, i, now), cause));
      codecOnly(structuredClone(encodeEvent(couponIssued(id, lot, i, now), cause)));
      continue;
    }
    const stream = parkingLotStream(lot);
    const revision = revisions.get(stream) ?? 0;
    await store.appendToStream(stream, [encodeEvent(parkingReserved(id, lot, i, now), cause)], {
      expectedRevision: revision,
    });
    revisions.set(stream, revision + 1);
    // The coupon policy's event, carried on with the reservation's traceparent, relayed to the writer.
    const coupon = structuredClone(encodeEvent(couponIssued(id, lot, i, now), cause));
    await store.appendToStream(couponStream(id), [coupon], { expectedRevision: "no_stream" });
  }
  if (!withStore) {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / perRound;
  }
  // The processors read every event back and decode it once.
  let decoded = 0;
  for await (const raw of store.readAll(from ? { from } : {})) {
    decodeEvent(raw as RecordedEvent);
    decoded++;
  }
  if (decoded < perRound * 2) throw new Error(`read back ${decoded} events of ${perRound * 2}`);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / perRound;
}

function withTraceparent(cause: Causation, traceparent: string | undefined): Causation {
  if (!traceparent) return cause;
  return {
    correlationId: cause.correlationId,
    causationId: cause.causationId,
    actor: cause.actor,
    traceparent,
  };
}

/** An event as the log writes it (JSON), read back (parsed) and decoded by a processor. */
function codecOnly(event: EventToAppend): void {
  const written = { data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata) };
  const read = {
    id: "bench",
    type: event.type,
    streamId: "bench",
    revision: 0,
    position: { commit: 1, prepare: 1 },
    createdAt: new Date(),
    data: JSON.parse(written.data),
    metadata: JSON.parse(written.metadata),
  } as unknown as RecordedEvent;
  decodeEvent(read);
}

interface Round {
  readonly carry: boolean;
  readonly us: number;
}

/** The log's head, to read a round's events from. */
async function headPosition() {
  let last: RecordedEvent["position"] | undefined;
  for await (const raw of store.readAll({ direction: "backwards", maxCount: 1 })) last = raw.position;
  return last;
}

try {
  for (const lot of lots) {
    await store.appendToStream(
      parkingLotStream(lot),
      [encodeEvent(lotRegistered(lot, 100_000, new Date().toISOString()), causation())],
      { expectedRevision: "no_stream" },
    );
    revisions.set(parkingLotStream(lot), 0);
  }
  // Warm-up: both kinds, so that the code is compiled for both shapes of metadata.
  for (let w = 0; w < 4; w++) await round(w % 2 === 1);
  const measured: Round[] = [];
  for (let r = 0; r < rounds * 2 + 1; r++) {
    const carry = r % 2 === 1;
    const us = await round(carry);
    measured.push({ carry, us });
    console.log(
      `round ${r + 1} ${carry ? "with a traceparent" : "without"}: ${us.toFixed(2)} µs CPU per reservation`,
    );
  }
  const deltas: number[] = [];
  for (let r = 1; r + 1 < measured.length; r += 2) {
    const [before, now, after] = [measured[r - 1], measured[r], measured[r + 1]] as [Round, Round, Round];
    deltas.push(now.us - (before.us + after.us) / 2);
  }
  const without = measured.filter((m) => !m.carry).map((m) => m.us);
  const base = without.reduce((a, b) => a + b, 0) / without.length;
  const cost = batchMeans(deltas, Math.min(8, deltas.length));
  console.log(
    `without a traceparent: ${base.toFixed(2)} µs CPU per reservation (${withStore ? "codec, log, read back" : "codec alone"})`,
  );
  if (cost)
    console.log(
      `carrying one adds ${cost.mean.toFixed(2)} µs per reservation (95% interval ${cost.low.toFixed(2)} … ${cost.high.toFixed(2)}, ${deltas.length} pairs in ${cost.batches} batches)`,
    );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
