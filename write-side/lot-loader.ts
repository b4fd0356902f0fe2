import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import { withTimeout } from "../platform/timeout.js";
import { decodeEvent } from "../schemas/event-codec.js";
import type { LotSnapshotStore, StoredLotSnapshot } from "./lot-snapshots.js";
import { currentLotPeriod } from "./lot-streams.js";
import {
  evolve,
  initialState,
  PARKING_LOT_EVENT_TYPES,
  type ParkingLotEvent,
  type ParkingLotState,
  parkingLotStream,
} from "./parking-lot/decider.js";
import { ordinalAt } from "./parking-lot/periods.js";
import { decodeSnapshot, SNAPSHOT_VERSION } from "./parking-lot/snapshot.js";
import type { StateAtRevision } from "./state-cache.js";

/** A lot's folded state as of a stream revision. */
export type LotAtRevision = StateAtRevision<ParkingLotState>;

/** What became of the lot's snapshot in a load: used, or why the whole stream was folded instead. */
export type SnapshotUse =
  /** Decoded, and the stream still holds its last event: only the events after it were read. */
  | "used"
  /** The lot has no snapshot (or no snapshot store is configured). */
  | "none"
  /** The snapshot store failed or did not answer in time. */
  | "unavailable"
  /** Written by code of another SNAPSHOT_VERSION (before or after an upgrade). */
  | "other-version"
  /** Its parts are not a snapshot of this lot (corrupt). */
  | "undecodable"
  /** The stream has no longer, at the snapshot's revision, the event the snapshot was folded up to. */
  | "not-in-stream";

/** A lot folded up to the last event of one of its periods' streams (issue 48). */
export interface LotInPeriod extends LotAtRevision {
  /** Id of the stream's event at `revision`; null for a stream that does not exist. */
  readonly eventId: string | null;
  /** The period's stream (periods.ts, `parkingLotStream`). */
  readonly stream: string;
  /** Whether its last event closed the period's books (LotBooksClosed): the next period is the lot's. */
  readonly closed: boolean;
}

export interface LoadedLot extends LotInPeriod {
  /** What became of the lot's snapshot; a later period folded from its opening says "none". */
  readonly snapshot: SnapshotUse;
}

export interface LotLoaderOptions {
  readonly snapshots?: LotSnapshotStore;
  /** Longest wait for the snapshot store before folding the stream without it. */
  readonly snapshotTimeoutMs?: number;
  /** Warnings about snapshots that could not be used. */
  readonly logger?: Logger;
}

export const DEFAULT_SNAPSHOT_TIMEOUT_MS = 1000;

/**
 * Loads a lot: its newest snapshot, if it has one this code can use, and the events after it; or
 * else the whole stream. A snapshot can cost time but never change a decision: whatever is wrong
 * with it (unreadable, another version, corrupt, not of this stream), it is ignored and the
 * whole stream is folded, which is what a load without snapshots does.
 */
export class LotLoader {
  constructor(
    private readonly eventStore: EventStore,
    private readonly options: LotLoaderOptions = {},
  ) {}

  /**
   * Loads the lot's current period (the last whose stream exists) from the lot's snapshot if it is
   * of that period (its revision counted lot-wide: periods.ts, lotOrdinal), else a later period
   * from its opening, its first event. The caller opens the next period if this one's books are
   * closed (`closed`).
   */
  async load(parkingLotId: string): Promise<LoadedLot> {
    const period = await this.currentPeriod(parkingLotId);
    if (period === 0) return this.loadFirstPeriod(parkingLotId);
    const stream = parkingLotStream(parkingLotId, period);
    if (await this.snapshotOfPeriod(parkingLotId, period)) {
      const { snapshot } = await this.snapshotOf(parkingLotId);
      const at = snapshot && ordinalAt(snapshot.revision);
      const loaded =
        snapshot && at?.period === period
          ? await this.fromSnapshot(stream, { ...snapshot, revision: at.revision })
          : undefined;
      if (loaded) return loaded;
    }
    return { ...(await this.catchUp(stream, EMPTY_STREAM)), snapshot: "none" };
  }

  /**
   * Whether the lot's snapshot is of this period (the store's header alone: a snapshot of an
   * earlier period, whose opening holds as much, is not read whole for nothing).
   */
  private async snapshotOfPeriod(parkingLotId: string, period: number): Promise<boolean> {
    const { snapshots } = this.options;
    if (!snapshots) return false;
    try {
      const revisions = await withTimeout(
        snapshots.revisions([parkingLotId]),
        this.options.snapshotTimeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS,
        "the lot snapshot store",
      );
      const revision = revisions.get(parkingLotId);
      return revision !== undefined && ordinalAt(revision).period === period;
    } catch {
      return false; // the opening is the period's state too
    }
  }

  /** The lot's current period (lot-streams.ts, currentLotPeriod). */
  currentPeriod(parkingLotId: string): Promise<number> {
    return currentLotPeriod(this.eventStore, parkingLotId);
  }

  /** Period 0 (the lot's first stream): its snapshot, if it has one this code can use, and the events after it. */
  async loadFirstPeriod(parkingLotId: string): Promise<LoadedLot> {
    const streamId = parkingLotStream(parkingLotId);
    const { snapshot, use } = await this.snapshotOf(parkingLotId);
    if (snapshot) {
      const loaded = await this.fromSnapshot(streamId, snapshot);
      if (loaded) return loaded;
      this.options.logger?.warn(
        { parkingLotId, revision: snapshot.revision, eventId: snapshot.eventId },
        "lot snapshot ignored: the stream does not hold its last event at its revision",
      );
      return { ...(await this.catchUp(streamId, EMPTY_STREAM)), snapshot: "not-in-stream" };
    }
    return { ...(await this.catchUp(streamId, EMPTY_STREAM)), snapshot: use };
  }

  /**
   * Folds the stream's events after `from.revision` into `from.state`. `eventId` of the result is
   * that of the last event read, or `from`'s when there was none.
   */
  async catchUp(
    streamId: string,
    from: LotAtRevision & { readonly eventId?: string | null; readonly closed?: boolean },
  ): Promise<LotInPeriod> {
    let { state, revision, position } = from;
    let eventId = from.eventId ?? null;
    let closed = from.closed ?? false;
    for await (const recorded of this.eventStore.readStream(streamId, { fromRevision: revision + 1 })) {
      revision = recorded.revision;
      position = recorded.position;
      eventId = recorded.id;
      closed = recorded.type === "LotBooksClosed";
      if (!PARKING_LOT_EVENT_TYPES.has(recorded.type)) continue;
      state = evolve(state, decodeEvent(recorded).event as ParkingLotEvent);
    }
    return { state, revision, position, eventId, stream: streamId, closed };
  }

  /** The lot's snapshot if there is one this code can use (right version, decodes), and why not. */
  private async snapshotOf(
    parkingLotId: string,
  ): Promise<
    | { snapshot: StoredLotSnapshot & { state: LotAtRevision["state"] }; use: "used" }
    | { snapshot: undefined; use: SnapshotUse }
  > {
    const { snapshots, logger } = this.options;
    if (!snapshots) return { snapshot: undefined, use: "none" };
    let stored: StoredLotSnapshot | null;
    try {
      stored = await withTimeout(
        snapshots.load(parkingLotId),
        this.options.snapshotTimeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS,
        "the lot snapshot store",
      );
    } catch (error) {
      logger?.warn({ err: error, parkingLotId }, "lot snapshot unavailable: folding the whole stream");
      return { snapshot: undefined, use: "unavailable" };
    }
    if (!stored) return { snapshot: undefined, use: "none" };
    if (stored.version !== SNAPSHOT_VERSION) {
      logger?.info(
        { parkingLotId, version: stored.version, understood: SNAPSHOT_VERSION },
        "lot snapshot of another version ignored: folding the whole stream",
      );
      return { snapshot: undefined, use: "other-version" };
    }
    try {
      return { snapshot: { ...stored, state: decodeSnapshot(stored.parts, parkingLotId) }, use: "used" };
    } catch (error) {
      logger?.warn(
        { err: error, parkingLotId, revision: stored.revision },
        "lot snapshot ignored: it cannot be decoded; folding the whole stream",
      );
      return { snapshot: undefined, use: "undecodable" };
    }
  }

  /**
   * The snapshot's state with the events after it, if the stream still holds the snapshot's last
   * event at its revision (read together with the tail, in one read); undefined if not.
   */
  private async fromSnapshot(
    streamId: string,
    snapshot: StoredLotSnapshot & { state: LotAtRevision["state"] },
  ): Promise<LoadedLot | undefined> {
    let at: LotInPeriod & { eventId: string } = {
      state: snapshot.state,
      revision: snapshot.revision,
      position: null,
      eventId: snapshot.eventId,
      stream: streamId,
      closed: false,
    };
    let first = true;
    for await (const recorded of this.eventStore.readStream(streamId, { fromRevision: snapshot.revision })) {
      if (first) {
        if (recorded.revision !== snapshot.revision || recorded.id !== snapshot.eventId) return undefined;
        first = false;
        at = { ...at, position: recorded.position };
        continue;
      }
      at = {
        state: PARKING_LOT_EVENT_TYPES.has(recorded.type)
          ? evolve(at.state, decodeEvent(recorded).event as ParkingLotEvent)
          : at.state,
        revision: recorded.revision,
        position: recorded.position,
        eventId: recorded.id,
        stream: streamId,
        closed: recorded.type === "LotBooksClosed",
      };
    }
    return first ? undefined : { ...at, snapshot: "used" };
  }
}

const EMPTY_STREAM: LotAtRevision = { state: initialState, revision: -1, position: null };
