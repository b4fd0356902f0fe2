import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Observable } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore, WriteOp } from "../../document-store/port.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { EventStore, LogMessage, SubscribeToAllOptions } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import { createLogger } from "../../platform/logger.js";
import { foldHistory, readModels } from "../../test-support/read-models.js";
import { plateFor, type Seeded, seedLotEvents } from "../../test-support/seed.js";
import { eventually, tempDataDir } from "../../test-support/service.js";
import { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { COUPON_POLICY, couponPolicy } from "../coupon-policy/coupon-policy.js";
import { PROJECTIONS } from "../read-models/index.js";
import type { Projection } from "../read-models/projection.js";
import { reservationsProjection } from "../read-models/reservations.js";
import { activateOp, activeGenerations, type CheckpointDocument, readCheckpoint } from "./checkpoints.js";
import type { Processor } from "./processor.js";
import { ProcessorRuntime } from "./processor-runtime.js";

const logger = createLogger("silent");
const NAMES = PROJECTIONS.map((p) => p.name);
const PLAN = {
  lots: 4,
  capacity: 500,
  reservations: 600,
  cancellations: 120,
  stays: 200,
  customers: 12,
} as const;

interface Stores {
  readonly events: SqliteEventStore;
  readonly docs: SqliteDocumentStore;
}

/** The event store, with followAll replaced (the other calls go straight through). */
function withSubscribe(
  inner: EventStore,
  subscribe: (options: SubscribeToAllOptions) => Observable<LogMessage>,
): EventStore {
  return {
    appendToStream: (streamId, events, options) => inner.appendToStream(streamId, events, options),
    readStream: (streamId, options) => inner.readStream(streamId, options),
    readAll: (options) => inner.readAll(options),
    subscribeToAll: (options) => inner.subscribeToAll(options),
    followAll: subscribe,
    headPosition: () => inner.headPosition(),
    close: () => inner.close(),
  };
}

/** The document store, with every write delayed. */
function slowWrites(inner: DocumentStore, delayMs: number): DocumentStore {
  return {
    ensureIndexes: (collection, indexes) => inner.ensureIndexes(collection, indexes),
    prepareIndexes: (collection, indexes) => inner.prepareIndexes(collection, indexes),
    findById: (collection, id) => inner.findById(collection, id),
    find: (collection, filter, options) => inner.find(collection, filter, options),
    count: (collection, filter) => inner.count(collection, filter),
    findNear: (collection, query) => inner.findNear(collection, query),
    countBy: (collection, filter, field, options) => inner.countBy(collection, filter, field, options),
    write: async (ops) => {
      await sleep(delayMs);
      await inner.write(ops);
    },
    explain: (collection, filter, options) => inner.explain(collection, filter, options),
    listCollections: () => inner.listCollections(),
    dropCollection: (collection) => inner.dropCollection(collection),
    close: () => inner.close(),
  };
}

async function head(events: EventStore): Promise<number> {
  return (await events.headPosition())?.commit ?? 0;
}

/** Checkpoint documents of `generation` (or of each projection's active generation). */
async function checkpoints(docs: SqliteDocumentStore, generation?: number) {
  const active = await activeGenerations(docs);
  const out: Record<string, CheckpointDocument | null> = {};
  for (const name of NAMES) out[name] = await readCheckpoint(docs, name, generation ?? active.get(name) ?? 1);
  return out;
}

/** Waits until every running projection of `projector` is at the head of the log. */
async function atHead(projector: ProcessorRuntime, events: EventStore, timeoutMs = 20_000): Promise<number> {
  return eventually(
    async () => {
      const h = await head(events);
      const statuses = projector.status().filter((s) => s.state !== "failed");
      return statuses.length > 0 && statuses.every((s) => s.position?.commit === h) ? h : undefined;
    },
    timeoutMs,
    "the projector at the head of the log",
  );
}

function newProcessorRuntime(
  stores: Stores,
  options: {
    projections?: readonly Processor[];
    eventStore?: EventStore;
    generation?: "active" | ReadonlyMap<string, number>;
    batchSize?: number;
    /** Delay before each write (ms): a slow store, so that a stop lands while work remains. */
    writeDelayMs?: number;
  } = {},
): ProcessorRuntime {
  const delay = options.writeDelayMs;
  return new ProcessorRuntime({
    processors: options.projections ?? PROJECTIONS,
    eventStore: options.eventStore ?? stores.events,
    documentStore: delay ? slowWrites(stores.docs, delay) : stores.docs,
    logger,
    batchSize: options.batchSize ?? 50,
    generation: options.generation ?? "active",
  });
}

/** Issues and revokes the coupons of the seeded log (the real policy, in this process), then stops. */
async function runCouponPolicy(stores: Stores, seeded: Seeded): Promise<void> {
  const policy = new ProcessorRuntime({
    processors: [couponPolicy],
    eventStore: stores.events,
    documentStore: stores.docs,
    logger,
    batchSize: 200,
    generation: "active",
  });
  await policy.start();
  const expected = seeded.lotEvents + seeded.completed.size; // one coupon per completed stay
  const position = () => policy.status().find((s) => s.name === COUPON_POLICY)?.position?.commit ?? 0;
  await eventually(
    async () => (position() >= expected ? true : undefined),
    30_000,
    "the coupon policy at the head",
  );
  await policy.stop();
}

async function expectReadModelsEqualFold(stores: Stores): Promise<void> {
  const expected = await foldHistory(stores.events);
  const actual = await readModels(stores.docs);
  expect(actual.totals).toEqual(expected.totals);
  expect(actual.lots).toEqual(expected.lots);
  expect(actual.coupons).toEqual(expected.coupons);
  expect(actual.reservations).toEqual(expected.reservations);
}

/** Appends `count` more reservations to the first lot; returns the position of the last one. */
async function reserveMore(events: EventStore, lotId: string, count: number): Promise<Position> {
  const handler = new ParkingLotCommandHandler(events, { retryLimit: 20, cacheSize: 10 });
  let last: Position | null = null;
  for (let i = 0; i < count; i++) {
    const outcome = await handler.handle(
      {
        type: "ReserveParking",
        reservationId: `late-${randomUUID()}`,
        parkingLotId: lotId,
        customerId: "LATE1",
        carNumber: plateFor(i),
        amount: 1000,
        now: new Date().toISOString(),
      },
      { correlationId: randomUUID(), commandId: randomUUID(), actor: { sub: "ops-test", role: "operator" } },
    );
    if (!outcome.ok || !outcome.position) throw new Error("reservation refused");
    last = outcome.position;
  }
  return last as Position;
}

describe("ProcessorRuntime: projections and the coupon policy (embedded stores on disk)", () => {
  let data: { dir: string; remove: () => void };
  let stores: Stores;
  let seeded: Seeded;
  const started: ProcessorRuntime[] = [];

  /** Starts a projector and remembers it, so that afterEach stops whatever a failed test left running. */
  async function start(projector: ProcessorRuntime): Promise<ProcessorRuntime> {
    started.push(projector);
    await projector.start();
    return projector;
  }

  beforeEach(async () => {
    data = tempDataDir("parking-projector-");
    stores = {
      events: SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 }),
      docs: SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") }),
    };
    seeded = await seedLotEvents(stores.events, PLAN);
    await runCouponPolicy(stores, seeded);
  });

  afterEach(async () => {
    for (const p of started.splice(0)) await p.stop();
    await stores.events.close();
    await stores.docs.close();
    data.remove();
  });

  it("exactly once per batch: stopped and restarted mid-way, then fed the whole log again, the read models equal the fold", async () => {
    const total = await head(stores.events);
    // Three runs, each stopped somewhere in the middle (batches of 50: each stop lands between batches
    // that committed atomically with their checkpoint), then a fourth to the head.
    for (const fraction of [0.2, 0.45, 0.7]) {
      const projector = await start(newProcessorRuntime(stores, { writeDelayMs: 15 }));
      await eventually(
        async () =>
          Math.min(...projector.status().map((s) => s.position?.commit ?? 0)) >= fraction * total
            ? true
            : undefined,
        20_000,
        `${fraction * 100}% projected`,
      );
      await projector.stop();
      const positions = Object.values(await checkpoints(stores.docs)).map((c) => c?.position?.commit ?? 0);
      expect(Math.max(...positions)).toBeLessThan(total);
    }
    await atHead(await start(newProcessorRuntime(stores)), stores.events);
    await started.at(-1)?.stop();
    await expectReadModelsEqualFold(stores);
    const before = await checkpoints(stores.docs);
    const snapshot = await readModels(stores.docs);

    // A subscription that ignores the checkpoint and delivers the whole log again (at-least-once
    // delivery at its worst): nothing may be applied twice, nothing written at all.
    let delivered = 0;
    const replaying = withSubscribe(stores.events, () =>
      stores.events
        .followAll({
          from: "start",
          filter: { eventTypes: [...new Set(PROJECTIONS.flatMap((p) => [...p.eventTypes]))] },
        })
        .pipe(
          (source) =>
            new Observable<LogMessage>((subscriber) =>
              source.subscribe({
                next: (m) => {
                  if (m.kind === "event") delivered++;
                  subscriber.next(m);
                },
                error: (err: unknown) => subscriber.error(err),
                complete: () => subscriber.complete(),
              }),
            ),
        ),
    );
    const again = await start(newProcessorRuntime(stores, { eventStore: replaying }));
    await eventually(
      async () => (delivered >= total ? true : undefined),
      20_000,
      "the whole log delivered again",
    );
    await sleep(200); // let the last batches be handled
    await again.stop();
    expect(await readModels(stores.docs)).toEqual(snapshot);
    expect(await checkpoints(stores.docs)).toEqual(before); // not even a checkpoint was rewritten
  });

  it("a projection that cannot apply an event stops at it with the error in its checkpoint; the others reach the head; a restart retries it", async () => {
    const poison = seeded.reservations[250] as Seeded["reservations"][number];
    const broken: Projection = {
      ...reservationsProjection,
      apply(stored, collection) {
        if (
          stored.event.type === "ParkingReserved" &&
          stored.event.data.reservationId === poison.reservationId
        )
          throw new Error("cannot apply this one");
        return reservationsProjection.apply(stored, collection);
      },
    };
    const withBroken = PROJECTIONS.map((p) => (p.name === broken.name ? broken : p));
    const total = await head(stores.events);

    const first = await start(newProcessorRuntime(stores, { projections: withBroken }));
    await atHead(first, stores.events);
    const failedStatus = first.status().find((s) => s.name === "reservations");
    expect(failedStatus?.state).toBe("failed");
    expect(failedStatus?.error).toContain("cannot apply this one");
    await first.stop();

    const failed = await readCheckpoint(stores.docs, "reservations", 1);
    expect(failed).toMatchObject({
      state: "failed",
      failedAt: { commit: poison.position.commit },
      // Everything before the event is applied (positions are gapless), nothing from it on.
      position: { commit: poison.position.commit - 1 },
    });
    expect(failed?.error).toContain(`ParkingReserved at ${poison.position.commit}`);
    expect(failed?.error).toContain("cannot apply this one");
    for (const name of NAMES.filter((n) => n !== "reservations")) {
      const checkpoint = await readCheckpoint(stores.docs, name, 1);
      expect(checkpoint, name).toMatchObject({ state: "running", position: { commit: total } });
      expect(checkpoint?.error, name).toBeUndefined();
    }
    const expected = await foldHistory(stores.events);
    const partial = await readModels(stores.docs);
    expect(partial.lots).toEqual(expected.lots);
    expect(partial.totals).toEqual(expected.totals);
    expect(partial.coupons).toEqual(expected.coupons);
    expect(partial.reservations[poison.reservationId]).toBeUndefined();

    // Restarted with the fault still there: it is retried, and stops at the same event again.
    const retried = await start(newProcessorRuntime(stores, { projections: withBroken }));
    await eventually(
      async () =>
        retried.status().find((s) => s.name === "reservations")?.state === "failed" ? true : undefined,
      20_000,
      "the retry to fail again",
    );
    await retried.stop();
    expect(await readCheckpoint(stores.docs, "reservations", 1)).toMatchObject({
      state: "failed",
      failedAt: { commit: poison.position.commit },
      position: { commit: poison.position.commit - 1 },
    });

    // Restarted with the fault fixed: it carries on from the event it stopped at, the rest unchanged.
    const fixed = await start(newProcessorRuntime(stores));
    await atHead(fixed, stores.events);
    await fixed.stop();
    const recovered = await readCheckpoint(stores.docs, "reservations", 1);
    expect(recovered).toMatchObject({ state: "running", position: { commit: total } });
    expect(recovered?.error).toBeUndefined();
    expect(recovered?.failedAt).toBeUndefined();
    await expectReadModelsEqualFold(stores);
  });

  it("a write the store refuses is traced to its projection and event; the other projections still reach the head", async () => {
    const poison = seeded.reservations[100] as Seeded["reservations"][number];
    const refused: Projection = {
      ...reservationsProjection,
      apply(stored, collection) {
        const ops = reservationsProjection.apply(stored, collection);
        if (
          stored.event.type !== "ParkingReserved" ||
          stored.event.data.reservationId !== poison.reservationId
        )
          return ops;
        const bad: WriteOp = {
          op: "update",
          collection: collection("reservations"),
          id: "x",
          update: { $bogus: {} },
        };
        return [...ops, bad];
      },
    };
    const total = await head(stores.events);
    const projector = await start(
      newProcessorRuntime(stores, {
        projections: PROJECTIONS.map((p) => (p.name === refused.name ? refused : p)),
        batchSize: 200,
      }),
    );
    await atHead(projector, stores.events);
    await projector.stop();
    expect(await readCheckpoint(stores.docs, "reservations", 1)).toMatchObject({
      state: "failed",
      failedAt: { commit: poison.position.commit },
      position: { commit: poison.position.commit - 1 },
    });
    for (const name of NAMES.filter((n) => n !== "reservations"))
      expect(await readCheckpoint(stores.docs, name, 1), name).toMatchObject({
        state: "running",
        position: { commit: total },
      });
    const expected = await foldHistory(stores.events);
    const actual = await readModels(stores.docs);
    expect(actual.lots).toEqual(expected.lots);
    expect(actual.totals).toEqual(expected.totals);
    // Everything of the reservations projection before the refused event is there, once.
    const before = seeded.reservations.filter((r) => r.position.commit < poison.position.commit);
    expect(Object.keys(actual.reservations).sort()).toEqual(before.map((r) => r.reservationId).sort());

    const fixed = await start(newProcessorRuntime(stores));
    await atHead(fixed, stores.events);
    await fixed.stop();
    await expectReadModelsEqualFold(stores);
  });

  it("a subscription that errors is resubscribed from the checkpoint, without duplicates or gaps", async () => {
    // Each followAll call, with the checkpoint the projector held at that moment.
    const calls: { from: SubscribeToAllOptions["from"]; checkpoint: Position | "start" }[] = [];
    let projector: ProcessorRuntime | undefined;
    let failedAtCall = -1;
    let lastDelivered: Position | undefined;
    const checkpointNow = (): Position | "start" => {
      const positions = (projector?.status() ?? []).map((s) => s.position);
      if (positions.length === 0 || positions.some((p) => p === null)) return "start";
      return (positions as Position[]).reduce((a, b) => (b.commit < a.commit ? b : a));
    };
    const flaky = withSubscribe(stores.events, (options) => {
      calls.push({ from: options.from, checkpoint: checkpointNow() });
      const inner = stores.events.followAll(options);
      if (failedAtCall >= 0) return inner;
      const call = calls.length - 1;
      return new Observable<LogMessage>((subscriber) => {
        let seen = 0;
        const subscription = inner.subscribe({
          next: (m) => {
            if (m.kind !== "event") return subscriber.next(m);
            if (++seen > 333 && failedAtCall < 0) {
              failedAtCall = call;
              subscriber.error(new Error("connection reset (test)"));
              subscription.unsubscribe();
              return;
            }
            lastDelivered = m.event.position;
            subscriber.next(m);
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => subscriber.complete(),
        });
        return () => subscription.unsubscribe();
      });
    });

    projector = newProcessorRuntime(stores, { eventStore: flaky });
    await start(projector);
    await atHead(projector, stores.events);
    await projector.stop();
    expect(failedAtCall).toBeGreaterThanOrEqual(0);
    expect(calls[0]?.from).toBe("start");
    // The subscription after the error starts from the checkpoint, which is no further than
    // what had been delivered: nothing skipped, and what was in flight is simply handled again.
    const resumed = calls[failedAtCall + 1];
    if (!resumed) throw new Error("no subscription after the error");
    expect(resumed.from).toEqual(resumed.checkpoint);
    if (resumed.from !== "start")
      expect((resumed.from as Position).commit).toBeLessThanOrEqual(lastDelivered?.commit ?? 0);
    for (const c of calls.slice(1)) expect(c.from).toEqual(c.checkpoint);
    await expectReadModelsEqualFold(stores);
  });

  it("a generation activated by a replay is followed by the live projector", async () => {
    const live = await start(newProcessorRuntime(stores));
    await atHead(live, stores.events);

    // A replay builds generation 2 beside it, then activates it.
    const replay = await start(
      newProcessorRuntime(stores, { generation: new Map(NAMES.map((n) => [n, 2])) }),
    );
    const builtTo = await atHead(replay, stores.events);
    await replay.stop();
    await stores.docs.write(NAMES.map((n) => activateOp(n, 2)));

    await sleep(400); // a quiet moment, then new events
    const last = await reserveMore(stores.events, seeded.lotIds[0] as string, 5);
    await eventually(
      async () =>
        live.status().every((s) => s.generation === 2 && s.position?.commit === last.commit)
          ? true
          : undefined,
      10_000,
      "the live projector on generation 2 at the head",
    );
    for (const [name, checkpoint] of Object.entries(await checkpoints(stores.docs, 2)))
      expect(checkpoint?.position?.commit, name).toBe(last.commit);
    // Generation 1 got nothing after the switch.
    for (const [name, checkpoint] of Object.entries(await checkpoints(stores.docs, 1)))
      expect(checkpoint?.position?.commit, name).toBe(builtTo);
    await live.stop();
    await expectReadModelsEqualFold(stores); // readModels reads the active generation: 2
  });

  it("events appended right after a generation switch land in the new generation", async () => {
    const live = await start(newProcessorRuntime(stores));
    await atHead(live, stores.events);
    const replay = await start(
      newProcessorRuntime(stores, { generation: new Map(NAMES.map((n) => [n, 2])) }),
    );
    await atHead(replay, stores.events);
    await replay.stop();

    // The live projector has just handled a batch when the replay activates its generation, and
    // the next event follows at once (a busy service: events keep coming during a rebuild).
    await sleep(300); // (so that handling the event just before is when the live projector looks)
    const justBefore = await reserveMore(stores.events, seeded.lotIds[0] as string, 1);
    await eventually(
      async () => (live.status().every((s) => s.position?.commit === justBefore.commit) ? true : undefined),
      10_000,
      "the live projector to handle the event before the switch",
    );
    await stores.docs.write(NAMES.map((n) => activateOp(n, 2)));
    const last = await reserveMore(stores.events, seeded.lotIds[0] as string, 1);

    // Queries read generation 2 from now on: it must get every event, whenever it arrived.
    const reached = await eventually(
      async () => {
        const all = await checkpoints(stores.docs, 2);
        return Object.values(all).every((c) => c?.position?.commit === last.commit) ? true : undefined;
      },
      5_000,
      "generation 2 at the head",
    ).catch((error: unknown) => error);
    const gen2 = Object.fromEntries(
      Object.entries(await checkpoints(stores.docs, 2)).map(([n, c]) => [n, c?.position?.commit]),
    );
    expect(reached, `generation 2 checkpoints ${JSON.stringify(gen2)}, head ${last.commit}`).toBe(true);
    await live.stop();
    await expectReadModelsEqualFold(stores);
  });
});
