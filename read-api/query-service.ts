import { setTimeout as sleep } from "node:timers/promises";
import type { Document, DocumentStore, Filter } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import { formatPosition, type Position, reached } from "../event-store/position.js";
import { withTimeout } from "../platform/timeout.js";
import { COUPON_POLICY } from "../projections/coupon-policy/coupon-policy.js";
import {
  activityId,
  CONTROL_CENTER,
  EMPTY_TOTALS,
  minuteOf,
  TOTALS_ID,
} from "../projections/read-models/control-center.js";
import { COUPONS } from "../projections/read-models/customer-coupons.js";
import { PROJECTIONS } from "../projections/read-models/index.js";
import { PARKING_LOTS } from "../projections/read-models/parking-lots.js";
import { RESERVATIONS } from "../projections/read-models/reservations.js";
import {
  activeGenerations,
  CHECKPOINTS,
  type CheckpointDocument,
  checkpointId,
  physicalCollection,
  readCheckpoint,
} from "../projections/runtime/checkpoints.js";
import { readLeases } from "../projections/runtime/leases.js";
import type {
  ActivityMinute,
  ControlCenterTotals,
  ControlCenterView,
  CouponView,
  ParkingLotView,
  ReservationStatus,
  ReservationView,
} from "../schemas/read-models.js";

const OWNER: Record<string, string> = {
  [PARKING_LOTS]: "parking-lots",
  [RESERVATIONS]: "reservations",
  [COUPONS]: "customer-coupons",
  [CONTROL_CENTER]: "control-center",
};

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

/** Source of in-process progress notifications (the projector, when it runs in this process). */
export interface ProgressSource {
  onAdvance(listener: (name: string, position: Position) => void): () => void;
}

const GENERATION_TTL_MS = 200;
/** The control center's chart covers the last hour. */
const ACTIVITY_WINDOW_MS = 60 * 60_000;

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
    },
  ) {}

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
      unsubscribe?.();
    }
  }

  private async appliedPosition(projection: string): Promise<Position | null> {
    const checkpoint = await readCheckpoint(this.store, projection, await this.generationOf(projection));
    return checkpoint?.position ?? null;
  }

  async parkingLot(id: string, minPosition: Position | null = null): Promise<ParkingLotView | null> {
    await this.awaitPosition(PARKING_LOTS, minPosition);
    return strip<ParkingLotView>(await this.store.findById(await this.collection(PARKING_LOTS), id));
  }

  async parkingLots(options: {
    cursor?: string;
    limit: number;
    minPosition?: Position | null;
  }): Promise<PageOf<ParkingLotView>> {
    await this.awaitPosition(PARKING_LOTS, options.minPosition ?? null);
    const filter: Filter = options.cursor ? { parkingLotId: { $gt: options.cursor } } : {};
    const docs = await this.store.find(await this.collection(PARKING_LOTS), filter, {
      sort: { parkingLotId: 1 },
      limit: options.limit + 1,
    });
    const items = docs.slice(0, options.limit).map((d) => strip<ParkingLotView>(d) as ParkingLotView);
    return { items, nextCursor: docs.length > options.limit ? (items.at(-1)?.parkingLotId ?? null) : null };
  }

  async reservation(id: string, minPosition: Position | null = null): Promise<ReservationView | null> {
    await this.awaitPosition(RESERVATIONS, minPosition);
    return strip<ReservationView>(await this.store.findById(await this.collection(RESERVATIONS), id));
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
    if (options.status) filter.status = options.status;
    return this.newestFirst<ReservationView>(RESERVATIONS, filter, options);
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
    const query = options.cursor ? { ...filter, seq: { $lt: Number(options.cursor) } } : filter;
    const docs = await this.store.find(await this.collection(logical), query, {
      sort: { seq: -1 },
      limit: options.limit + 1,
    });
    const page = docs.slice(0, options.limit);
    const last = page.at(-1) as (Document & { seq: number }) | undefined;
    return {
      items: page.map((d) => strip<T>(d) as T),
      nextCursor: docs.length > options.limit && last ? String(last.seq) : null,
    };
  }

  async controlCenter(options: { lotLimit: number }): Promise<ControlCenterView> {
    const [totalsDoc, lots, projections, activity] = await Promise.all([
      this.store.findById(await this.collection(CONTROL_CENTER), TOTALS_ID),
      this.parkingLots({ limit: options.lotLimit }),
      this.projectionStatuses(),
      this.activity(new Date(Date.now() - ACTIVITY_WINDOW_MS), new Date()),
    ]);
    const totals = strip<ControlCenterTotals>(totalsDoc) ?? { ...EMPTY_TOTALS };
    return {
      totals,
      activity,
      parkingLots: lots.items,
      parkingLotsNextCursor: lots.nextCursor,
      projections,
    };
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

  /** Each projection's (and the coupon policy's) applied position and lag behind the head of the log. */
  async projectionStatuses(): Promise<ControlCenterView["projections"]> {
    const names = [...PROJECTIONS.map((p) => p.name), COUPON_POLICY];
    const ids = await Promise.all(
      names.map(async (name) =>
        checkpointId(name, name === COUPON_POLICY ? 1 : await this.generationOf(name)),
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
      return {
        name,
        state: checkpoint?.state ?? "stopped",
        position: position ? formatPosition(position) : null,
        headPosition: head ? formatPosition(head) : null,
        lag: head === undefined ? null : Math.max(0, (head?.commit ?? 0) - (position?.commit ?? 0)),
        ...(checkpoint?.error ? { error: checkpoint.error } : {}),
        ...(lease
          ? {
              lease: {
                holder: lease.owner,
                state: lease.owner === null ? "free" : lease.expiresAt > now ? "held" : "expired",
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
