import { setTimeout as sleep } from "node:timers/promises";
import type { Document, DocumentStore, Filter } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import { formatPosition, type Position, reached } from "../event-store/position.js";
import { withTimeout } from "../platform/timeout.js";
import { PROCESSOR_NAMES, REACTOR_NAMES } from "../projections/processors.js";
import {
  activityId,
  CLOSURE_ID_END,
  CONTROL_CENTER,
  closureId,
  EMPTY_TOTALS,
  minuteOf,
  TOTALS_ID,
} from "../projections/read-models/control-center.js";
import { COUPONS } from "../projections/read-models/customer-coupons.js";
import { PROJECTIONS } from "../projections/read-models/index.js";
import { PARKING_LOTS } from "../projections/read-models/parking-lots.js";
import { HELD_OPEN_ENDED, RESERVATIONS } from "../projections/read-models/reservations.js";
import {
  activeGenerations,
  CHECKPOINTS,
  type CheckpointDocument,
  checkpointId,
  physicalCollection,
  readCheckpoint,
} from "../projections/runtime/checkpoints.js";
import { readLeases } from "../projections/runtime/leases.js";
import { HOUR_MS, MAX_WINDOW_MS, quote } from "../schemas/pricing.js";
import type {
  ActivityMinute,
  AvailabilityView,
  ControlCenterTotals,
  ControlCenterView,
  CouponView,
  ParkingLotDetail,
  ParkingLotView,
  ReservationStatus,
  ReservationView,
  TimelineView,
} from "../schemas/read-models.js";
import { nextClosureStart, peak, type Span, statusAt } from "../schemas/reservation-time.js";

/** Which projection keeps each read model (query routing), derived from the projections themselves. */
const OWNER: Readonly<Record<string, string>> = Object.fromEntries(
  PROJECTIONS.flatMap((projection) => Object.keys(projection.collections).map((c) => [c, projection.name])),
);

export interface PageOf<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** The view has not reached the position the caller asked for within the wait bound. */
export class PositionNotReachedError extends Error {
  override name = "PositionNotReachedError";
  constructor(
    readonly wanted: Position,
    readonly projection: string,
    readonly applied: Position | null,
  ) {
    super(
      `${projection} is at ${applied ? formatPosition(applied) : "nothing"}, not yet at ${formatPosition(wanted)}`,
    );
  }
}

/** The caller asked for a position the log has not reached: no wait would ever answer it. */
export class PositionBeyondHeadError extends Error {
  override name = "PositionBeyondHeadError";
  constructor(
    readonly wanted: Position,
    readonly head: Position | null,
  ) {
    super(
      `minPosition ${formatPosition(wanted)} is beyond the newest position of the log (${head ? formatPosition(head) : "the log is empty"})`,
    );
  }
}

/** Too many queries are already waiting for their position: this one is refused at once. */
export class TooManyWaitingError extends Error {
  override name = "TooManyWaitingError";
}

/** Source of in-process progress notifications (the projector, when it runs in this process). */
export interface ProgressSource {
  onAdvance(listener: (name: string, position: Position) => void): () => void;
}

const GENERATION_TTL_MS = 200;
/** The control center's chart covers the last hour. */
const ACTIVITY_WINDOW_MS = 60 * 60_000;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The conditions on a stored reservation that select those shown with `status` at `now` (see
 * asOfNow: a RESERVED or CHECKED_IN window that has ended reads COMPLETED), each one page query:
 * RESERVED and CHECKED_IN exclude windows that have ended, COMPLETED adds them to the checked-out
 * ones. The window's end is checked on `endsAt`, which no index holds, so each query walks an index
 * of the stored status (with the lot or the customer when asked) newest first and stops at the
 * page: its order comes from the index, and what it reads beyond the page are the reservations of
 * that stored status whose window is on the other side of now.
 */
export function statusFilters(status: ReservationStatus | undefined, now: number): Filter[] {
  const ended = { $lte: iso(now) };
  switch (status) {
    case undefined:
      return [{}];
    case "RESERVED":
    case "CHECKED_IN":
      // Not ended: an open-ended reservation (no endsAt) or a window ending after now.
      return [{ status, endsAt: { $not: ended } }];
    case "CANCELED":
      return [{ status }];
    case "COMPLETED":
      return [{ status: "COMPLETED" }];
    case "NO_SHOW":
      return [{ status: "NO_SHOW" }, { status: "RESERVED", endsAt: ended }];
    case "OVERSTAYING":
      return [{ status: "CHECKED_IN", endsAt: ended }];
  }
}

/**
 * What presence counts in `lots` at `now`: checked in; checked in with the window over; reserved,
 * starting (or made, if open-ended) from an hour ago to an hour ahead, window not over. The lots
 * and the status lead each filter (the `by_lot_status…` indexes), and, for who is expected, the
 * two hours around now. A RESERVED or CHECKED_IN reservation's `heldUntil` is its window's end
 * (open-ended: the far future), so each filter is one the store counts in SQL.
 */
export function presenceFilters(lots: readonly string[], now: number): Record<keyof Presence, Filter> {
  const inLots = { parkingLotId: lots.length === 1 ? lots[0] : { $in: lots } };
  return {
    inLot: { ...inLots, status: "CHECKED_IN" },
    overstaying: { ...inLots, ...overstayingAt(now) },
    expected: {
      ...inLots,
      status: "RESERVED",
      // Only windows have an arrival time: an open-ended booking is not expected at any hour, and
      // counting those made lately would read every one of them (a million in a busy hour).
      startsAt: { $gte: iso(now - HOUR_MS), $lt: iso(now + HOUR_MS) },
      // Still to come: its window has not ended (one that passed unused is COMPLETED).
      heldUntil: { $gt: iso(now) },
    },
    // A window over without a check-in is NO_SHOW at once (the scheduler records it within
    // seconds); heldUntil stays its end, so the last day of them is one index range.
    noShows: {
      ...inLots,
      status: { $in: ["RESERVED", "NO_SHOW"] },
      heldUntil: { $gt: iso(now - 24 * HOUR_MS), $lte: iso(now) },
    },
  };
}

/** The filter of the cars in the lot past their window's end at `now` (each holds its spot until it checks out). */
export const overstayingAt = (now: number): Filter => ({
  status: "CHECKED_IN",
  heldUntil: { $lte: iso(now) },
});

/** The filter of the windows holding a spot at `now`: started within the last day, not yet ended. */
export const windowsHoldingAt = (now: number): Filter => ({
  startsAt: { $gt: iso(now - MAX_WINDOW_MS), $lte: iso(now) },
  heldUntil: { $gt: iso(now) },
});

/**
 * Capacity minus the most spots held at any instant of [from, until) (the shared sweep of
 * schemas/reservation-time.ts, the one the decider counts with); 0 while a closure overlaps it.
 */
export function freeSpots(
  lot: Pick<ParkingLotView, "capacity" | "closures">,
  spans: readonly Span[],
  from: number,
  until: number,
): number {
  const closed = (lot.closures ?? []).some((c) => Date.parse(c.from) < until && Date.parse(c.until) > from);
  if (closed) return 0;
  return Math.max(0, lot.capacity - peak(spans, from, until).held);
}

/** A lot as the parking-lots projection stores it: the counters, without what depends on the clock. */
type StoredLot = Omit<ParkingLotView, "availableSpots" | "activeReservations" | "closedUntil"> & {
  openEndedHeld?: number;
  /** Per closure that began, the cars that were in the lot then (listed for operators). */
  closuresBegun?: { closureId: string; carsInLot: string[] }[];
};
type StoredTotals = typeof EMPTY_TOTALS;
type Presence = ControlCenterView["parkingLots"][number]["presence"];

/** A reservation holding a spot over a span (what availability and the at-risk list read). */
type Holder = { readonly doc: Document; readonly span: Span };
type AtRisk = ControlCenterView["parkingLots"][number]["atRisk"][number];
/** The most reservations at risk listed per lot. */
export const AT_RISK_LIMIT = 50;

/** The most reservations each presence count reads for one view (a bound on the work, not a page). */
export const PRESENCE_LIMIT = 10_000;

/** The end of the closure in effect at `now`, if any (the latest end when several overlap). */
function closedUntil(closures: readonly { from: string; until: string }[] | undefined, now: number) {
  let until: string | undefined;
  for (const c of closures ?? []) {
    if (Date.parse(c.from) <= now && Date.parse(c.until) > now && (until === undefined || c.until > until))
      until = c.until;
  }
  return until;
}

/** The spots a lot holds now: its open-ended reservations (never counted below 0) and its windows holding one. */
const heldNow = (lot: Pick<StoredLot, "openEndedHeld">, windowsHeld: number): number =>
  Math.max(0, lot.openEndedHeld ?? 0) + windowsHeld;

/**
 * A lot as it stands at `now`: the spots held are the open-ended reservations (a counter its
 * projection keeps exact from events alone; never below 0) plus the windows holding a spot at
 * that instant; a lot closed now has no free spot.
 */
function lotView(lot: StoredLot, windowsHeld: number, now: number): ParkingLotView {
  const { openEndedHeld: _, closuresBegun, closures, ...rest } = lot;
  const held = heldNow(lot, windowsHeld);
  const until = closedUntil(closures, now);
  // The closures that matter now: in force or ahead (the ended ones are history, and the list stays
  // bounded by the decider's limit on closures not ended), each with the cars in the lot when it began.
  const cars = new Map((closuresBegun ?? []).map((c) => [c.closureId, c.carsInLot]));
  const current = (closures ?? [])
    .filter((c) => Date.parse(c.until) > now)
    .map((c) => {
      const carsInLot = cars.get(c.closureId);
      return carsInLot === undefined ? c : { ...c, carsInLot };
    });
  return {
    ...rest,
    ...(closures === undefined ? {} : { closures: current }),
    activeReservations: held,
    availableSpots: until === undefined ? Math.max(0, lot.capacity - held) : 0,
    ...(until === undefined ? {} : { closedUntil: until }),
  };
}

/** A reservation as the reservations projection stores it: the view and the span it holds. */
type StoredReservation = ReservationView & { heldFrom?: string; heldUntil?: string };
type TimedView = Parameters<typeof statusAt>[0];

function strip<T>(doc: Document | null): T | null {
  if (!doc) return null;
  const { _id, seq, ...rest } = doc as Document & { seq?: unknown };
  return rest as T;
}

/**
 * Answers the control-center queries from the read models. It reads whichever generation of
 * each projection is active, so a replay can swap in rebuilt collections under running queries.
 */
export class QueryService {
  private generations: { at: number; value: Map<string, number> } | undefined;

  constructor(
    private readonly store: DocumentStore,
    private readonly options: {
      readonly eventStore?: EventStore;
      readonly progress?: ProgressSource;
      readonly readYourWritesTimeoutMs: number;
      /** Most queries waiting for their position at once; past it they are refused at once. */
      readonly readYourWritesMaxWaiting?: number;
      /** The clock "free now" and "the next hours" are computed with (ms since the epoch). */
      readonly now?: () => number;
    },
  ) {}

  /** Queries waiting for their position right now (bounded by readYourWritesMaxWaiting). */
  private waiting = 0;

  /** What time it is for the views (the service's one clock). */
  now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  private async generationOf(projection: string): Promise<number> {
    const now = Date.now();
    if (!this.generations || now - this.generations.at > GENERATION_TTL_MS) {
      this.generations = { at: now, value: await activeGenerations(this.store) };
    }
    return this.generations.value.get(projection) ?? 1;
  }

  private async collection(logical: string): Promise<string> {
    const projection = OWNER[logical] as string;
    return physicalCollection(logical, await this.generationOf(projection));
  }

  /** Waits (bounded) until the projection serving `logical` has applied `position`. */
  async awaitPosition(logical: string, position: Position | null): Promise<void> {
    if (!position) return;
    const projection = OWNER[logical] as string;
    const deadline = Date.now() + this.options.readYourWritesTimeoutMs;
    let applied = await this.appliedPosition(projection);
    if (reached(applied, position)) return;
    // A position the log has not reached yet was never answered by a command: refuse it now
    // rather than hold a connection for the whole wait.
    if (this.options.eventStore) {
      const head = await this.options.eventStore.headPosition();
      if (head === null || position.commit > head.commit) throw new PositionBeyondHeadError(position, head);
    }
    if (this.waiting >= (this.options.readYourWritesMaxWaiting ?? Number.POSITIVE_INFINITY))
      throw new TooManyWaitingError(`${this.waiting} queries are already waiting for their position`);
    this.waiting++;
    let unsubscribe: (() => void) | undefined;
    let wake: (() => void) | undefined;
    if (this.options.progress) {
      unsubscribe = this.options.progress.onAdvance((name, p) => {
        if (name === projection && reached(p, position)) wake?.();
      });
    }
    try {
      let interval = 5;
      while (Date.now() < deadline) {
        await Promise.race([
          sleep(Math.min(interval, Math.max(1, deadline - Date.now()))),
          new Promise<void>((r) => (wake = r)),
        ]);
        applied = await this.appliedPosition(projection);
        if (reached(applied, position)) return;
        interval = Math.min(50, interval * 2);
      }
      throw new PositionNotReachedError(position, projection, applied);
    } finally {
      this.waiting--;
      unsubscribe?.();
    }
  }

  private async appliedPosition(projection: string): Promise<Position | null> {
    const checkpoint = await readCheckpoint(this.store, projection, await this.generationOf(projection));
    return checkpoint?.position ?? null;
  }

  async parkingLot(id: string, minPosition: Position | null = null): Promise<ParkingLotView | null> {
    // What a lot holds now is read from the reservations: both views must have reached the position.
    await this.awaitPosition(PARKING_LOTS, minPosition);
    await this.awaitPosition(RESERVATIONS, minPosition);
    return this.lotAt(id, this.now());
  }

  private async lotAt(id: string, now: number): Promise<ParkingLotView | null> {
    const lot = await this.storedLot(id);
    if (!lot) return null;
    const windows = await this.windowsHeldAt(now, [id]);
    return lotView(lot, windows.get(id) ?? 0, now);
  }

  private async storedLot(id: string): Promise<StoredLot | null> {
    return strip<StoredLot>(await this.store.findById(await this.collection(PARKING_LOTS), id));
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
  private async windowsHeldAt(now: number, lots?: readonly string[]): Promise<Map<string, number>> {
    if (lots?.length === 0) return new Map();
    const reservations = await this.collection(RESERVATIONS);
    const inLots = lots === undefined ? {} : { parkingLotId: lots.length === 1 ? lots[0] : { $in: lots } };
    const [holding, overstaying] = await Promise.all([
      this.store.countBy(reservations, { ...inLots, ...windowsHoldingAt(now) }, "parkingLotId"),
      // A car in the lot past its window's end holds its spot until it checks out, however long
      // (schemas/reservation-time.ts): checked in, heldUntil (the window's end) passed.
      this.store.countBy(reservations, { ...inLots, ...overstayingAt(now) }, "parkingLotId"),
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
    await this.awaitPosition(PARKING_LOTS, minPosition);
    await this.awaitPosition(RESERVATIONS, minPosition);
    const now = this.now();
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
    await this.awaitPosition(PARKING_LOTS, minPosition);
    await this.awaitPosition(RESERVATIONS, minPosition);
    const now = this.now();
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
    await this.awaitPosition(RESERVATIONS, minPosition);
    await this.awaitPosition(PARKING_LOTS, minPosition);
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
  private async heldSpans(lot: StoredLot, from: number, until: number): Promise<Span[]> {
    return (await this.holders(lot, from, until)).map((h) => h.span);
  }

  /** The reservations holding a spot in [from, until) with the span each holds (see heldSpans). */
  private async holders(lot: StoredLot, from: number, until: number): Promise<Holder[]> {
    const reservations = await this.collection(RESERVATIONS);
    const now = this.now();
    const [reaching, overstayed] = await Promise.all([
      this.store.find(reservations, {
        parkingLotId: lot.parkingLotId,
        heldUntil: { $gt: iso(from) },
        heldFrom: { $lt: iso(until) },
      }),
      this.store.find(reservations, { parkingLotId: lot.parkingLotId, ...overstayingAt(from) }),
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
  private async atRisk(lot: StoredLot, now: number): Promise<AtRisk[]> {
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
    await this.awaitPosition(PARKING_LOTS, options.minPosition ?? null);
    await this.awaitPosition(RESERVATIONS, options.minPosition ?? null);
    const now = this.now();
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

  /** A page of lots as stored, by id. */
  private async storedLots(options: { cursor?: string; limit: number }): Promise<PageOf<StoredLot>> {
    const filter: Filter = options.cursor ? { parkingLotId: { $gt: options.cursor } } : {};
    const docs = await this.store.find(await this.collection(PARKING_LOTS), filter, {
      sort: { parkingLotId: 1 },
      limit: options.limit + 1,
    });
    const items = docs.slice(0, options.limit).map((d) => strip<StoredLot>(d) as StoredLot);
    return { items, nextCursor: docs.length > options.limit ? (items.at(-1)?.parkingLotId ?? null) : null };
  }

  async reservation(id: string, minPosition: Position | null = null): Promise<ReservationView | null> {
    await this.awaitPosition(RESERVATIONS, minPosition);
    const doc = strip<StoredReservation>(await this.store.findById(await this.collection(RESERVATIONS), id));
    if (!doc) return null;
    const [view] = await this.asOf([doc], this.now());
    return view ?? null;
  }

  /**
   * Reservations as they stand at `now`, with the status the clock gives (statusAt, shared with the
   * decider): a window over without a check-in is NO_SHOW, a car past its window OVERSTAYING, an
   * open-ended booking still RESERVED when its lot's next closure begins CANCELED, before the
   * scheduler's events say so. An open-ended booking still to leave for a closure says when
   * (`mustLeaveBy`). The spans availability reads are not part of the view.
   */
  private async asOf(docs: readonly StoredReservation[], now: number): Promise<ReservationView[]> {
    const openEnded = docs.filter((d) => d.status === "RESERVED" && d.endsAt === undefined);
    const lotIds = [...new Set(openEnded.map((d) => d.parkingLotId))];
    const lots = new Map<string, StoredLot | null>();
    await Promise.all(lotIds.map(async (lotId) => lots.set(lotId, await this.storedLot(lotId))));
    return docs.map(({ heldFrom: _f, heldUntil: _u, ...view }) => {
      if (view.status !== "RESERVED" || view.endsAt !== undefined)
        return { ...view, status: statusAt(view as TimedView, now) };
      const closures = lots.get(view.parkingLotId)?.closures ?? [];
      const leave = nextClosureStart(closures, Date.parse(view.reservedAt), Number.NEGATIVE_INFINITY);
      const mustLeaveBy = leave === undefined ? undefined : iso(leave);
      const status = statusAt({ status: "RESERVED", mustLeaveBy }, now);
      return { ...view, status, ...(mustLeaveBy && status === "RESERVED" ? { mustLeaveBy } : {}) };
    });
  }

  async reservations(options: {
    parkingLotId?: string;
    customerId?: string;
    carNumber?: string;
    status?: ReservationStatus;
    cursor?: string;
    limit: number;
    minPosition?: Position | null;
  }): Promise<PageOf<ReservationView>> {
    const filter: Record<string, unknown> = {};
    if (options.parkingLotId) filter.parkingLotId = options.parkingLotId;
    if (options.customerId) filter.customerId = options.customerId;
    if (options.carNumber) filter.carNumber = options.carNumber;
    await this.awaitPosition(RESERVATIONS, options.minPosition ?? null);
    const now = this.now();
    const reservations = await this.collection(RESERVATIONS);
    // The status shown is the stored one, except that a window which has ended reads COMPLETED
    // (asOfNow): each status filter selects exactly the reservations shown with that status.
    const parts = statusFilters(options.status, now).map((condition) =>
      this.newestDocs(reservations, { ...filter, ...condition }, options),
    );
    const docs = (await Promise.all(parts)).flat();
    // Each part is its newest limit + 1 below the cursor: together, the newest limit + 1 of them all.
    if (parts.length > 1) docs.sort((a, b) => b.seq - a.seq);
    const page = docs.slice(0, options.limit);
    const last = page.at(-1);
    return {
      items: await this.asOf(
        page.map((d) => strip<StoredReservation>(d) as StoredReservation),
        now,
      ),
      nextCursor: docs.length > options.limit && last ? String(last.seq) : null,
    };
  }

  async customerCoupons(
    customerId: string,
    options: { cursor?: string; limit: number; minPosition?: Position | null },
  ): Promise<PageOf<CouponView>> {
    return this.newestFirst<CouponView>(COUPONS, { customerId }, options);
  }

  /**
   * A page of `logical` matching `filter`, newest first by `seq` (the global position of the event
   * that created each document), continuing below `cursor`: an index range, however deep the page.
   */
  private async newestFirst<T>(
    logical: string,
    filter: Record<string, unknown>,
    options: { cursor?: string; limit: number; minPosition?: Position | null },
  ): Promise<PageOf<T>> {
    await this.awaitPosition(logical, options.minPosition ?? null);
    const docs = await this.newestDocs(await this.collection(logical), filter, options);
    const page = docs.slice(0, options.limit);
    const last = page.at(-1);
    return {
      items: page.map((d) => strip<T>(d) as T),
      nextCursor: docs.length > options.limit && last ? String(last.seq) : null,
    };
  }

  /** The newest `limit + 1` documents of `collection` matching `filter` below `cursor`, by `seq`. */
  private async newestDocs(
    collection: string,
    filter: Record<string, unknown>,
    options: { cursor?: string; limit: number },
  ): Promise<(Document & { seq: number })[]> {
    const query = options.cursor ? { ...filter, seq: { $lt: Number(options.cursor) } } : filter;
    return this.store.find<Document & { seq: number }>(collection, query, {
      sort: { seq: -1 },
      limit: options.limit + 1,
    });
  }

  /**
   * Totals and a page of lots (the same cursor as parkingLots), once the views they are read from
   * reached minPosition, all as of one instant: the windows holding a spot then are counted once,
   * per lot, for every lot, and both the lots and the totals are made of those counts, so the
   * totals are the sum of the lots.
   */
  async controlCenter(options: {
    cursor?: string;
    limit: number;
    minPosition?: Position | null;
  }): Promise<ControlCenterView> {
    const minPosition = options.minPosition ?? null;
    await this.awaitPosition(CONTROL_CENTER, minPosition);
    await this.awaitPosition(PARKING_LOTS, minPosition);
    await this.awaitPosition(RESERVATIONS, minPosition);
    const now = this.now();
    const [totalsDoc, lots, windows, closedNow, projections, activity] = await Promise.all([
      this.store.findById(await this.collection(CONTROL_CENTER), TOTALS_ID),
      this.storedLots(options),
      this.windowsHeldAt(now),
      this.lotsClosedAt(now),
      this.projectionStatuses(),
      this.activity(new Date(now - ACTIVITY_WINDOW_MS), new Date(now)),
    ]);
    const [presence, totals] = await Promise.all([
      this.presence(
        lots.items.map((l) => l.parkingLotId),
        now,
      ),
      this.totalsAt(strip<StoredTotals>(totalsDoc) ?? { ...EMPTY_TOTALS }, windows, closedNow),
    ]);
    const none = { inLot: 0, expected: 0, overstaying: 0, noShows: 0 };
    // Only an overstay can put accepted reservations at risk (every decision kept within capacity).
    const atRisk = new Map(
      await Promise.all(
        lots.items
          .filter((lot) => (presence.get(lot.parkingLotId)?.overstaying ?? 0) > 0)
          .map(async (lot) => [lot.parkingLotId, await this.atRisk(lot, now)] as const),
      ),
    );
    return {
      totals,
      activity,
      parkingLots: lots.items.map((lot) => ({
        ...lotView(lot, windows.get(lot.parkingLotId) ?? 0, now),
        presence: presence.get(lot.parkingLotId) ?? none,
        atRisk: atRisk.get(lot.parkingLotId) ?? [],
      })),
      parkingLotsNextCursor: lots.nextCursor,
      projections,
    };
  }

  /**
   * The totals at the instant `windows` were counted at: the spots held are the open-ended reservations (the projection's
   * counter) plus the windows holding a spot in any lot (`windows`, per lot); the free spots are
   * the capacity they leave, less what the lots closed then (`closedNow`) leave: a closed lot has none free.
   * That is the sum of each lot's free spots, as no lot holds more than its capacity.
   */
  private async totalsAt(
    { openEndedHeld, ...stored }: StoredTotals,
    windows: ReadonlyMap<string, number>,
    closedNow: readonly string[],
  ): Promise<ControlCenterTotals> {
    let held = Math.max(0, openEndedHeld ?? 0);
    for (const n of windows.values()) held += n;
    const closed = await Promise.all(closedNow.map((id) => this.storedLot(id)));
    const unavailable = closed.reduce(
      (sum, lot) =>
        lot ? sum + Math.max(0, lot.capacity - heldNow(lot, windows.get(lot.parkingLotId) ?? 0)) : sum,
      0,
    );
    return {
      ...stored,
      activeReservations: held,
      availableSpots: Math.max(0, stored.capacity - held - unavailable),
    };
  }

  /**
   * The lots closed at `now`: the control-center projection keeps one document per closure, its
   * id ordered by the closure's end, so those not over yet are one range of ids (a closure is at
   * most 31 days long and starts at most 90 days ahead), whatever the history.
   */
  private async lotsClosedAt(now: number): Promise<string[]> {
    const docs = await this.store.find(await this.collection(CONTROL_CENTER), {
      _id: { $gt: closureId(iso(now), "", ""), $lt: CLOSURE_ID_END },
    });
    const lots = new Set<string>();
    for (const d of docs) {
      if (Date.parse(String(d.from)) <= now && Date.parse(String(d.until)) > now)
        lots.add(String(d.parkingLotId));
    }
    return [...lots];
  }

  /**
   * Who is in each of `lots` now (checked in), who is expected within the hour (a window starting
   * from an hour ago to an hour ahead, not checked in, not over; an open-ended booking has no
   * arrival time), and who stays past their endsAt (checked in, window over), as of
   * `now`. Three grouped counts over the `by_lot_status…` indexes, each restricted to these lots
   * (and, for who is expected, to those two hours), each reading at most PRESENCE_LIMIT
   * reservations, whatever the history.
   */
  private async presence(lots: readonly string[], now: number): Promise<Map<string, Presence>> {
    const byLot = new Map<string, Presence>();
    if (lots.length === 0) return byLot;
    const reservations = await this.collection(RESERVATIONS);
    const filters = presenceFilters(lots, now);
    const count = (filter: Filter) =>
      this.store.countBy(reservations, filter, "parkingLotId", { limit: PRESENCE_LIMIT });
    const [inLot, overstaying, expected, noShows] = await Promise.all([
      count(filters.inLot),
      count(filters.overstaying),
      count(filters.expected),
      count(filters.noShows),
    ]);
    for (const lot of lots) {
      byLot.set(lot, {
        inLot: inLot.get(lot) ?? 0,
        expected: expected.get(lot) ?? 0,
        overstaying: overstaying.get(lot) ?? 0,
        noShows: noShows.get(lot) ?? 0,
      });
    }
    return byLot;
  }

  /** Reservations and cancellations per minute from `from` to `until` (both minutes included), oldest first. */
  async activity(from: Date, until: Date): Promise<ActivityMinute[]> {
    const docs = await this.store.find(
      await this.collection(CONTROL_CENTER),
      {
        _id: {
          $gte: activityId(minuteOf(from.toISOString())),
          $lte: activityId(minuteOf(until.toISOString())),
        },
      },
      { sort: { _id: 1 }, limit: 24 * 60 },
    );
    return docs.map((d) => ({
      minute: String(d.minute),
      reserved: Number(d.reserved ?? 0),
      canceled: Number(d.canceled ?? 0),
    }));
  }

  /** Each processor's (projections, then reactors) applied position and lag behind the head of the log. */
  async projectionStatuses(): Promise<ControlCenterView["projections"]> {
    const names = PROCESSOR_NAMES;
    const ids = await Promise.all(
      names.map(async (name) =>
        checkpointId(name, REACTOR_NAMES.has(name) ? 1 : await this.generationOf(name)),
      ),
    );
    // One read for every checkpoint (a handful of documents), beside the head of the log.
    const [head, docs, leases] = await Promise.all([
      this.headPosition(),
      this.store.find<CheckpointDocument>(CHECKPOINTS, { _id: { $in: ids } }),
      readLeases(this.store),
    ]);
    const byId = new Map(docs.map((d) => [d._id, d]));
    const now = Date.now();
    return names.map((name, i) => {
      const checkpoint = byId.get(ids[i] as string) ?? null;
      const position = checkpoint?.position ?? null;
      const lease = leases.get(name);
      const leaseState: "free" | "held" | "expired" | undefined = lease
        ? lease.owner === null
          ? "free"
          : lease.expiresAt > now
            ? "held"
            : "expired"
        : undefined;
      // Failed is what the checkpoint says; otherwise a processor runs while someone holds its
      // lease (a fresh one has no checkpoint yet), and has stopped when nobody does.
      const state =
        checkpoint?.state === "failed"
          ? "failed"
          : leaseState === undefined
            ? (checkpoint?.state ?? "stopped")
            : leaseState === "held"
              ? "running"
              : "stopped";
      return {
        name,
        state,
        position: position ? formatPosition(position) : null,
        headPosition: head ? formatPosition(head) : null,
        lag: head === undefined ? null : Math.max(0, (head?.commit ?? 0) - (position?.commit ?? 0)),
        ...(checkpoint?.error ? { error: checkpoint.error } : {}),
        ...(lease && leaseState
          ? {
              lease: {
                holder: lease.owner,
                state: leaseState,
                expiresAt: lease.expiresAt > 0 ? new Date(lease.expiresAt).toISOString() : null,
              } as const,
            }
          : {}),
      };
    });
  }

  /**
   * The head of the log, null for an empty log; undefined when the event store cannot be reached
   * (queries keep working while it is down; lag is then unknown, not an error).
   */
  private async headPosition(): Promise<Position | null | undefined> {
    if (!this.options.eventStore) return undefined;
    try {
      return await withTimeout(this.options.eventStore.headPosition(), 500, "event store");
    } catch {
      return undefined;
    }
  }
}
