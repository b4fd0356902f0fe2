import type { Document } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { COUPONS } from "../../projections/read-models/customer-coupons.js";
import { RESERVATIONS } from "../../projections/read-models/reservations.js";
import type { CouponView, ReservationStatus, ReservationView } from "../../schemas/read-models.js";
import { nextClosureStart, statusAt } from "../../schemas/reservation-time.js";
import type { LotQueries } from "./lot-view.js";
import type { PageOf, ReadContext } from "./read-context.js";

/** What GET /reservations asks: filters, a page, and the position to wait for. */
export interface ReservationQuery {
  readonly parkingLotId?: string;
  /** Only these lots (a member of staff's): one bounded read per lot, merged newest first. */
  readonly parkingLotIds?: readonly string[];
  readonly customerId?: string;
  readonly carNumber?: string;
  readonly status?: ReservationStatus;
  readonly cursor?: string;
  readonly limit: number;
  readonly minPosition?: Position | null;
}

import {
  iso,
  type StoredLot,
  type StoredReservation,
  statusFilters,
  strip,
  type TimedView,
} from "./rules.js";

/** Reservations and coupons, one or a page newest first, with the status the clock gives them now. */
export class ReservationQueries {
  constructor(
    private readonly ctx: ReadContext,
    private readonly lots: LotQueries,
  ) {}

  async reservation(id: string, minPosition: Position | null = null): Promise<ReservationView | null> {
    await this.ctx.awaitPosition(RESERVATIONS, minPosition);
    const doc = strip<StoredReservation>(
      await this.ctx.store.findById(await this.ctx.collection(RESERVATIONS), id),
    );
    if (!doc) return null;
    const [view] = await this.asOf([doc], this.ctx.now());
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
    await Promise.all(lotIds.map(async (lotId) => lots.set(lotId, await this.lots.storedLot(lotId))));
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
  async reservations(options: ReservationQuery): Promise<PageOf<ReservationView>> {
    const filter: Record<string, unknown> = {};
    if (options.parkingLotId) filter.parkingLotId = options.parkingLotId;
    if (options.customerId) filter.customerId = options.customerId;
    if (options.carNumber) filter.carNumber = options.carNumber;
    await this.ctx.awaitPosition(RESERVATIONS, options.minPosition ?? null);
    const now = this.ctx.now();
    const reservations = await this.ctx.collection(RESERVATIONS);
    // The status shown is the stored one, except that a window which has ended reads COMPLETED
    // (asOfNow): each status filter selects exactly the reservations shown with that status.
    const lots = options.parkingLotIds?.map((parkingLotId) => ({ parkingLotId })) ?? [{}];
    const parts = statusFilters(options.status, now).flatMap((condition) =>
      lots.map((lot) => this.newestDocs(reservations, { ...filter, ...lot, ...condition }, options)),
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
    await this.ctx.awaitPosition(logical, options.minPosition ?? null);
    const docs = await this.newestDocs(await this.ctx.collection(logical), filter, options);
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
    return this.ctx.store.find<Document & { seq: number }>(collection, query, {
      sort: { seq: -1 },
      limit: options.limit + 1,
    });
  }
}
