import type { Filter } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import { withTimeout } from "../../platform/timeout.js";
import {
  activityId,
  CLOSURE_ID_END,
  CONTROL_CENTER,
  closureId,
  EMPTY_TOTALS,
  minuteOf,
  TOTALS_ID,
} from "../../projections/read-models/control-center.js";
import { PARKING_LOTS } from "../../projections/read-models/parking-lots.js";
import { RESERVATIONS } from "../../projections/read-models/reservations.js";
import type { ActivityMinute, ControlCenterTotals, ControlCenterView } from "../../schemas/read-models.js";
import type { LotQueries } from "./lot-view.js";
import type { ReadContext } from "./read-context.js";
import {
  ACTIVITY_WINDOW_MS,
  heldNow,
  iso,
  lotView,
  PRESENCE_LIMIT,
  type Presence,
  presenceFilters,
  type StoredTotals,
  strip,
} from "./rules.js";

/**
 * The control center: totals, a page of lots with who is in, expected, overstaying and at risk,
 * the last hour's activity and every processor's state, all as of one instant.
 */
export class ControlCenterQueries {
  constructor(
    private readonly ctx: ReadContext,
    private readonly lots: LotQueries,
  ) {}

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
    await this.ctx.awaitPosition(CONTROL_CENTER, minPosition);
    await this.ctx.awaitPosition(PARKING_LOTS, minPosition);
    await this.ctx.awaitPosition(RESERVATIONS, minPosition);
    const now = this.ctx.now();
    const [totalsDoc, lots, windows, closedNow, projections, activity] = await Promise.all([
      this.ctx.store.findById(await this.ctx.collection(CONTROL_CENTER), TOTALS_ID),
      this.lots.storedLots(options),
      this.lots.windowsHeldAt(now),
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
          .map(async (lot) => [lot.parkingLotId, await this.lots.atRisk(lot, now)] as const),
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
    const closed = await Promise.all(closedNow.map((id) => this.lots.storedLot(id)));
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
    const docs = await this.ctx.store.find(await this.ctx.collection(CONTROL_CENTER), {
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
    const reservations = await this.ctx.collection(RESERVATIONS);
    const filters = presenceFilters(lots, now);
    const count = (filter: Filter) =>
      this.ctx.store.countBy(reservations, filter, "parkingLotId", { limit: PRESENCE_LIMIT });
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
    const docs = await this.ctx.store.find(
      await this.ctx.collection(CONTROL_CENTER),
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
    const [head, generations] = await Promise.all([this.headPosition(), this.ctx.activeGenerations()]);
    return this.ctx.projections.statuses(generations, head);
  }

  /**
   * The head of the log, null for an empty log; undefined when the event store cannot be reached
   * (queries keep working while it is down; lag is then unknown, not an error).
   */
  private async headPosition(): Promise<Position | null | undefined> {
    if (!this.ctx.options.eventStore) return undefined;
    try {
      return await withTimeout(this.ctx.options.eventStore.headPosition(), 500, "event store");
    } catch {
      return undefined;
    }
  }
}
