import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore, WriteOp } from "../../document-store/port.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { EventToAppend } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import { parkingLotsProjection } from "../../projections/read-models/parking-lots.js";
import { reservationsProjection } from "../../projections/read-models/reservations.js";
import { physicalCollection } from "../../projections/runtime/checkpoints.js";
import { stampMsOfRaw } from "../../read-api/history/audit-entry.js";
import { lotStream } from "../../read-api/history/history-service.js";
import { QueryService } from "../../read-api/query-service.js";
import type { Cut } from "../../read-api/time-travel/as-of.js";
import { FoldState } from "../../read-api/time-travel/fold-state.js";
import { TIME_TRAVEL_DEFAULTS, TimeTravel } from "../../read-api/time-travel/time-travel.js";
import { systemActor } from "../../schemas/actor.js";
import { decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import type { DomainEvent } from "../../schemas/events.js";
import { log } from "../lib/log.js";
import { benchDataDir } from "../lib/processes.js";
import { fmtInt, round, summarize } from "../lib/stats.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

/*
 * Issue 22's time travel, in-process on the embedded event store: one lot with 100,000 events (a
 * booking every few minutes of lot time over months: open-ended ones canceled or checked in and out,
 * windows of an hour), then GET /parking-lots/{id}?asOf= as the query side answers it (TimeTravel:
 * fold from the nearest checkpoint into a throwaway in-memory store, the same query code with the
 * moment as now) at random positions and instants, against the live view (the same query over the
 * whole lot's read model in a store). The first answer lays the checkpoints (every 1,000 events):
 * reported apart as the cold answer. The HTTP layer costs the same for both and is left out.
 */

const LOT = "as-of-bench";
const MINUTE = 60_000;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const ROUNDS = 400;

function* lotLife(total: number): Generator<DomainEvent> {
  yield {
    type: "ParkingLotRegistered",
    data: {
      parkingLotId: LOT,
      name: "As-of bench lot",
      capacity: 50,
      registeredAt: new Date(T0).toISOString(),
    },
  };
  let n = 1;
  for (let k = 0; n < total; k++) {
    const t = T0 + k * 4 * MINUTE;
    const iso = (ms: number) => new Date(ms).toISOString();
    const ids = { reservationId: `r-${k}`, parkingLotId: LOT, customerId: `C${k % 500}` };
    const base = { ...ids, carNumber: "10더8612", amount: 1000, reservedAt: iso(t) };
    if (k % 4 === 3) {
      yield {
        type: "ParkingReserved",
        data: { ...base, startsAt: iso(t + 30 * MINUTE), endsAt: iso(t + 90 * MINUTE) },
      };
      n += 1;
      continue;
    }
    yield { type: "ParkingReserved", data: base };
    if (k % 4 === 0) {
      yield {
        type: "ReservationCanceled",
        data: { ...ids, reason: "changed plans", canceledAt: iso(t + MINUTE) },
      };
      n += 2;
    } else {
      yield { type: "ReservationCheckedIn", data: { ...ids, checkedInAt: iso(t + MINUTE) } };
      yield { type: "ReservationCheckedOut", data: { ...ids, checkedOutAt: iso(t + 3 * MINUTE) } };
      n += 3;
    }
  }
}

/** The live view's store: the same documents in an indexed embedded store, as the projector keeps them. */
async function materializeInSqlite(state: FoldState, file: string): Promise<DocumentStore> {
  const store = SqliteDocumentStore.open({ file });
  for (const projection of [parkingLotsProjection, reservationsProjection]) {
    for (const [logical, indexes] of Object.entries(projection.collections)) {
      await store.ensureIndexes(physicalCollection(logical, 1), indexes);
    }
  }
  const ops: WriteOp[] = [];
  for (const [collection, doc] of state.documents()) {
    ops.push({ op: "replace", collection, id: doc._id, document: doc });
  }
  await store.write(ops);
  return store;
}

/** The longest the event loop went without running a 1 ms timer, from now until stop(). */
function stallProbe(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(longest, performance.now() - last);
    },
  };
}

async function time<T>(run: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await run();
  return [performance.now() - started, value];
}

/** One lot of `total` events appended in batches of 500, and its whole read model folded (the live view). */
async function seedLot(
  store: SqliteEventStore,
  total: number,
): Promise<{ positions: Position[]; live: FoldState; lastMs: number }> {
  const causation = { correlationId: "bench", causationId: "bench", actor: systemActor("bench-seed") };
  const positions: Position[] = [];
  const live = new FoldState([parkingLotsProjection, reservationsProjection]);
  let batch: EventToAppend[] = [];
  let revision: number | "no_stream" = "no_stream";
  let lastMs = T0;
  const flush = async () => {
    const appended = await store.appendToStream(lotStream(LOT), batch, { expectedRevision: revision });
    revision = appended.nextExpectedRevision;
    positions.push(appended.position);
    batch = [];
  };
  for (const event of lotLife(total)) {
    batch.push(encodeEvent(event, causation));
    if (batch.length === 500) await flush();
  }
  if (batch.length > 0) await flush();
  for await (const raw of store.readStream(lotStream(LOT))) {
    live.apply(decodeEvent(raw));
    lastMs = Math.max(lastMs, stampMsOfRaw(raw.type, raw.data));
  }
  return { positions, live, lastMs };
}

/** The lot's first answer (timed, with the longest stall), then the background laying until `expected` checkpoints. */
async function coldThenBackground(
  travel: TimeTravel,
  early: Cut,
  expected: number,
): Promise<{ coldMs: number; coldStallMs: number; layMs: number; layStallMs: number }> {
  const coldProbe = stallProbe();
  const [coldMs] = await time(() => travel.parkingLot(LOT, early));
  const coldStallMs = coldProbe.stop();
  const layProbe = stallProbe();
  const layStarted = performance.now();
  while (travel.stats().checkpoints < expected) await new Promise((resolve) => setTimeout(resolve, 20));
  const layMs = performance.now() - layStarted;
  const layStallMs = layProbe.stop();
  await travel.settled();
  return { coldMs, coldStallMs, layMs, layStallMs };
}

/** ROUNDS moments over the lot's life, half log positions and half instants (seeded: the same every run). */
function randomCuts(first: Position, head: Position, lastMs: number): Cut[] {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: ROUNDS }, (_v, i) =>
    i % 2 === 0
      ? { kind: "position", commit: first.commit + Math.floor(random() * (head.commit - first.commit)) }
      : { kind: "instant", ms: T0 + Math.floor(random() * (lastMs - T0)) },
  );
}

/** The live view's answer times over the whole read model in an indexed embedded store. */
async function sampleLive(live: FoldState, file: string, lastMs: number): Promise<number[]> {
  const liveStore = await materializeInSqlite(live, file);
  const liveQueries = new QueryService(liveStore, { readYourWritesTimeoutMs: 0, now: () => lastMs });
  const sample: number[] = [];
  for (let i = 0; i < ROUNDS; i++) sample.push((await time(() => liveQueries.parkingLotDetail(LOT)))[0]);
  await liveStore.close();
  return sample;
}

/**
 * A restarted process: its first answer (reading the nearest checkpoint from the store; the rest
 * load in the background), then the moments.
 */
async function restartedSample(
  restarted: TimeTravel,
  early: Cut,
  cuts: readonly Cut[],
): Promise<{ restartFirstMs: number; restartStallMs: number; sample: number[] }> {
  const probe = stallProbe();
  const [restartFirstMs] = await time(() => restarted.parkingLot(LOT, early));
  const restartStallMs = probe.stop();
  const sample = await sampleAsOf(restarted, cuts);
  await restarted.settled();
  return { restartFirstMs, restartStallMs, sample };
}

async function sampleAsOf(over: TimeTravel, cuts: readonly Cut[]): Promise<number[]> {
  const ms: number[] = [];
  for (const cut of cuts) {
    const [took, view] = await time(() => over.parkingLot(LOT, cut));
    if (!view) throw new Error(`no lot as of ${JSON.stringify(cut)}`);
    ms.push(took);
  }
  return ms;
}

export const asOfScenario: Scenario = {
  name: "as-of",
  title: "time travel: a lot as of any moment of 100,000 events, against the live view",
  async run(ctx): Promise<ScenarioResult> {
    const total = ctx.quick ? 20_000 : 100_000;
    const data = benchDataDir("as-of");
    const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    try {
      const { positions, live, lastMs } = await seedLot(store, total);
      const head = positions.at(-1) as Position;
      log(`  seeded ${fmtInt(total)} events in one lot`);
      // The live view: the same query over the whole read model, at the lot's last moment.
      const liveSample = await sampleLive(live, join(data.dir, "read-models.sqlite"), lastMs);
      // Checkpoints kept in a document store beside the read models, as the service does.
      const documents = SqliteDocumentStore.open({ file: join(data.dir, "checkpoints.sqlite") });
      const travel = new TimeTravel(store, { store: documents });
      const first = positions[0] as Position;
      // Cold: the lot's first answer ever, a tenth into its life (it folds that far, yielding after
      // every checkpoint), then the rest of its checkpoints laid in the background.
      const early: Cut = {
        kind: "position",
        commit: first.commit + Math.floor((head.commit - first.commit) / 10),
      };
      const { coldMs, coldStallMs, layMs, layStallMs } = await coldThenBackground(
        travel,
        early,
        Math.floor(total / TIME_TRAVEL_DEFAULTS.checkpointEvery),
      );
      log(
        `  cold first answer ${round(coldMs)} ms (longest stall ${round(coldStallMs)} ms); rest laid in the background in ${round(layMs)} ms (longest stall ${round(layStallMs)} ms)`,
      );
      const cuts = randomCuts(first, head, lastMs);
      const sample = (over: TimeTravel) => sampleAsOf(over, cuts);
      const asOfSample = await sample(travel);
      // A restarted process: its checkpoints come from the document store (the first answer reads
      // the nearest, the rest are loaded after it).
      const restart = await restartedSample(new TimeTravel(store, { store: documents }), early, cuts);
      const { restartFirstMs, restartStallMs } = restart;
      await documents.close();
      const asOf = summarize(asOfSample);
      const afterRestart = summarize(restart.sample);
      const liveSummary = summarize(liveSample);
      const stats = travel.stats();
      return {
        name: "as-of",
        title: this.title,
        checks: [
          {
            target: `asOf p99 ≤ 50 ms on a lot of ${fmtInt(total)} events`,
            measured: `p50 ${asOf.p50} / p99 ${asOf.p99} ms (live view p50 ${liveSummary.p50} / p99 ${liveSummary.p99} ms); cold first answer ${round(coldMs)} ms`,
            pass: asOf.p99 <= 50,
          },
          {
            target: "after a restart, checkpoints from the document store: asOf p99 ≤ 50 ms",
            measured: `first answer ${round(restartFirstMs)} ms (reads the nearest checkpoint, longest stall ${round(restartStallMs)} ms), then p50 ${afterRestart.p50} / p99 ${afterRestart.p99} ms`,
            pass: afterRestart.p99 <= 50,
          },
          {
            target: "a cold asOf does not hold the event loop for its whole fold",
            measured: `cold answer ${round(coldMs)} ms, longest stall ${round(coldStallMs)} ms; background laying ${round(layMs)} ms, longest stall ${round(layStallMs)} ms`,
            pass: coldStallMs < coldMs / 4 && layStallMs < 200,
          },
        ],
        figures: {
          events: total,
          checkpointEvery: TIME_TRAVEL_DEFAULTS.checkpointEvery,
          checkpoints: stats.checkpoints,
          checkpointEntries: stats.entries,
          coldFirstAnswerMs: round(coldMs),
          coldLongestStallMs: round(coldStallMs),
          backgroundLayingMs: round(layMs),
          backgroundLongestStallMs: round(layStallMs),
          restartFirstAnswerMs: round(restartFirstMs),
          restartLongestStallMs: round(restartStallMs),
          afterRestart,
          asOf,
          live: liveSummary,
        },
      };
    } finally {
      await store.close();
      data.remove();
    }
  },
};
