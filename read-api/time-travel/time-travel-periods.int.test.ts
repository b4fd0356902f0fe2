import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { RecordedEvent } from "../../event-store/port.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { countingReads } from "../../test-support/counting-event-store.js";
import { tempDataDir } from "../../test-support/service.js";
import { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { lotPeriodOfStream, parkingLotStream } from "../../write-side/parking-lot/periods.js";
import type { Views } from "../views/views.js";
import type { Cut } from "./as-of.js";
import { TimeTravel } from "./time-travel.js";

/**
 * Issue 48, item 3: time travel starts at the opening of the period that holds the moment. A lot's
 * timeline as of a moment inside period k reads no event before period k's opening (but the few
 * openings that locate it), and answers as the same lot without periods answers the same moment.
 */

const T0 = Date.parse("2026-11-02T06:00:00.000Z");
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** Events per period of lot P: its books close every 40 events. */
const BOUND = 40;

describe("time travel from the opening of the period holding the moment (issue 48)", () => {
  const data = tempDataDir("parking-tt-periods-");
  let events: SqliteEventStore;
  /** Each lot's events, all its periods', in log order. */
  const lotEvents = new Map<string, RecordedEvent[]>();

  beforeAll(async () => {
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    // The same commands at the same instants on P (books closed every BOUND events) and on Q (never).
    for (const [lot, periodEvents] of [
      ["P", BOUND],
      ["Q", 0],
    ] as const) {
      let clock = T0;
      const handler = new ParkingLotCommandHandler(events, {
        retryLimit: 5,
        cacheSize: 10,
        periodEvents,
        now: () => clock,
      });
      const run = async (command: Record<string, unknown>) => {
        const outcome = await handler.handle({ ...command, now: iso(clock) } as ParkingLotCommand, {
          correlationId: `c-${lot}-${clock}`,
          commandId: `cmd-${lot}-${clock}`,
          actor: { sub: "ops-test", role: "operator" },
        });
        // Open-ended bookings made while the closure is ahead are refused (on both lots alike).
        const refused = outcome.ok ? undefined : outcome.rejection.code;
        expect(refused === undefined || refused === "LotClosed", JSON.stringify(outcome)).toBe(true);
        clock += 7 * MINUTE;
        return outcome.ok;
      };
      const checkedIn = new Set<string>();
      await run({ type: "RegisterParkingLot", parkingLotId: lot, name: "Periods", capacity: 40 });
      for (let k = 0; k < 120; k++) {
        const reservationId = `${lot}-${k}`;
        const ids = { reservationId, parkingLotId: lot };
        const window =
          k % 3 === 2 ? { startsAt: iso(clock + 20 * MINUTE), endsAt: iso(clock + 80 * MINUTE) } : {};
        const booked = await run({
          type: "ReserveParking",
          ...ids,
          customerId: `C${k}`,
          carNumber: "10더8612",
          amount: 1000,
          ...window,
        });
        if (booked && k % 3 === 0) await run({ type: "CancelReservation", ...ids, reason: "changed plans" });
        if (booked && k % 3 === 1 && (await run({ type: "CheckIn", ...ids }))) checkedIn.add(reservationId);
        // The car checked in three bookings before leaves (one in three of them stays on).
        const before = `${lot}-${k - 3}`;
        if (checkedIn.has(before) && (k - 3) % 9 !== 1)
          await run({ type: "CheckOut", reservationId: before, parkingLotId: lot });
        if (k === 60) {
          const [from, until] = [clock + 30 * MINUTE, clock + 90 * MINUTE];
          await run({
            type: "CloseParkingLot",
            closureId: "works",
            parkingLotId: lot,
            from: iso(from),
            until: iso(until),
            reason: "works",
          });
        }
      }
    }
    for (const raw of await collect(events.readAll())) {
      const lot = lotPeriodOfStream(raw.streamId)?.parkingLotId;
      if (lot) lotEvents.set(lot, [...(lotEvents.get(lot) ?? []), raw]);
    }
  }, 120_000);
  afterAll(async () => {
    await events?.close();
    data.remove();
  });

  const openings = () => (lotEvents.get("P") ?? []).filter((e) => e.type === "LotPeriodOpened");
  const timeline = (lot: string) => (views: Views) => views.lots.timeline(lot, { stepMinutes: 15 });
  /** An answer without what names the lot or its log position (P's and Q's differ there). */
  const unnamed = (view: Record<string, unknown> | null) => {
    if (!view) return null;
    const { parkingLotId: _id, asOf, ...rest } = view as { asOf?: { at: string } } & Record<string, unknown>;
    return { ...rest, at: asOf?.at };
  };

  it("P's books closed several times; the moments asked lie in each of its periods", () => {
    expect(openings().length).toBeGreaterThanOrEqual(5);
    expect((lotEvents.get("Q") ?? []).every((e) => e.streamId === parkingLotStream("Q"))).toBe(true);
  });

  it("a timeline as of a moment inside period k reads no event before k's opening but the openings that locate it, and answers as the lot without periods", async () => {
    const recorded = countingReads(events);
    const travel = new TimeTravel(recorded.store, { maxFold: 100_000 });
    const whole = new TimeTravel(events, { maxFold: 100_000 });
    const cuts: { cut: Cut; period: number }[] = [];
    for (const opening of openings()) {
      const period = lotPeriodOfStream(opening.streamId)?.period ?? 0;
      const openedAt = Date.parse((opening.data as { openedAt: string }).openedAt);
      // Right after the opening (its timeline reaches an hour back, before it), and well inside it.
      cuts.push({ cut: { kind: "instant", ms: openedAt + 1 }, period });
      cuts.push({ cut: { kind: "instant", ms: openedAt + 3 * 60 * MINUTE }, period });
    }
    const closure = (lotEvents.get("P") ?? []).find((e) => e.type === "ParkingLotClosed");
    const closedIn = lotPeriodOfStream(closure?.streamId ?? "")?.period ?? Number.POSITIVE_INFINITY;
    let closedSlots = 0;
    for (const { cut, period } of cuts) {
      recorded.reads.length = 0;
      const view = await travel.lotView("P", cut, timeline("P"), "period");
      if (period > closedIn) closedSlots += view?.slots.filter((s) => s.closed).length ?? 0;
      const opening = openings().find((o) => lotPeriodOfStream(o.streamId)?.period === period);
      if (!opening) throw new Error(`no opening of period ${period}`);
      const before = recorded.reads.filter((r) => r.commit < opening.position.commit);
      expect(before.every((r) => r.type === "LotPeriodOpened")).toBe(true);
      expect(before.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(openings().length + 1)) + 1);
      // Nothing of a later period either: the fold stops at the moment.
      expect(
        recorded.reads
          .filter((r) => r.type !== "LotPeriodOpened")
          .every((r) => lotPeriodOfStream(r.streamId)?.period === period),
      ).toBe(true);
      expect(view?.slots.some((s) => s.held > 0)).toBe(true);
      expect(unnamed(view), JSON.stringify(cut)).toEqual(
        unnamed(await whole.lotView("Q", cut, timeline("Q"))),
      );
      expect(view).toEqual(await whole.lotView("P", cut, timeline("P")));
      // The lot itself, still folded from the start, takes each opening's state on the way: as Q's.
      expect(unnamed(await whole.parkingLot("P", cut))).toEqual(unnamed(await whole.parkingLot("Q", cut)));
    }
    // The closure announced in one period is shown from the lot's document as a later opening holds it.
    expect(closedSlots).toBeGreaterThan(0);
  });

  it("lays a checkpoint right after the opening, so the next moment of the period does not decode it again", async () => {
    const travel = new TimeTravel(events);
    const opening = openings().at(-1);
    if (!opening) throw new Error("no opening");
    const openedAt = Date.parse((opening.data as { openedAt: string }).openedAt);
    await travel.lotView("P", { kind: "instant", ms: openedAt + 1 }, timeline("P"), "period");
    expect(travel.stats().checkpoints).toBe(1);
  });

  it("a moment in period 0 (or on a lot with periods off) is folded from the lot's first event, as before", async () => {
    const first = (lotEvents.get("P") ?? [])[40];
    if (!first) throw new Error("no event");
    const cut: Cut = { kind: "position", commit: first.position.commit };
    const travel = new TimeTravel(events);
    expect(await travel.lotView("P", cut, timeline("P"), "period")).toEqual(
      await travel.lotView("P", cut, timeline("P")),
    );
    const q = lotEvents.get("Q")?.at(-1);
    if (!q) throw new Error("no event");
    const last: Cut = { kind: "position", commit: q.position.commit };
    const bounded = new TimeTravel(events, { maxFold: 100_000 });
    expect(await bounded.lotView("Q", last, timeline("Q"), "period")).toEqual(
      await bounded.lotView("Q", last, timeline("Q")),
    );
  });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
