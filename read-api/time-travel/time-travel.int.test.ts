import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { formatPosition, type Position } from "../../event-store/position.js";
import { Metrics } from "../../platform/metrics.js";
import { parkingLotsProjection } from "../../projections/read-models/parking-lots.js";
import { reservationsProjection } from "../../projections/read-models/reservations.js";
import { systemActor } from "../../schemas/actor.js";
import { decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import type { DomainEvent } from "../../schemas/events.js";
import { countingReads } from "../../test-support/counting-event-store.js";
import { foldedLots } from "../../test-support/folded-lots.js";
import {
  controlCenterAsOfShows,
  liveControlCenterAt as liveControlCenter,
  lotAsOfShows,
} from "../../test-support/live-control-center.js";
import { tempDataDir } from "../../test-support/service.js";
import { parkingLotStream as lotStream } from "../../write-side/parking-lot/periods.js";
import { readViews, type Views } from "../views/views.js";
import type { Cut } from "./as-of.js";
import { FoldState } from "./fold-state.js";
import { FoldTooFarError, TimeTravel } from "./time-travel.js";

/**
 * Time travel answers every moment exactly as the live views over the log up to it do: a lot from
 * its state then (the one loader, issue 68), the control center from a fold of the log from its
 * last book (none here: the log's start) that folds at most `maxFold` events per answer (issue 34
 * item 4): a moment further is answered FoldTooFarError (503) having read no more.
 */
const LOT = "tt-1";
/** The same life five times as long. */
const LONG_LOT = "tt-5";
const T0 = Date.parse("2026-11-01T00:00:00.000Z");
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A lot's life over about two weeks per 120 bookings: open-ended and windowed, cancellations, stays. */
function lotLife(lotId: string, bookings = 120): DomainEvent[] {
  const events: DomainEvent[] = [
    {
      type: "ParkingLotRegistered",
      data: { parkingLotId: lotId, name: "Time lot", capacity: 5, registeredAt: iso(T0) },
    },
  ];
  const base = { parkingLotId: lotId, carNumber: "10더8612", amount: 1000 };
  for (let k = 0; k < bookings; k++) {
    const t = T0 + (k + 1) * 170 * MINUTE;
    const reservationId = `r-${k}`;
    const customerId = `C${k % 7}`;
    const ids = { reservationId, parkingLotId: lotId, customerId };
    if (k % 3 === 2) {
      const startsAt = iso(t + 30 * MINUTE);
      const endsAt = iso(t + 90 * MINUTE);
      events.push({
        type: "ParkingReserved",
        data: { ...base, ...ids, reservedAt: iso(t), startsAt, endsAt },
      });
      continue;
    }
    events.push({ type: "ParkingReserved", data: { ...base, ...ids, reservedAt: iso(t) } });
    if (k % 3 === 0) {
      events.push({
        type: "ReservationCanceled",
        data: { ...ids, reason: "changed plans", canceledAt: iso(t + 5 * MINUTE) },
      });
    } else {
      events.push({ type: "ReservationCheckedIn", data: { ...ids, checkedInAt: iso(t + 5 * MINUTE) } });
      if (k % 9 !== 1) {
        events.push({ type: "ReservationCheckedOut", data: { ...ids, checkedOutAt: iso(t + 60 * MINUTE) } });
      }
    }
  }
  return events;
}

describe("time travel through checkpoints", () => {
  const data = tempDataDir("parking-time-travel-");
  let store: SqliteEventStore;
  const lives = new Map([
    [LOT, lotLife(LOT)],
    [LONG_LOT, lotLife(LONG_LOT, 600)],
  ]);
  /** Windows booked hours ahead, so a moment's timeline holds windows booked before its checkpoint. */
  const AHEAD_LOT = "tt-ahead";
  const ahead: DomainEvent[] = [
    {
      type: "ParkingLotRegistered",
      data: { parkingLotId: AHEAD_LOT, name: "Ahead lot", capacity: 50, registeredAt: iso(T0) },
    },
  ];
  for (let k = 0; k < 80; k++) {
    const t = T0 + (k + 1) * 20 * MINUTE;
    const ids = { reservationId: `a-${k}`, parkingLotId: AHEAD_LOT, customerId: `C${k % 7}` };
    const startsAt = t + (2 + (k % 10)) * 60 * MINUTE;
    const window = k % 5 === 1 ? {} : { startsAt: iso(startsAt), endsAt: iso(startsAt + 120 * MINUTE) };
    ahead.push({
      type: "ParkingReserved",
      data: { ...ids, carNumber: "10더8612", amount: 1000, reservedAt: iso(t), ...window },
    });
    if (k % 4 === 0)
      ahead.push({
        type: "ReservationCanceled",
        data: { ...ids, reason: "changed plans", canceledAt: iso(t + 10 * MINUTE), ...window },
      });
  }
  const positions = new Map<string, Position[]>();

  beforeAll(async () => {
    store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    for (const [lot, life] of [...lives, [AHEAD_LOT, ahead] as const]) {
      let revision: number | "no_stream" = "no_stream";
      const at: Position[] = [];
      for (const event of life) {
        const causation = { correlationId: "c", causationId: "c", actor: systemActor("test") };
        const appended = await store.appendToStream(lotStream(lot), [encodeEvent(event, causation)], {
          expectedRevision: revision,
        });
        revision = appended.nextExpectedRevision;
        at.push(appended.position);
      }
      positions.set(lot, at);
    }
  });
  afterAll(async () => {
    await store?.close();
    data.remove();
  });

  /** The moments asked of a lot: positions through its life, and instants. */
  const cutsOf = (lot: string): Cut[] => [
    ...(positions.get(lot) ?? [])
      .filter((_p, i) => i % 37 === 3)
      .map((p): Cut => ({ kind: "position", commit: p.commit })),
    ...[1, 50, 333, 2000, 20_000, 90_000].map((m): Cut => ({ kind: "instant", ms: T0 + m * MINUTE + 1 })),
  ];

  /**
   * A view of the lot as the live service shows it over the same log, independent of time travel's
   * checkpoints and of the lot state it carries along a fold: the lot's whole stream up to the cut
   * folded into read models and the lot's decider state (every event, with `evolve`: test-support/folded-lots.ts),
   * read by the views.
   */
  async function liveViewAt<T extends object>(
    lot: string,
    cut: Cut,
    query: (views: Views) => Promise<T | null>,
  ): Promise<unknown> {
    const state = new FoldState([parkingLotsProjection, reservationsProjection]);
    const lots = foldedLots();
    let last: Position | null = null;
    let stampMs = Number.NEGATIVE_INFINITY;
    for await (const raw of store.readStream(lotStream(lot))) {
      const stamp = stampMsOfRaw(raw.type, raw.data);
      if (cut.kind === "position" ? raw.position.commit > cut.commit : stamp > cut.ms) break;
      const decoded = decodeEvent(raw);
      state.apply(decoded);
      lots.add(decoded.event);
      last = raw.position;
      stampMs = Math.max(stampMs, stamp);
    }
    const nowMs = cut.kind === "instant" ? cut.ms : last ? stampMs : Number.NaN;
    if (Number.isNaN(nowMs)) return null;
    const views = readViews(state.materialize(last), {
      readYourWritesTimeoutMs: 0,
      now: () => nowMs,
      lots: lots.lots,
    });
    const view = await query(views);
    return view && { ...view, asOf: { position: last && formatPosition(last), at: iso(nowMs) } };
  }
  const liveControlCenterAt = (cut: Cut, page: { readonly limit: number }) =>
    liveControlCenter(store, cut, page);
  const lotDetail = (lot: string) => (views: Views) => views.lots.parkingLotDetail(lot);

  it("a lot as of a moment is its state then (the one loader, issue 68): every moment answered as the live views over its whole stream, reading at most the period holding it", async () => {
    const counted = countingReads(store);
    const travel = new TimeTravel(counted.store);
    const mostRead = new Map<string, number>();
    for (const lot of lives.keys()) {
      // Late moments first, then early ones (from the start again), then late ones again (kept).
      const cuts = cutsOf(lot);
      const references = new Map<Cut, unknown>();
      for (const cut of cuts) {
        const reference = (await liveViewAt(lot, cut, lotDetail(lot))) as object | null;
        references.set(cut, reference && lotAsOfShows(reference));
      }
      for (const cut of [...cuts].reverse().concat(cuts, [...cuts].reverse())) {
        counted.reset();
        const view = await travel.parkingLot(lot, cut);
        mostRead.set(lot, Math.max(mostRead.get(lot) ?? 0, counted.read()));
        expect(view && lotAsOfShows(view), `${lot} ${JSON.stringify(cut)}`).toEqual(references.get(cut));
      }
    }
    // At most the period holding the moment (here period 0, the lot's whole stream) and the event
    // beyond it that ends the read.
    const period = (lot: string) => (lives.get(lot) as DomainEvent[]).length;
    expect(mostRead.get(LOT)).toBeLessThanOrEqual(period(LOT) + 1);
    expect(mostRead.get(LONG_LOT)).toBeLessThanOrEqual(period(LONG_LOT) + 1);
    expect(mostRead.get(LONG_LOT)).toBeGreaterThan(period(LOT) + 1);
  });

  it("a lot's timeline as of a moment, from the lot's state carried to the moment, is the whole fold's", async () => {
    const travel = new TimeTravel(store);
    const timeline = (lot: string) => (views: Views) => views.lots.timeline(lot, { stepMinutes: 30 });
    for (const lot of [...lives.keys(), AHEAD_LOT]) {
      const cuts = cutsOf(lot);
      // Each moment's reference computed once; every moment answered twice, cold and then warm.
      const references = new Map<Cut, unknown>();
      for (const cut of [...cuts].reverse().concat(cuts)) {
        if (!references.has(cut)) references.set(cut, await liveViewAt(lot, cut, timeline(lot)));
        const view = await travel.lotView(lot, cut, timeline(lot));
        expect(view, `${lot} ${JSON.stringify(cut)}`).toEqual(references.get(cut));
      }
    }
  });

  it("the control center as of a moment, every lot's state carried along the fold: the live views' answers over the log to the moment", async () => {
    const travel = new TimeTravel(store);
    const cuts = [
      ...cutsOf(LONG_LOT).filter((_c, i) => i % 3 === 0),
      ...cutsOf(AHEAD_LOT).filter((_c, i) => i % 2 === 1),
    ];
    const references = new Map<Cut, unknown>();
    for (const cut of cuts) references.set(cut, await liveControlCenterAt(cut, { limit: 10 }));
    for (const cut of [...cuts].reverse().concat(cuts)) {
      const view = await travel.controlCenter(cut, { limit: 10 });
      expect(controlCenterAsOfShows(view), JSON.stringify(cut)).toEqual(references.get(cut));
    }
    // The lots' facts are not kept as documents: their states are, by the one loader's cache (lots-at.ts).
    expect(travel.metricsStats().state_bytes).toBeGreaterThan(0);
  });

  it("folds at most `maxFold` events of the log per control center answer: a moment further from the last book is refused, reading no more", async () => {
    const counted = countingReads(store);
    const travel = new TimeTravel(counted.store, { maxFold: 40 });
    const head = positions.get(AHEAD_LOT)?.at(-1) as Position;
    await expect(
      travel.controlCenter({ kind: "position", commit: head.commit }, { limit: 10 }),
    ).rejects.toThrow(FoldTooFarError);
    expect(counted.read()).toBeLessThanOrEqual(41);
    // A moment within the bound (the log's first events, no book kept here) is answered.
    const early = positions.get(LOT)?.[20] as Position;
    const view = await travel.controlCenter({ kind: "position", commit: early.commit }, { limit: 10 });
    expect(controlCenterAsOfShows(view)).toEqual(
      await liveControlCenterAt({ kind: "position", commit: early.commit }, { limit: 10 }),
    );
  });

  it("reports the lots' states kept (the one loader's cache, lots-at.ts) in /metrics", async () => {
    const metricsOf = async (travel: TimeTravel) => {
      const metrics = new Metrics({ defaultMetrics: false });
      metrics.watchTimeTravel(() => travel.metricsStats());
      const text = await metrics.registry.metrics();
      const kind = (name: string) =>
        Number(
          new RegExp(`^parking_time_travel_checkpoints\\{kind="${name}"\\} (\\d+)$`, "m").exec(text)?.[1],
        );
      return { bytes: kind("bytes"), stateBytes: kind("state_bytes") };
    };
    const head = (lot: string): Cut => ({
      kind: "position",
      commit: positions.get(lot)?.at(-1)?.commit ?? 0,
    });
    const travel = new TimeTravel(store);
    expect(await metricsOf(travel)).toEqual({ bytes: 0, stateBytes: 0 });
    await travel.parkingLot(AHEAD_LOT, head(AHEAD_LOT));
    const lot = await metricsOf(travel);
    expect(lot.stateBytes).toBeGreaterThan(0);
    expect(lot.bytes).toBe(lot.stateBytes);
    travel.forgetPersonalData();
    expect(await metricsOf(travel)).toEqual({ bytes: 0, stateBytes: 0 });
  });
});
