import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { WriteOp } from "../../document-store/port.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { PROJECTIONS } from "../../projections/read-models/index.js";
import { checkpointOp, physicalCollection } from "../../projections/runtime/checkpoints.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { decodeEvent, type StoredDomainEvent } from "../../schemas/event-codec.js";
import { countingReads, lotOrdinal } from "../../test-support/counting-reads.js";
import { plainOf } from "../../test-support/lot-state.js";
import { withProjectionIndexes } from "../../test-support/projected-log.js";
import { tempDataDir } from "../../test-support/service.js";
import { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { heldTimeline } from "../../write-side/parking-lot/held-timeline.js";
import { LotsAt } from "./lots-at.js";
import { readViews } from "./views.js";

/**
 * Issue 48, "one fold": the read side's state of a lot is its current period's opening folded with
 * the facts since, as the write side's is. A lot crosses several periods (every 50 events) over
 * three days of bookings, check-ins, check-outs, cancels, open-ended stays, a capacity change and
 * a closure; a fresh read side then loads it (issue 68: through the write side's loader), reading no
 * event from before the opening (counted on the event store), into the very state the write side
 * holds, and so counts as it does.
 */

const LOT = "LP";
const BOUND = 50;
const HALF_HOUR = 30 * 60_000;
const T0 = Date.parse("2026-11-20T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
let clock = T0;

const ctx = (i: string) => ({
  correlationId: `corr-${i}`,
  commandId: `cmd-${i}`,
  actor: { sub: "ops-test", role: "operator" } as const,
});
const lotCommand = (command: Record<string, unknown>): ParkingLotCommand =>
  ({ parkingLotId: LOT, now: iso(clock), ...command }) as ParkingLotCommand;
const reserve = (reservationId: string, window?: readonly [number, number]): ParkingLotCommand =>
  lotCommand({
    type: "ReserveParking",
    reservationId,
    customerId: `C-${reservationId}`,
    carNumber: "10더8612",
    amount: 5000,
    ...(window ? { startsAt: iso(window[0]), endsAt: iso(window[1]) } : {}),
  });

describe("a lot's state on the read side across its periods (issue 48)", () => {
  const data = tempDataDir("parking-read-periods-");
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;
  let handler: ParkingLotCommandHandler;
  const log: StoredDomainEvent[] = [];
  let projected = 0;

  /** Writes what every projection makes of the log's events not projected yet, with checkpoints. */
  const project = async (upTo = log.length) => {
    const ops: WriteOp[] = [];
    const collection = (logical: string) => physicalCollection(logical, 1);
    const batch = log.slice(projected, upTo);
    for (const projection of PROJECTIONS) {
      for (const stored of batch)
        if (projection.eventTypes.has(stored.event.type)) ops.push(...projection.apply(stored, collection));
      const last = batch.at(-1);
      if (last)
        ops.push(
          checkpointOp(projection.name, 1, { position: last.position, state: "running" }, projection.version),
        );
    }
    await docs.write(ops);
    projected = upTo;
  };
  const handle = async (id: string, command: ParkingLotCommand) => {
    const outcome = await handler.handle(command, ctx(id));
    expect(outcome.ok, `${id}: ${JSON.stringify(outcome)}`).toBe(true);
  };

  beforeAll(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    docs = SqliteDocumentStore.open({ file: ":memory:" });
    await withProjectionIndexes(docs);
    handler = new ParkingLotCommandHandler(events, {
      retryLimit: 5,
      cacheSize: 10,
      periodEvents: BOUND,
      now: () => clock,
    });
    await handle("register", {
      type: "RegisterParkingLot",
      parkingLotId: LOT,
      name: "Periods",
      capacity: 40,
      maxActivePerCustomer: 10,
      now: iso(clock),
    });
    const closureFrom = T0 + 100 * HALF_HOUR;
    const skipped = new Set<string>();
    for (let i = 0; i < 150; i++) {
      clock = T0 + i * HALF_HOUR;
      // No booking of a window the closure overlaps (it would be refused), so none to follow.
      const window = [clock + 2 * HALF_HOUR, clock + 4 * HALF_HOUR] as const;
      const open = i < 90 || window[1] <= closureFrom || window[0] >= closureFrom + 2 * HALF_HOUR;
      if (open) await handle(`r${i}`, reserve(`r${i}`, window));
      else skipped.add(`r${i}`);
      // r{j}: canceled when j % 5 is 4, never checked in when 3, left in the lot when 2.
      const j = i - 2;
      if (j >= 0 && j % 5 < 3 && !skipped.has(`r${j}`))
        await handle(`in${i}`, lotCommand({ type: "CheckIn", reservationId: `r${j}` }));
      const k = i - 4;
      if (k >= 0 && k % 5 < 2 && !skipped.has(`r${k}`))
        await handle(`out${i}`, lotCommand({ type: "CheckOut", reservationId: `r${k}` }));
      if (i % 5 === 4 && open)
        await handle(
          `cancel${i}`,
          lotCommand({ type: "CancelReservation", reservationId: `r${i}`, reason: "plans" }),
        );
      if (i % 7 === 0) await handle(`o${i}`, reserve(`o${i}`));
      if (i === 40) await handle("capacity", lotCommand({ type: "ChangeCapacity", capacity: 60 }));
      if (i === 90)
        await handle(
          "close",
          lotCommand({
            type: "CloseParkingLot",
            closureId: "works",
            from: iso(closureFrom),
            until: iso(closureFrom + 2 * HALF_HOUR),
            reason: "works",
          }),
        );
      if (clock === closureFrom)
        await handle("begin", lotCommand({ type: "BeginClosure", closureId: "works" }));
    }
    await handler.lotSettled(LOT);
    for await (const raw of events.readAll()) log.push(decodeEvent(raw));
  }, 120_000);
  afterAll(async () => {
    await events?.close();
    await docs?.close();
    data.remove();
  });

  const openingAt = (upTo: number) =>
    lotOrdinal(
      log.slice(0, upTo).findLast((e) => e.event.type === "LotPeriodOpened") ?? {
        streamId: "",
        revision: -1,
      },
    );

  it("crosses several periods", () => {
    expect(log.filter((e) => e.event.type === "LotPeriodOpened").length).toBeGreaterThanOrEqual(5);
  });

  it("loads fresh from the current period's opening alone, into the write side's very state", async () => {
    await project();
    const counting = countingReads(events);
    const views = readViews(docs, {
      eventStore: counting.events,
      readYourWritesTimeoutMs: 0,
      now: () => clock,
    });
    const state = await views.lots.states.state(LOT);
    const opening = openingAt(log.length);
    expect(counting.read.length).toBeGreaterThan(0);
    expect(counting.read.filter((at) => at < opening)).toEqual([]);
    const written = await handler.stateOf(LOT);
    expect(state && plainOf(state)).toEqual(plainOf(written));
    // And so every view it feeds counts as the decider does, now and at other instants.
    if (written.kind !== "registered") throw new Error("the lot is registered");
    for (const at of [clock - 6 * HALF_HOUR, clock, clock + HALF_HOUR, clock + 5 * HALF_HOUR]) {
      const read = await views.lots.states.timeline(LOT, at);
      const decided = heldTimeline(written, at);
      for (const t of [at, at + HALF_HOUR, at + 4 * HALF_HOUR])
        expect(read?.timeline.heldAt(t)).toBe(decided.heldAt(t));
      expect((await views.lots.lotAt(LOT, at))?.availableSpots).toBe(
        Math.max(0, written.capacity - decided.heldAt(at)),
      );
    }
  });

  it("follows a kept state across the periods opened since, into the same state", async () => {
    const lots = new LotsAt(events, 10);
    const half = log[Math.floor(log.length / 2)] as StoredDomainEvent;
    const earlier = await lots.at(LOT, { kind: "position", commit: half.position.commit });
    expect(earlier.state.kind).toBe("registered");
    expect(earlier.position?.commit).toBe(half.position.commit);
    const now = await lots.at(LOT);
    expect(plainOf(now.state)).toEqual(plainOf(await handler.stateOf(LOT)));
  });
});
