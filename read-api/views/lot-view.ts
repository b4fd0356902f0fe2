import type { Filter } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { PARKING_LOTS } from "../../projections/read-models/parking-lots.js";
import { HELD_OPEN_ENDED, RESERVATIONS } from "../../projections/read-models/reservations.js";
import { EVERY_LOT, type LotReach, lotConditions } from "../../schemas/lot-reach.js";
import { HOUR_MS, MAX_WINDOW_MS, quote } from "../../schemas/pricing.js";
import type {
  AvailabilityView,
  ParkingLotDetail,
  ParkingLotView,
  TimelineView,
} from "../../schemas/read-models.js";
import { nextClosureStart, peak, type Span } from "../../schemas/reservation-time.js";
import type { PageOf, ReadContext } from "./read-context.js";
import {
  AT_RISK_LIMIT,
  type AtRisk,
  freeSpots,
  type Holder,
  iso,
  lotView,
  overstayingAt,
  type StoredLot,
  strip,
  windowsHoldingAt,
} from "./rules.js";

/**
 * The lots as they stand at an instant: one lot, a page of them, the free spots of the next
 * hours, a lot's timeline, what a window would find, and which reservations an overstay puts at
 * risk. What a lot holds now is read from the reservations (windows start and end without events).
 */
export class LotQueries {
  constructor(private readonly ctx: ReadContext) {}

  async parkingLot(id: string, minPosition: Position | null = null): Promise<ParkingLotView | null> {
    // What a lot holds now is read from the reservations: both views must have reached the position.
    await this.ctx.awaitPosition(PARKING_LOTS, minPosition);
    await this.ctx.awaitPosition(RESERVATIONS, minPosition);
    return this.lotAt(id, this.ctx.now());
  }
  async lotAt(id: string, now: number): Promise<ParkingLotView | null> {
    const lot = await this.storedLot(id);
    if (!lot) return null;
    const windows = await this.windowsHeldAt(now, [id]);
    return lotView(lot, windows.get(id) ?? 0, now);
  }
  async storedLot(id: string): Promise<StoredLot | null> {
    return strip<StoredLot>(await this.ctx.store.findById(await this.ctx.collection(PARKING_LOTS), id));
  }
  /**
   * The windows holding a spot at `now`, per lot (of `lots`, or of every lot): one grouped count
   * over the `by_lot_starts_at_held_until` index (`by_starts_at_held_until_lot` for every lot),
   * which holds all it needs, so no document is read. Windows start and end with no event, so this
   * is read when asked; a window is at most a day long (MAX_WINDOW_MS), so one holding a spot now
   * started within the last day: the index range is the lots and that day, never the lots'
   * history. Only windows have `startsAt`; `heldUntil` is their end, cut short by a cancellation
   * or a check-out.
   */
  async windowsHeldAt(now: number, lots?: readonly string[]): Promise<Map<string, number>> {
    if (lots?.length === 0) return new Map();
    const reservations = await this.ctx.collection(RESERVATIONS);
    const inLots = lots === undefined ? {} : { parkingLotId: lots.length === 1 ? lots[0] : { $in: lots } };
    const [holding, overstaying] = await Promise.all([
      this.ctx.store.countBy(reservations, { ...inLots, ...windowsHoldingAt(now) }, "parkingLotId"),
      // A car in the lot past its window's end holds its spot until it checks out, however long
      // (schemas/reservation-time.ts): checked in, heldUntil (the window's end) passed.
      this.ctx.store.countBy(reservations, { ...inLots, ...overstayingAt(now) }, "parkingLotId"),
    ]);
    const counts = new Map(holding as Map<string, number>);
    for (const [lot, n] of overstaying as Map<string, number>) counts.set(lot, (counts.get(lot) ?? 0) + n);
    return counts;
  }
  /**
   * One lot with the spots free now and in each clock hour from the current one on (`hours` of
   * them; free for the whole hour), computed when asked from the reservations' windows, so they
   * change as time passes, without an event.
   */
  async parkingLotDetail(
    id: string,
    minPosition: Position | null = null,
    hours = 6,
  ): Promise<ParkingLotDetail | null> {
    await this.ctx.awaitPosition(PARKING_LOTS, minPosition);
    await this.ctx.awaitPosition(RESERVATIONS, minPosition);
    const now = this.ctx.now();
    const lot = await this.lotAt(id, now);
    if (!lot) return null;
    const hourStart = Math.floor(now / HOUR_MS) * HOUR_MS;
    const end = hourStart + hours * HOUR_MS;
    const stored = await this.storedLot(id);
    if (!stored) return null;
    const spans = await this.heldSpans(stored, Math.min(now, hourStart), end);
    const slots = Array.from({ length: hours }, (_, k): [number, number] => [
      hourStart + k * HOUR_MS,
      hourStart + (k + 1) * HOUR_MS,
    ]);
    const freeIn = ([from, until]: [number, number]) => freeSpots(lot, spans, from, until);
    const freeNow = freeIn([now, now + 1]);
    return {
      ...lot,
      availableSpots: freeNow,
      freeNow,
      // The current hour is counted from now, not from its start: minutes already past hold
      // nothing anyone can book, and counting them made it disagree with free now after a cancel.
      nextHours: slots.map(([from, until]) => ({
        from: iso(from),
        until: iso(until),
        availableSpots: freeIn([Math.max(from, now), until]),
      })),
    };
  }
  /**
   * A lot's timeline: per step of [from, until), the most spots held at one instant (the sweep a
   * booking is decided with, over the same held spans), how many of them are cars overstaying,
   * and whether a closure overlaps it. One read of the spans for the whole range.
   */
  async timeline(
    id: string,
    range: { from?: number; until?: number; stepMinutes: number },
    minPosition: Position | null = null,
  ): Promise<TimelineView | null> {
    await this.ctx.awaitPosition(PARKING_LOTS, minPosition);
    await this.ctx.awaitPosition(RESERVATIONS, minPosition);
    const now = this.ctx.now();
    const lot = await this.storedLot(id);
    if (!lot) return null;
    const step = range.stepMinutes * 60_000;
    // By default the step now falls in (a quarter hour starts on the clock's quarter), and a day on.
    const from = range.from ?? Math.floor(now / step) * step;
    const until = range.until ?? from + 24 * HOUR_MS;
    const holders = await this.holders(lot, from, until);
    const spans = holders.map((h) => h.span);
    const slots: TimelineView["slots"] = [];
    for (let start = from; start < until; start += step) {
      const end = Math.min(start + step, until);
      slots.push({
        from: iso(start),
        until: iso(end),
        held: peak(spans, start, end).held,
        overstaying: holders.filter(
          ({ doc, span }) =>
            doc.status === "CHECKED_IN" &&
            doc.endsAt !== undefined &&
            Date.parse(String(doc.endsAt)) < end &&
            span.start < end,
        ).length,
        closed: (lot.closures ?? []).some((c) => Date.parse(c.from) < end && Date.parse(c.until) > start),
      });
    }
    return {
      parkingLotId: id,
      capacity: lot.capacity,
      now: iso(now),
      from: iso(from),
      until: iso(until),
      stepMinutes: range.stepMinutes,
      slots,
    };
  }
  /**
   * What a window [from, until) would find in a lot: free spots, and its price at the lot's rate;
   * or, like a booking, the closure that overlaps it.
   */
  async availability(
    id: string,
    from: number,
    until: number,
    minPosition: Position | null = null,
  ): Promise<AvailabilityView | { closed: { from: string; until: string } } | null> {
    await this.ctx.awaitPosition(RESERVATIONS, minPosition);
    await this.ctx.awaitPosition(PARKING_LOTS, minPosition);
    const lot = await this.storedLot(id);
    if (!lot) return null;
    const closure = (lot.closures ?? []).find(
      (c) => Date.parse(c.from) < until && Date.parse(c.until) > from,
    );
    if (closure) return { closed: { from: closure.from, until: closure.until } };
    const spans = await this.heldSpans(lot, from, until);
    return {
      parkingLotId: id,
      from: iso(from),
      until: iso(until),
      availableSpots: freeSpots(lot, spans, from, until),
      amount: lot.hourlyRate === undefined ? null : quote(lot.hourlyRate, from, until),
    };
  }
  /**
   * The spans each reservation of a lot holds that reach into [from, until), as the decider counts
   * them (schemas/reservation-time.ts): a window over itself; an open-ended booking from when it
   * was made until the first closure that begins after that (which cancels it) or for ever; a car
   * in the lot until it checks out, however long past its window. One index range for the spans
   * reaching past `from` (by_lot_held_until: never the lot's history of ended reservations), and
   * one for the cars that overstayed before it (by_lot_status_held_until).
   */
  async heldSpans(lot: StoredLot, from: number, until: number): Promise<Span[]> {
    return (await this.holders(lot, from, until)).map((h) => h.span);
  }
  /** The reservations holding a spot in [from, until) with the span each holds (see heldSpans). */
  async holders(lot: StoredLot, from: number, until: number): Promise<Holder[]> {
    const reservations = await this.ctx.collection(RESERVATIONS);
    const now = this.ctx.now();
    const [reaching, overstayed] = await Promise.all([
      this.ctx.store.find(reservations, {
        parkingLotId: lot.parkingLotId,
        heldUntil: { $gt: iso(from) },
        heldFrom: { $lt: iso(until) },
      }),
      this.ctx.store.find(reservations, { parkingLotId: lot.parkingLotId, ...overstayingAt(from) }),
    ]);
    return [...reaching, ...overstayed].map((doc) => {
      const start = Date.parse(String(doc.heldFrom));
      const end =
        doc.status === "CHECKED_IN"
          ? Number.POSITIVE_INFINITY
          : doc.heldUntil !== HELD_OPEN_ENDED
            ? Date.parse(String(doc.heldUntil))
            : (nextClosureStart(lot.closures ?? [], start, now) ?? Number.POSITIVE_INFINITY);
      return { doc, span: { start, end } };
    });
  }
  /**
   * The reservations of a lot an overstay puts at risk over the next day: those still to arrive
   * that hold a spot at an instant when more spots are held than the lot has (the cars in the lot
   * count first: an overstay never cancels an accepted reservation, so operators settle it). At
   * most AT_RISK_LIMIT, soonest first.
   */
  async atRisk(lot: StoredLot, now: number): Promise<AtRisk[]> {
    const holders = await this.holders(lot, now, now + MAX_WINDOW_MS);
    const edges: [number, number][] = [];
    for (const { span } of holders) {
      const start = Math.max(span.start, now);
      if (start < span.end) edges.push([start, 1], [span.end, -1]);
    }
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    // The stretches of time when more spots are held than the lot has.
    const over: Span[] = [];
    let held = 0;
    for (const [at, delta] of edges) {
      const was = held;
      held += delta;
      if (was <= lot.capacity && held > lot.capacity) over.push({ start: at, end: Number.POSITIVE_INFINITY });
      else if (was > lot.capacity && held <= lot.capacity)
        over[over.length - 1] = { ...over.at(-1)!, end: at };
    }
    if (over.length === 0) return [];
    return holders
      .filter(
        ({ doc, span }) =>
          doc.status === "RESERVED" &&
          over.some((o) => o.start < span.end && o.end > Math.max(span.start, now)),
      )
      .sort((a, b) => a.span.start - b.span.start)
      .slice(0, AT_RISK_LIMIT)
      .map(({ doc, span }) => ({
        reservationId: String(doc._id),
        carNumber: String(doc.carNumber),
        heldFrom: iso(Math.max(span.start, now)),
        ...(doc.startsAt === undefined ? {} : { startsAt: String(doc.startsAt), endsAt: String(doc.endsAt) }),
      }));
  }
  async parkingLots(options: {
    cursor?: string;
    limit: number;
    minPosition?: Position | null;
  }): Promise<PageOf<ParkingLotView>> {
    await this.ctx.awaitPosition(PARKING_LOTS, options.minPosition ?? null);
    await this.ctx.awaitPosition(RESERVATIONS, options.minPosition ?? null);
    const now = this.ctx.now();
    const page = await this.storedLots(options);
    const windows = await this.windowsHeldAt(
      now,
      page.items.map((l) => l.parkingLotId),
    );
    return {
      items: page.items.map((lot) => lotView(lot, windows.get(lot.parkingLotId) ?? 0, now)),
      nextCursor: page.nextCursor,
    };
  }
  /**
   * A page of lots as stored, by id; `within` a member of staff's lots, only those: one bounded
   * read per granted lot or id prefix (an index range each), merged by id.
   */
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
