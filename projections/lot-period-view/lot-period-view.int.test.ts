import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { RecordedEvent } from "../../event-store/port.js";
import { MemoryDataKeys } from "../../platform/data-keys/port.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { usePersonalDataKeys } from "../../schemas/personal-data.js";
import { capped } from "../../test-support/capped-event-store.js";
import { countingReads } from "../../test-support/counting-event-store.js";
import { periodOpenings, periodViewContext } from "../../test-support/period-views.js";
import { tempDataDir } from "../../test-support/service.js";
import { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { lotPeriodOfStream, parkingLotOfStream } from "../../write-side/parking-lot/periods.js";
import { lotPeriodViewStream } from "../read-models/opening-view.js";
import { lotPeriodView } from "./lot-period-view.js";

/**
 * Issue 48, item 3: the lot-period-view reactor records the read side's view of each period's
 * opening (k ≥ 1) once, on its own side stream, bounded by a period, with no personal value.
 */

const T0 = Date.parse("2026-11-02T06:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
/** Events per period: the books close every 10 events. */
const BOUND = 10;
const PLATE = "34나5678";

describe("the lot-period-view reactor (issue 48)", () => {
  let data: { dir: string; remove: () => void };
  let events: SqliteEventStore;
  let keys: MemoryDataKeys;

  beforeEach(async () => {
    keys = new MemoryDataKeys();
    usePersonalDataKeys(keys);
    data = tempDataDir("parking-period-view-");
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    let clock = T0;
    const handler = new ParkingLotCommandHandler(events, {
      retryLimit: 5,
      cacheSize: 10,
      periodEvents: BOUND,
      now: () => clock,
    });
    const run = async (command: Record<string, unknown>) => {
      const outcome = await handler.handle({ ...command, now: iso(clock) } as ParkingLotCommand, {
        correlationId: `c-${clock}`,
        commandId: `cmd-${clock}`,
        actor: { sub: "ops-test", role: "operator" },
      });
      expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
      clock += 60_000;
    };
    await run({ type: "RegisterParkingLot", parkingLotId: "L", name: "Views", capacity: 100 });
    const booking = { parkingLotId: "L", amount: 1000, carNumber: PLATE };
    await run({ type: "ReserveParking", ...booking, reservationId: "mine", customerId: "C-gone" });
    for (let k = 0; k < 3 * BOUND; k++)
      await run({ type: "ReserveParking", ...booking, reservationId: `L-${k}`, customerId: `C${k}` });
  });
  afterEach(async () => {
    usePersonalDataKeys(undefined);
    await events.close();
    data.remove();
  });

  const sideStreams = async () => {
    const views: RecordedEvent[] = [];
    for await (const raw of events.readAll()) if (raw.type === "LotPeriodViewRecorded") views.push(raw);
    return views;
  };

  it("appends one view per period k ≥ 1 to its side stream, none for period 0, each holding the lot and the reservations its opening carries", async () => {
    const openings = await periodOpenings(events);
    expect(openings.length).toBeGreaterThanOrEqual(3);
    await lotPeriodView.react(openings, periodViewContext(events));
    const views = await sideStreams();
    expect(views.map((v) => v.streamId)).toEqual(
      openings.map((o) => lotPeriodViewStream("L", lotPeriodOfStream(o.streamId)?.period ?? -1)),
    );
    expect(views.every((v) => v.revision === 0)).toBe(true);
    // No lot's stream (the lot's decider, projections, history and audit never read it).
    expect(views.every((v) => parkingLotOfStream(v.streamId) === undefined)).toBe(true);
    for (const [i, view] of views.entries()) {
      const { period, lot, reservations } = view.data as {
        period: number;
        lot: { totalReservations: number };
        reservations: { reservationId: string }[];
      };
      expect(period).toBe(i + 1);
      // Every booking so far is active: the opening carries each, and the view each one's document.
      expect(reservations.map((r) => r.reservationId)).toContain("mine");
      expect(reservations.length).toBe(lot.totalReservations);
    }
    const none = [];
    for await (const raw of events.readStream(lotPeriodViewStream("L", 0))) none.push(raw);
    expect(none).toEqual([]);
  });

  it("appends nothing on a repeat, nor when two replicas handle the same openings at once", async () => {
    const openings = await periodOpenings(events);
    await Promise.all([
      lotPeriodView.react(openings, periodViewContext(events)),
      lotPeriodView.react(openings, periodViewContext(events)),
    ]);
    const once = await sideStreams();
    expect(once).toHaveLength(openings.length);
    await lotPeriodView.react(openings, periodViewContext(events));
    expect(await sideStreams()).toEqual(once);
  });

  it("folds period k's view from period k−1's view and events: nothing of an earlier period is read", async () => {
    const openings = await periodOpenings(events);
    const last = openings.at(-1);
    if (!last) throw new Error("no opening");
    const k = lotPeriodOfStream(last.streamId)?.period ?? 0;
    await lotPeriodView.react(openings.slice(0, -1), periodViewContext(events));
    const counted = countingReads(events);
    await lotPeriodView.react([last], periodViewContext(counted.store));
    const lotReads = counted.reads.filter((r) => parkingLotOfStream(r.streamId) !== undefined);
    expect(lotReads.length).toBeGreaterThan(0);
    expect(lotReads.every((r) => lotPeriodOfStream(r.streamId)?.period === k - 1)).toBe(true);
    // Its own stream (absent) and period k−1's view: the two side-stream reads.
    expect(counted.reads.filter((r) => r.type === "LotPeriodViewRecorded").map((r) => r.streamId)).toEqual([
      lotPeriodViewStream("L", k - 1),
    ]);
  });

  it("leaves a view larger than the event store's largest write unrecorded, with a warning, and goes on", async () => {
    const openings = await periodOpenings(events);
    const warned: { msg: string; period?: number }[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void warned.push(JSON.parse(line)) });
    // Room for a booking, not for a view carrying ten of them (EventStoreDB's MaxAppendSize, scaled down).
    const small = capped(events, 1_000);
    await lotPeriodView.react(openings, { ...periodViewContext(small), logger });
    expect(await sideStreams()).toEqual([]);
    expect(small.refused).toBe(0); // measured before it is sent, as the adapter states its limit
    expect(warned.map((w) => w.period)).toEqual(openings.map((o) => lotPeriodOfStream(o.streamId)?.period));
    // With room, the same openings are recorded (time travel meanwhile folds from the lot's start).
    await lotPeriodView.react(openings, periodViewContext(events));
    expect(await sideStreams()).toHaveLength(openings.length);
  });

  it("never holds a customer's id nor plate, before or after the customer is erased", async () => {
    const openings = await periodOpenings(events);
    await lotPeriodView.react(openings.slice(0, 1), periodViewContext(events));
    keys.erase("C-gone");
    // Decoded after the erasure, as the runtime would after a restart: the opening reads `erased`.
    await lotPeriodView.react(await periodOpenings(events), periodViewContext(events));
    const written = JSON.stringify((await sideStreams()).map((v) => v.data));
    expect(written).toContain('"mine"');
    for (const value of ["C-gone", "erased", PLATE, '"C1"', "customerId", "carNumber"])
      expect(written).not.toContain(value);
  });
});
