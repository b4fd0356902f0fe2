import type { Filter } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { LATEST_INSTANT_MS } from "../../platform/instant.js";
import { mapInChunks } from "../../platform/turn-slice.js";
import { PARKING_LOTS } from "../../projections/read-models/parking-lots.js";
import { EVERY_LOT, type LotReach, lotConditions } from "../../schemas/lot-reach.js";
import { HOUR_MS, MAX_WINDOW_MS } from "../../schemas/pricing.js";
import type {
  AvailabilityView,
  ParkingLotDetail,
  ParkingLotView,
  TimelineView,
} from "../../schemas/read-models.js";
import type { RuleBroken } from "../../schemas/reservation-time.js";
import { quoteWindow } from "../../write-side/parking-lot/booking.js";
import type { RegisteredLot } from "../../write-side/parking-lot/decider.js";
import type { HeldTimeline } from "../../write-side/parking-lot/held-timeline.js";
import { overlapping } from "../../write-side/parking-lot/occupancy.js";
import { leaveAt, statusIn } from "../../write-side/parking-lot/rules.js";
import { LotStates } from "./lots-at.js";
import type { PageOf, ReadContext } from "./read-context.js";
import { AT_RISK_LIMIT, type AtRisk, iso, lotView, type StoredLot, strip } from "./rules.js";

/**
 * The lots as they stand at an instant. Every figure is the lot's decider counting on its own
 * state (lots-at.ts): its occupancy timeline, `quoteWindow`, `statusIn`, so no rule is restated.
 */
export class LotQueries {
  readonly states: LotStates;
  constructor(private readonly ctx: ReadContext) {
    this.states = new LotStates(ctx.options);
  }

  /** Waits (bounded) until the views a lot is read from have applied `minPosition`. */
  async awaitLot(minPosition: Position | null): Promise<void> {
    await this.ctx.awaitPosition(PARKING_LOTS, minPosition);
  }

  async parkingLot(id: string, minPosition: Position | null = null): Promise<ParkingLotView | null> {
    await this.awaitLot(minPosition);
    return this.lotAt(id, this.ctx.now());
  }
  async lotAt(id: string, now: number): Promise<ParkingLotView | null> {
    const [lot, held] = await Promise.all([this.storedLot(id), this.states.timeline(id, now)]);
    return lot && this.viewOf(lot, held, now);
  }
  async storedLot(id: string): Promise<StoredLot | null> {
    return strip<StoredLot>(await this.ctx.store.findById(await this.ctx.collection(PARKING_LOTS), id));
  }
  /** A stored lot at `now` on its decider state, whose capacity it takes (the two may be a fact apart). */
  viewOf(lot: StoredLot, held: { lot: RegisteredLot; timeline: HeldTimeline } | null, now: number) {
    return lotView(
      held ? { ...lot, capacity: held.lot.capacity } : lot,
      held?.timeline.heldAt(now) ?? 0,
      now,
    );
  }
  /** One lot with the spots free now and for the whole of each of the next six clock hours. */
  async parkingLotDetail(id: string, minPosition: Position | null = null): Promise<ParkingLotDetail | null> {
    await this.awaitLot(minPosition);
    const now = this.ctx.now();
    const [stored, held] = await Promise.all([this.storedLot(id), this.states.timeline(id, now)]);
    if (!stored || !held) return null;
    const lot = this.viewOf(stored, held, now);
    const hourStart = Math.floor(now / HOUR_MS) * HOUR_MS;
    const freeIn = (from: number, until: number) => freeSpots(held.lot, held.timeline, from, until);
    const freeNow = freeIn(now, now + 1);
    return {
      ...lot,
      availableSpots: freeNow,
      freeNow,
      // The current hour is counted from now, not from its start: minutes already past hold
      // nothing anyone can book.
      nextHours: Array.from({ length: 6 }, (_, k) => {
        const from = hourStart + k * HOUR_MS;
        const until = from + HOUR_MS;
        return { from: iso(from), until: iso(until), availableSpots: freeIn(Math.max(from, now), until) };
      }),
    };
  }
  /**
   * A lot's timeline: per step of [from, until), the most spots held at one instant (what a booking
   * of that step would be decided by), the cars overstaying into it and whether a closure overlaps it.
   */
  async timeline(
    id: string,
    range: { from?: number; until?: number; stepMinutes: number },
    minPosition: Position | null = null,
  ): Promise<TimelineView | null> {
    await this.awaitLot(minPosition);
    const now = this.ctx.now();
    const [stored, held] = await Promise.all([this.storedLot(id), this.states.timeline(id, now)]);
    if (!stored || !held) return null;
    const step = range.stepMinutes * 60_000;
    // By default the step now falls in (a quarter hour starts on the clock's quarter), and a day on.
    const from = range.from ?? Math.floor(now / step) * step;
    // Never past the last instant a Timestamp holds (a `from` on 9999-12-31 ends the year 9999).
    const until = range.until ?? Math.min(from + 24 * HOUR_MS, LATEST_INSTANT_MS);
    const overstayEnds = [...held.lot.inLot]
      .filter(([rid]) => {
        const record = held.lot.reservations.get(rid);
        return record !== undefined && statusIn(held.lot, rid, record, now) === "OVERSTAYING";
      })
      .map(([, car]) => car.endsAt);
    const slots: TimelineView["slots"] = [];
    for (let start = from; start < until; start += step) {
      const end = Math.min(start + step, until);
      slots.push({
        from: iso(start),
        until: iso(end),
        held: held.timeline.peak(start, end),
        overstaying: overstayEnds.filter((endsAt) => endsAt < end).length,
        closed: (stored.closures ?? []).some((c) => Date.parse(c.from) < end && Date.parse(c.until) > start),
      });
    }
    return {
      parkingLotId: id,
      capacity: held.lot.capacity,
      now: iso(now),
      from: iso(from),
      until: iso(until),
      stepMinutes: range.stepMinutes,
      slots,
    };
  }
  /** What a booking of the window [from, until) would be told now (`quoteWindow`: its own terms). */
  async availability(
    id: string,
    from: number,
    until: number,
    minPosition: Position | null = null,
  ): Promise<
    AvailabilityView | { closed: { from: string; until: string } } | { invalid: RuleBroken } | null
  > {
    await this.awaitLot(minPosition);
    const now = this.ctx.now();
    const held = await this.states.timeline(id, now);
    if (!held) return null;
    const quoted = quoteWindow(held.lot, { from, until, now }, held.timeline.peak);
    if ("code" in quoted) {
      if (quoted.code === "LotClosed") return { closed: { from: quoted.from, until: quoted.until } };
      if (quoted.code === "InvalidWindow") {
        const field = quoted.field === "startsAt" ? "query.from" : "query.until";
        return { invalid: { field, detail: quoted.detail.replace("startsAt", "from") } };
      }
      throw new Error(`a quote was refused ${quoted.code}`);
    }
    return {
      parkingLotId: id,
      from: iso(from),
      until: iso(until),
      availableSpots: quoted.free,
      amount: quoted.amount,
    };
  }
  /**
   * Reservations still to arrive that hold a spot over the next day when more are held than the lot
   * has (an overstay never cancels an accepted reservation: operators settle it). At most AT_RISK_LIMIT.
   */
  async atRisk(lotId: string, now: number): Promise<AtRisk[]> {
    const held = await this.states.timeline(lotId, now);
    if (!held) return [];
    const { lot, timeline } = held;
    const over = timeline.above(lot.capacity, now, now + MAX_WINDOW_MS);
    if (over.length === 0) return [];
    const last = (over.at(-1) as { end: number }).end;
    const candidates: { id: string; start: number; end: number }[] = overlapping(
      lot.occupancy,
      over[0]?.start ?? now,
      last,
    ).map(([id, span]) => ({ id, ...span }));
    for (const [id, madeAt] of lot.openEnded)
      if (!lot.inLot.has(id))
        candidates.push({ id, start: madeAt, end: leaveAt(lot, madeAt) ?? Number.POSITIVE_INFINITY });
    return candidates
      .filter(({ id, start, end }) => {
        const record = lot.reservations.get(id);
        if (!record || statusIn(lot, id, record, now) !== "RESERVED") return false;
        return over.some((o) => o.start < end && o.end > Math.max(start, now));
      })
      .sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1))
      .slice(0, AT_RISK_LIMIT)
      .map(({ id, start }) => {
        const record = lot.reservations.get(id);
        return {
          reservationId: id,
          carNumber: record?.carNumber ?? "",
          heldFrom: iso(Math.max(start, now)),
          ...(record?.startsAt === undefined
            ? {}
            : { startsAt: record.startsAt, endsAt: String(record.endsAt) }),
        };
      });
  }
  async parkingLots(options: {
    cursor?: string;
    limit: number;
    minPosition?: Position | null;
  }): Promise<PageOf<ParkingLotView>> {
    await this.awaitLot(options.minPosition ?? null);
    const now = this.ctx.now();
    const page = await this.storedLots(options);
    return { items: await this.lotsAt(page.items, now), nextCursor: page.nextCursor };
  }
  /** These stored lots as they stand at `now` (each counted on its decider state). */
  async lotsAt(lots: readonly StoredLot[], now: number): Promise<ParkingLotView[]> {
    return (await this.lotsUntil(lots, now)).map((l) => l.view);
  }
  /**
   * These stored lots at `now`, each with the first instant its figures can turn with no new fact;
   * a chunk at a time, so a page of 1,000 lets other callers in between (turn-slice.ts).
   */
  async lotsUntil(
    lots: readonly StoredLot[],
    now: number,
  ): Promise<{ readonly view: ParkingLotView; readonly until: number }[]> {
    this.states.touch(lots.map((lot) => lot.parkingLotId));
    return mapInChunks(lots, async (lot) => {
      const held = await this.states.timeline(lot.parkingLotId, now);
      const view = this.viewOf(lot, held, now);
      let until = held?.timeline.heldChangesAfter(now) ?? Number.POSITIVE_INFINITY;
      for (const c of lot.closures ?? [])
        for (const at of [Date.parse(c.from), Date.parse(c.until)]) if (at > now && at < until) until = at;
      return { view, until };
    });
  }
  /** The ids of the lots `within` reaches, at most `limit` (one index range per grant). */
  async lotIdsWithin(within: LotReach, limit: number): Promise<string[]> {
    return (await this.storedLots({ limit }, within)).items.map((lot) => lot.parkingLotId);
  }

  /** A page of lots as stored, by id; `within` a member of staff's lots, one bounded read per grant. */
  async storedLots(
    options: { cursor?: string; limit: number },
    within: LotReach = EVERY_LOT,
  ): Promise<PageOf<StoredLot>> {
    const collection = await this.ctx.collection(PARKING_LOTS);
    const after: Filter = options.cursor ? { parkingLotId: { $gt: options.cursor } } : {};
    const read = (condition: Filter) =>
      this.ctx.store.find(collection, condition, { sort: { parkingLotId: 1 }, limit: options.limit + 1 });
    const docs = within.every
      ? await read(after)
      : (await Promise.all(lotConditions(within).map((c) => read(andAfter(c, options.cursor)))))
          .flat()
          .sort((a, b) => (String(a.parkingLotId) < String(b.parkingLotId) ? -1 : 1))
          .filter((d, i, all) => i === 0 || all[i - 1]?.parkingLotId !== d.parkingLotId);
    const items = docs.slice(0, options.limit).map((d) => strip<StoredLot>(d) as StoredLot);
    return { items, nextCursor: docs.length > options.limit ? (items.at(-1)?.parkingLotId ?? null) : null };
  }
}

/** Capacity minus the most spots held at any instant of [from, until); none while a closure overlaps it. */
export function freeSpots(lot: RegisteredLot, timeline: HeldTimeline, from: number, until: number): number {
  if (lot.closures.some((c) => c.from < until && c.until > from)) return 0;
  return Math.max(0, lot.capacity - timeline.peak(from, until));
}

/** A condition on `parkingLotId` and, past a cursor, ids after it. */
function andAfter(condition: Filter, cursor: string | undefined): Filter {
  if (cursor === undefined) return condition;
  const on = condition.parkingLotId;
  const range = typeof on === "string" ? { $eq: on } : (on as Record<string, unknown>);
  const lower =
    typeof range.$gte === "string" && range.$gte > cursor ? { $gte: range.$gte } : { $gt: cursor };
  const { $gte: _g, ...rest } = range;
  return { parkingLotId: { ...rest, ...lower } };
}
