import type { Position } from "../../event-store/position.js";
import { yieldWhenLong } from "../../platform/turn-slice.js";
import { PARKING_LOTS } from "../../projections/read-models/parking-lots.js";
import { LOT_STREAM_PREFIX, parkingLotOfStream } from "../../write-side/parking-lot/periods.js";
import type { LotQueries } from "./lot-view.js";
import type { ReadContext } from "./read-context.js";
import { type StoredLot, strip } from "./rules.js";

/** How many lots are read at a time (a page of lots, a chunk of ids: below the stores' `$in` bound). */
const CHUNK = 500;

/** One lot's part of the totals at an instant, and until when it holds with no new fact. */
interface Figures {
  readonly capacity: number;
  readonly held: number;
  readonly free: number;
  readonly from: number;
  readonly until: number;
}

/**
 * The control center's totals of every lot, kept in the query process and updated, not summed per
 * request: each lot's part (its own view, so no rule is restated) is kept until it can turn with no
 * fact or one of its events comes, so a read costs the lots changed or turned since the last one.
 */
export class EveryLotFigures {
  private figures = new Map<string, Figures>();
  private sums = { capacity: 0, held: 0, free: 0 };
  /** The collection the figures were read from, and the position it had applied then. */
  private readFrom: { readonly collection: string; readonly position: Position } | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** The first instant a kept lot's figures turn, and the latest instant one was read at. */
  private turns = { first: Number.POSITIVE_INFINITY, lastRead: Number.NEGATIVE_INFINITY };

  constructor(
    private readonly ctx: ReadContext,
    private readonly lots: LotQueries,
  ) {}

  /** Every lot's figures summed at `now`, as of at least the read models' positions when called. */
  at(now: number) {
    // One update at a time: each starts from where the one before left the figures.
    const next = this.running.catch(() => undefined).then(() => this.update(now));
    this.running = next;
    return next;
  }

  private async update(now: number) {
    const { collection: lots, position } = await this.ctx.applied(PARKING_LOTS);
    const events = this.ctx.options.eventStore;
    if (this.readFrom?.collection !== lots || !events) await this.readEvery(now);
    else {
      const ids = new Set<string>();
      const lotEvents = { from: this.readFrom.position, filter: { streamPrefixes: [LOT_STREAM_PREFIX] } };
      for await (const { streamId } of events.readAll(lotEvents)) {
        const id = parkingLotOfStream(streamId);
        if (id !== undefined) ids.add(id);
      }
      if (now < this.turns.lastRead || now >= this.turns.first) {
        this.turns.first = Number.POSITIVE_INFINITY;
        for (const [id, f] of this.figures)
          if (now < f.from || now >= f.until) ids.add(id);
          else this.turns.first = Math.min(this.turns.first, f.until);
      }
      await this.read([...ids], lots, now);
    }
    this.readFrom = position ? { collection: lots, position } : undefined;
    return {
      parkingLots: this.figures.size,
      capacity: this.sums.capacity,
      activeReservations: this.sums.held,
      availableSpots: this.sums.free,
    };
  }

  /** Every lot's figures from scratch, a page of lots at a time. */
  private async readEvery(now: number): Promise<void> {
    this.figures = new Map();
    this.sums = { capacity: 0, held: 0, free: 0 };
    this.turns = { first: Number.POSITIVE_INFINITY, lastRead: Number.NEGATIVE_INFINITY };
    for (let cursor: string | undefined; ; ) {
      const page = await this.lots.storedLots({ limit: CHUNK, ...(cursor ? { cursor } : {}) });
      await this.count(page.items, [], now);
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
      await yieldWhenLong();
    }
  }

  /** These lots' figures read again (a lot no longer stored leaves the totals). */
  private async read(ids: readonly string[], collection: string, now: number): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const docs = await this.ctx.store.find(collection, { parkingLotId: { $in: chunk } });
      await this.count(
        docs.map((d) => strip<StoredLot>(d) as StoredLot),
        chunk,
        now,
      );
      if (i + CHUNK < ids.length) await yieldWhenLong();
    }
  }

  /** Replaces the figures of `gone` (lots read again) and of `lots` by these lots' at `now`. */
  private async count(lots: readonly StoredLot[], gone: readonly string[], now: number): Promise<void> {
    for (const id of gone) this.set(id, undefined);
    for (const { view, until } of await this.lots.lotsUntil(lots, now))
      this.set(view.parkingLotId, {
        capacity: view.capacity,
        held: view.activeReservations,
        free: view.availableSpots,
        from: now,
        until,
      });
  }

  private set(id: string, figures: Figures | undefined): void {
    const was = this.figures.get(id);
    if (was) this.add(was, -1);
    if (figures) {
      this.figures.set(id, figures);
      this.turns.first = Math.min(this.turns.first, figures.until);
      this.turns.lastRead = Math.max(this.turns.lastRead, figures.from);
      this.add(figures, 1);
    } else this.figures.delete(id);
  }

  private add(f: Figures, sign: number): void {
    this.sums.capacity += sign * f.capacity;
    this.sums.held += sign * f.held;
    this.sums.free += sign * f.free;
  }
}
