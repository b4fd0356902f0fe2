import type { Position } from "../../event-store/position.js";
import { withTimeout } from "../../platform/timeout.js";
import { mapInChunks } from "../../platform/turn-slice.js";
import {
  activityId,
  CLOSURE_ID_END,
  CONTROL_CENTER,
  closureId,
  EMPTY_TOTALS,
  lotCouponsId,
  minuteOf,
  TOTALS_ID,
} from "../../projections/read-models/control-center.js";
import { BOUNDARIES_SINCE } from "../../projections/read-models/control-center-clock.js";
import { GATE_REVIEWS } from "../../projections/read-models/gate-reviews.js";
import { LOT_MONEY } from "../../projections/read-models/lot-money.js";
import { PARKING_LOTS } from "../../projections/read-models/parking-lots.js";
import { RESERVATIONS } from "../../projections/read-models/reservations.js";
import { EVERY_LOT, type LotReach, reachKey } from "../../schemas/lot-reach.js";
import { HOUR_MS } from "../../schemas/pricing.js";
import type { ActivityMinute, ControlCenterTotals, ControlCenterView } from "../../schemas/read-models.js";
import type { RegisteredLot } from "../../write-side/parking-lot/decider.js";
import { overlapping } from "../../write-side/parking-lot/occupancy.js";
import { statusIn } from "../../write-side/parking-lot/rules.js";
import { MomentCache, nextMinute, nextOf, nextWindowTurn } from "./control-center-moment.js";
import { EveryLotFigures } from "./every-lot-figures.js";
import type { LotQueries } from "./lot-view.js";
import { type MoneyQueries, sumMoney, today } from "./money-view.js";
import { ownerOf, type ReadContext } from "./read-context.js";
import { ACTIVITY_WINDOW_MS, iso, type Presence, type StoredTotals, strip } from "./rules.js";

/** Open gate reviews counted per control-center read at most, over its lots (past it, lower bounds). */
const OPEN_REVIEWS_COUNTED = 10_000;

/** The local day the lots' money today shares, or the UTC day when their zones' todays differ. */
const dayOfAll = (days: readonly { readonly day: string }[], now: number): string => {
  const distinct = new Set(days.map((d) => d.day));
  return distinct.size === 1 ? (days[0]?.day ?? today(now)) : today(now);
};

/** The figures of the moment: everything in the control center but the processors and who is at risk. */
interface Moment {
  readonly totals: ControlCenterTotals;
  readonly activity: ActivityMinute[];
  readonly parkingLots: Omit<ControlCenterView["parkingLots"][number], "atRisk">[];
  readonly nextCursor: string | null;
  /** Today's money summed over the page's lots that have any (absent: none has). */
  readonly money?: ControlCenterView["money"];
}

/** A lot's coupon counts, as the control-center projection keeps them (lotCouponsId). */
interface LotCoupons {
  readonly couponsIssued: number;
  readonly couponsRevoked: number;
}

const OWNER_OF = { controlCenter: ownerOf(CONTROL_CENTER), reservations: ownerOf(RESERVATIONS) };
/** The read models the figures of the moment are read from, and the projections keeping them. */
const READS = [CONTROL_CENTER, PARKING_LOTS, RESERVATIONS, LOT_MONEY];
const READ_FROM = new Set(READS.map(ownerOf));

/** A cached control center's key: the page, the active generations and the projections' checkpoints. */
const momentKey = (
  options: { cursor?: string; limit: number; within?: LotReach },
  generations: ReadonlyMap<string, number>,
  projections: ControlCenterView["projections"],
): string =>
  JSON.stringify([
    options.cursor ?? null,
    options.limit,
    reachKey(options.within ?? EVERY_LOT),
    [...generations].sort(([a], [b]) => (a < b ? -1 : 1)),
    projections.filter((p) => READ_FROM.has(p.name)).map((p) => [p.name, p.position]),
  ]);

/** The totals a member of staff scoped to lots sees: their page's lots summed, nothing of another, not a count. */
function scopedTotals(
  lots: readonly Omit<ControlCenterView["parkingLots"][number], "atRisk">[],
  coupons: ReadonlyMap<string, LotCoupons>,
): ControlCenterTotals {
  const couponsOf = (field: keyof LotCoupons) =>
    lots.reduce((n, lot) => n + (coupons.get(lot.parkingLotId)?.[field] ?? 0), 0);
  const sum = (of: (lot: (typeof lots)[number]) => number) => lots.reduce((n, lot) => n + of(lot), 0);
  return {
    parkingLots: lots.length,
    capacity: sum((l) => l.capacity),
    availableSpots: sum((l) => l.availableSpots),
    activeReservations: sum((l) => l.activeReservations),
    totalReservations: sum((l) => l.totalReservations),
    // As of a moment, a lot opened by a version that kept no count counts none (ParkingLotView).
    canceledReservations: sum((l) => l.canceledReservations ?? 0),
    couponsIssued: couponsOf("couponsIssued"),
    couponsRevoked: couponsOf("couponsRevoked"),
  };
}

/** The control center: totals, a page of lots, the last hour's activity and the processors, at one instant. */
export class ControlCenterQueries {
  private readonly moments = new MomentCache<Moment>();
  private readonly everyLot: EveryLotFigures;
  constructor(
    private readonly ctx: ReadContext,
    private readonly lots: LotQueries,
    private readonly money: MoneyQueries,
  ) {
    this.everyLot = new EveryLotFigures(ctx, lots);
  }

  /**
   * Lots and totals are made of the same per-lot counts, so the totals are the sum of the lots. The
   * figures of the moment are read again only when a read model moved or the clock reached an
   * instant where one can turn (control-center-moment.ts).
   */
  async controlCenter(options: {
    cursor?: string;
    limit: number;
    minPosition?: Position | null;
    /** A member of staff's lots: the page holds only those, and the figures are theirs (scopedTotals). */
    within?: LotReach;
  }): Promise<ControlCenterView> {
    const minPosition = options.minPosition ?? null;
    for (const logical of READS) await this.ctx.awaitPosition(logical, minPosition);
    const now = this.ctx.now();
    // Before the figures: the positions they are read at (or after) key the cache.
    const [head, generations] = await Promise.all([this.headPosition(), this.ctx.activeGenerations()]);
    const projections = await this.ctx.projections.statuses(generations, head);
    const key = momentKey(options, generations, projections);
    const moment =
      this.moments.get(key, now) ?? (await this.readMoment(options, now, { key, generations, projections }));
    // Only an overstay can put accepted reservations at risk (every decision kept within capacity).
    const atRisk = new Map(
      await mapInChunks(
        moment.parkingLots.filter((lot) => lot.presence.overstaying > 0),
        async (lot) => [lot.parkingLotId, await this.lots.atRisk(lot.parkingLotId, now)] as const,
      ),
    );
    // Each lot's gate reads waiting for an attendant, one index-only pass over the page's lots.
    const reviews = moment.parkingLots.length
      ? await this.ctx.store.countBy(
          await this.ctx.collection(GATE_REVIEWS),
          { parkingLotId: { $in: moment.parkingLots.map((lot) => lot.parkingLotId) } },
          "parkingLotId",
          { limit: OPEN_REVIEWS_COUNTED },
        )
      : new Map();
    return {
      totals: moment.totals,
      activity: moment.activity,
      parkingLots: moment.parkingLots.map((lot) => {
        const openReviews = reviews.get(lot.parkingLotId) ?? 0;
        return {
          ...lot,
          atRisk: atRisk.get(lot.parkingLotId) ?? [],
          ...(openReviews ? { openReviews } : {}),
        };
      }),
      parkingLotsNextCursor: moment.nextCursor,
      // The page's lots' money: a scoped operator's page holds only theirs, so it is theirs too.
      ...(moment.money ? { money: moment.money } : {}),
      projections,
    };
  }
  /**
   * The figures of the moment, kept until the first instant they can turn, only when the boundaries
   * cover what was read (the control-center projection applied what the reservations one had).
   */
  private async readMoment(
    options: { cursor?: string; limit: number; within?: LotReach },
    now: number,
    readAt: {
      key: string;
      generations: ReadonlyMap<string, number>;
      projections: ControlCenterView["projections"];
    },
  ): Promise<Moment> {
    // A member of staff scoped to lots sees the totals of their page (scopedTotals): none of every lot's.
    const scoped = options.within !== undefined && !options.within.every;
    const [totalsDoc, lots, everyLot, closing, activity] = await Promise.all([
      scoped ? null : this.ctx.store.findById(await this.ctx.collection(CONTROL_CENTER), TOTALS_ID),
      this.lots.storedLots(options, options.within),
      scoped ? undefined : this.everyLot.at(now),
      this.closureInstants(now),
      scoped ? [] : this.activity(new Date(now - ACTIVITY_WINDOW_MS), new Date(now)),
    ]);
    const ids = lots.items.map((l) => l.parkingLotId);
    const [states, money, lotCoupons] = await Promise.all([
      this.lots.states.states(ids),
      this.money.today(lots.items, now),
      scoped ? this.lotCoupons(ids) : new Map<string, LotCoupons>(),
    ]);
    const none = { inLot: 0, expected: 0, overstaying: 0, noShows: 0 };
    const parkingLots = (await this.lots.lotsAt(lots.items, now)).map((lot) => {
      const state = states.get(lot.parkingLotId);
      const ofLot = money.get(lot.parkingLotId);
      return {
        ...lot,
        presence: state ? presenceIn(state, now) : none,
        ...(ofLot ? { money: ofLot } : {}),
      };
    });
    const { openEndedHeld: _, ...stored } = strip<StoredTotals>(totalsDoc) ?? { ...EMPTY_TOTALS };
    const moment: Moment = {
      totals: everyLot ? { ...stored, ...everyLot } : scopedTotals(parkingLots, lotCoupons),
      activity,
      parkingLots,
      nextCursor: lots.nextCursor,
      ...(money.size > 0
        ? { money: { day: dayOfAll([...money.values()], now), ...sumMoney([...money.values()]) } }
        : {}),
    };
    if (await this.boundariesCover(readAt.projections, readAt.generations)) {
      const closures = [
        ...closing,
        ...lots.items.flatMap((l) => (l.closures ?? []).flatMap((c) => [c.from, c.until])),
      ];
      const turn = Math.min(
        nextMinute(now),
        nextOf(closures, now),
        await nextWindowTurn(this.ctx.store, await this.ctx.collection(CONTROL_CENTER), now),
      );
      this.moments.set(readAt.key, moment, now, turn);
    }
    return moment;
  }
  /** The coupon counts of these lots: one read by id each (a page's lots). */
  private async lotCoupons(ids: readonly string[]): Promise<Map<string, LotCoupons>> {
    const counts = new Map<string, LotCoupons>();
    if (ids.length === 0) return counts;
    const docs = await this.ctx.store.find(await this.ctx.collection(CONTROL_CENTER), {
      _id: { $in: ids.map(lotCouponsId) },
    });
    for (const d of docs) {
      counts.set(String(d.parkingLotId), {
        couponsIssued: Number(d.couponsIssued ?? 0),
        couponsRevoked: Number(d.couponsRevoked ?? 0),
      });
    }
    return counts;
  }
  /** Whether the control-center projection's window boundaries cover the reservations read (see readMoment). */
  private async boundariesCover(
    projections: ControlCenterView["projections"],
    generations: ReadonlyMap<string, number>,
  ): Promise<boolean> {
    const position = (name: string) => {
      const p = projections.find((s) => s.name === name)?.position;
      return p === null || p === undefined ? -1n : BigInt(p);
    };
    if (position(OWNER_OF.controlCenter) < position(OWNER_OF.reservations)) return false;
    const generation = generations.get(OWNER_OF.controlCenter) ?? 1;
    const builtBy = await this.ctx.projections.builtBy?.(OWNER_OF.controlCenter, generation);
    // The generations may have switched while the figures were read: then they are not kept.
    const now = await this.ctx.activeGenerations();
    const same = now.size === generations.size && [...now].every(([p, g]) => generations.get(p) === g);
    return same && builtBy !== null && builtBy !== undefined && builtBy >= BOUNDARIES_SINCE;
  }
  /** Closures not over yet: ids ordered by the closure's end make them one range, whatever the history. */
  private async closureInstants(now: number): Promise<string[]> {
    const docs = await this.ctx.store.find(await this.ctx.collection(CONTROL_CENTER), {
      _id: { $gt: closureId(iso(now), "", ""), $lt: CLOSURE_ID_END },
    });
    return docs.flatMap((d) => [String(d.from), String(d.until)]);
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

/**
 * Who is in, overstaying, expected within the hour and the last day's no-shows, by the lot's
 * `statusIn` over its cars (at most its capacity) and its windows in those ranges, never its history.
 */
function presenceIn(lot: RegisteredLot, now: number): Presence {
  const statusOf = (id: string) => {
    const record = lot.reservations.get(id);
    return record && statusIn(lot, id, record, now);
  };
  let overstaying = 0;
  for (const id of lot.inLot.keys()) if (statusOf(id) === "OVERSTAYING") overstaying++;
  let expected = 0;
  for (const [id, window] of overlapping(lot.occupancy, now - HOUR_MS, now + HOUR_MS))
    if (window.start >= now - HOUR_MS && window.start < now + HOUR_MS && statusOf(id) === "RESERVED")
      expected++;
  let noShows = 0;
  for (const [id, window] of overlapping(lot.occupancy, now - 24 * HOUR_MS, now))
    if (window.end > now - 24 * HOUR_MS && window.end <= now && statusOf(id) === "NO_SHOW") noShows++;
  return { inLot: lot.inLot.size, expected, overstaying, noShows };
}
