import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../event-store/port.js";
import { createLogger } from "../platform/logger.js";
import { EVENT_TYPES, type EventType } from "../schemas/events.js";
import { exitOf, killChildren, spawnReplayCli } from "../test-support/children.js";
import { plateFor, seedDataDir } from "../test-support/seed.js";
import { eventually, tempDataDir } from "../test-support/service.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";
import { COUPON_POLICY, couponPolicy } from "./coupon-policy/coupon-policy.js";
import { PROJECTIONS } from "./read-models/index.js";
import { activeGenerations, readCheckpoint } from "./runtime/checkpoints.js";
import { ProcessorRuntime } from "./runtime/processor-runtime.js";

/**
 * `replay rebuild <name>` follows only the event types of that projection. It must finish when the
 * newest events of the log are of types it does not read (before the event store reported
 * progress it waited forever for a position no event of its types would reach). For every
 * projection, the log is first made to end with an event it does not read, written the way the
 * service writes it; a projection that reads every domain event gets an event of a stream the
 * service does not know (another system sharing the store).
 */

const handler = (events: EventStore) =>
  new ParkingLotCommandHandler(events, { retryLimit: 20, cacheSize: 10 });
const causation = () => ({
  correlationId: randomUUID(),
  commandId: randomUUID(),
  actor: { sub: "ops-test", role: "operator" } as const,
});
const now = () => new Date().toISOString();

/** Runs the coupon policy until it has handled the whole log: the newest events become coupon events. */
async function runCouponPolicy(events: EventStore, docs: SqliteDocumentStore): Promise<void> {
  const runtime = new ProcessorRuntime({
    processors: [couponPolicy],
    eventStore: events,
    documentStore: docs,
    logger: createLogger("silent"),
    batchSize: 100,
    generation: "active",
  });
  await runtime.start();
  const head = async () => (await events.headPosition())?.commit ?? 0;
  await eventually(async () => {
    const status = runtime.status().find((s) => s.name === COUPON_POLICY);
    return status?.caughtUp && status.position?.commit === (await head()) ? true : undefined;
  });
  await runtime.stop();
}

/** How to make the newest event of the log one of each type (as the service would write it). */
const NEWEST: Partial<Record<EventType, (events: EventStore, docs: SqliteDocumentStore) => Promise<void>>> = {
  ParkingLotRegistered: async (events) => {
    const outcome = await handler(events).handle(
      {
        type: "RegisterParkingLot",
        parkingLotId: `late-${randomUUID()}`,
        name: "늦은 주차장",
        capacity: 3,
        now: now(),
      },
      causation(),
    );
    if (!outcome.ok) throw new Error("registration refused");
  },
  ParkingReserved: async (events) => {
    const outcome = await handler(events).handle(
      {
        type: "ReserveParking",
        reservationId: `late-${randomUUID()}`,
        parkingLotId: "lot-1",
        customerId: "LATE1",
        carNumber: plateFor(7),
        amount: 1000,
        now: now(),
      },
      causation(),
    );
    if (!outcome.ok) throw new Error("reservation refused");
  },
  CouponIssued: async (events, docs) => {
    // A stay (reserve, check in, check out) on a seeded lot, whose rule makes any stay earn a coupon.
    const reservationId = `late-${randomUUID()}`;
    const commands = [
      {
        type: "ReserveParking",
        reservationId,
        parkingLotId: "lot-1",
        customerId: "LATE1",
        carNumber: plateFor(8),
        amount: 1000,
      },
      { type: "CheckIn", reservationId, parkingLotId: "lot-1" },
      { type: "CheckOut", reservationId, parkingLotId: "lot-1" },
    ] as const;
    for (const command of commands) {
      const outcome = await handler(events).handle({ ...command, now: now() }, causation());
      if (!outcome.ok) throw new Error(`${command.type} refused`);
    }
    await runCouponPolicy(events, docs);
  },
};

async function endLogWithEventNotReadBy(
  eventTypes: ReadonlySet<EventType>,
  events: EventStore,
  docs: SqliteDocumentStore,
): Promise<string> {
  const type = EVENT_TYPES.find((t) => !eventTypes.has(t) && NEWEST[t] !== undefined);
  if (type) {
    await NEWEST[type]?.(events, docs);
  } else {
    await events.appendToStream(
      `audit-${randomUUID()}`,
      [{ type: "ExternalAuditNoted", data: { note: "written by another system" }, metadata: {} }],
      { expectedRevision: "no_stream" },
    );
  }
  let newest: string | undefined;
  for await (const e of events.readAll({ direction: "backwards", maxCount: 1 })) newest = e.type;
  if (newest === undefined || eventTypes.has(newest as EventType))
    throw new Error(`the log does not end with an event the projection does not read (${newest})`);
  return newest;
}

describe("replay rebuild <projection> on a log whose newest event it does not read", () => {
  const data = tempDataDir("parking-rebuild-each-");
  beforeAll(async () => {
    await seedDataDir(data.dir, { lots: 2, capacity: 100, reservations: 60, cancellations: 10 });
  });
  afterEach(async () => {
    await killChildren();
  });
  afterAll(() => data.remove());

  it.each(PROJECTIONS.map((p) => [p.name, p] as const))(
    "rebuild %s finishes, activates the next generation and checkpoints it at the head",
    async (name, projection) => {
      const events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
      const docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
      try {
        const newest = await endLogWithEventNotReadBy(projection.eventTypes, events, docs);
        const head = (await events.headPosition())?.commit ?? 0;
        const before = (await activeGenerations(docs)).get(name) ?? 1;

        const rebuild = spawnReplayCli(["rebuild", name, "--grace-ms", "0"], { DATA_DIR: data.dir });
        expect(await exitOf(rebuild, 60_000), `newest event ${newest}:\n${rebuild.output()}`).toBe(0);
        expect(rebuild.output()).toContain(`${name} g${before}→g${before + 1}`);

        expect((await activeGenerations(docs)).get(name)).toBe(before + 1);
        const checkpoint = await readCheckpoint(docs, name, before + 1);
        expect(checkpoint).toMatchObject({ state: "running", position: { commit: head } });
      } finally {
        await events.close();
        await docs.close();
      }
    },
    90_000,
  );
});
