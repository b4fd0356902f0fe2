import { randomUUID } from "node:crypto";
import { DocumentStoreUnavailableError } from "../document-store/port.js";
import { WrongExpectedRevisionError } from "../event-store/errors.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import { withTimeout } from "../platform/timeout.js";
import { systemActor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { encodeEvent } from "../schemas/event-codec.js";
import type { StateSource } from "./decider-runner.js";
import {
  DEFAULT_SNAPSHOT_TIMEOUT_MS,
  type LotAtRevision,
  type LotInPeriod,
  LotLoader,
  type SnapshotUse,
} from "./lot-loader.js";
import type { LotSnapshotStore } from "./lot-snapshots.js";
import {
  evolve,
  initialState,
  namedReservationsMissing,
  type ParkingLotState,
  parkingLotStream,
  type ReservationRecord,
  recall,
} from "./parking-lot/decider.js";
import { closingOf, openingOf, periodSplit } from "./parking-lot/period-books.js";
import { lotPeriodOfStream } from "./parking-lot/periods.js";
import { isFreshReservationId } from "./reservation-ids.js";
import type { CachedState } from "./state-cache.js";

/**
 * A cached lot holding at least this many ended reservations is loaded again (from its newest
 * snapshot, which leaves them out) once it has taken this many events since it was loaded.
 */
export const DEFAULT_RELOAD_AFTER = 2000;

/** A lot id no request can name (identifiers start with a letter or a digit): what `warmUp` loads. */
const WARM_UP_LOT = ".warm-up";

export interface LotStateSourceOptions {
  /**
   * Where lots not in the cache start from: their snapshot and the events after it, instead of
   * their whole stream. A snapshot only saves reading; the appends still expect the stream's
   * real revision, so an old snapshot costs a longer tail, never a wrong decision.
   */
  readonly snapshots?: LotSnapshotStore;
  /** Longest wait for the snapshot store (then the whole stream is folded). */
  readonly snapshotTimeoutMs?: number;
  /** Warnings (a snapshot that cannot be used). */
  readonly logger?: Logger;
  /** See DEFAULT_RELOAD_AFTER; 0 never reloads a cached lot. */
  readonly reloadAfter?: number;
  /** Called for each lot loaded from the store (not in the cache), with what became of its snapshot (metrics). */
  readonly onLoad?: (snapshot: SnapshotUse) => void;
  /**
   * Issue 48: the bound on a period's events (DEFAULT_PERIOD_EVENTS is the one measured): an append
   * that leaves the lot's current period at or over it closes the period's books. 0 (the default):
   * this source closes none; it still follows the periods others closed.
   */
  readonly periodEvents?: number;
  /** The clock of the openings' cut-off (periods.ts, KEEP_ENDED_MS); Date.now by default. */
  readonly now?: () => number;
}

/** Who closes the books and opens the next period, in the events' metadata. */
const BOOKS_ACTOR = systemActor("lot-books");

/**
 * Where the lot's state comes from for the decider runner: its snapshot and the events after it
 * (lot-loader.ts), the archive of the ended reservations the snapshots leave out (for the rare
 * command that names one), and when to load a cached lot again.
 */
export class LotStateSource implements StateSource<ParkingLotCommand, ParkingLotState> {
  private readonly loader: LotLoader;

  constructor(
    private readonly eventStore: EventStore,
    private readonly options: LotStateSourceOptions,
  ) {
    this.loader = new LotLoader(eventStore, {
      ...(options.snapshots ? { snapshots: options.snapshots } : {}),
      ...(options.snapshotTimeoutMs !== undefined ? { snapshotTimeoutMs: options.snapshotTimeoutMs } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  async load(parkingLotId: string): Promise<LotAtRevision> {
    const loaded = await this.loader.load(parkingLotId);
    this.options.onLoad?.(loaded.snapshot);
    return atRevision(await this.settle(parkingLotId, loaded));
  }

  /**
   * Loads a lot that has no stream, with no effect but what the first real load would pay: the
   * stores' statements prepared, their indexes' first pages read (start-up, issue 21 target 5).
   */
  async warmUp(): Promise<void> {
    await this.loader.load(WARM_UP_LOT);
  }

  async catchUp(streamId: string, from: LotAtRevision): Promise<LotAtRevision> {
    const lot = lotPeriodOfStream(streamId);
    const caught = await this.loader.catchUp(streamId, from);
    return atRevision(lot ? await this.settle(lot.parkingLotId, caught) : caught);
  }

  /**
   * After an append (issue 48): if it left the lot's current period at or over the bound, its books
   * close (LotBooksClosed, expecting the revision just written) and the next period opens. Another
   * writer's append in between wins: the cached state is dropped and the next command catches up.
   * A store that fails here leaves what is written: the next load (or append) does the rest.
   */
  async afterAppend(parkingLotId: string, at: LotAtRevision): Promise<LotAtRevision | undefined> {
    if (!this.followsAppend(parkingLotId, at)) return at;
    const stream = at.stream ?? parkingLotStream(parkingLotId);
    const period = lotPeriodOfStream(stream)?.period ?? 0;
    const now = this.now();
    try {
      const closing = closingOf(at.state, parkingLotId, period, at.revision + 1, now);
      await this.eventStore.appendToStream(stream, [this.encode(closing, stream)], {
        expectedRevision: at.revision,
      });
      return atRevision(await this.settle(parkingLotId, await this.open(parkingLotId, period + 1, at.state)));
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError))
        this.options.logger?.warn(
          { err: error, parkingLotId, period },
          "lot books not closed: the next load closes them",
        );
      return undefined;
    }
  }

  /** Whether the append left the lot's current period at or over its bound (its books are to close). */
  followsAppend(_parkingLotId: string, at: LotAtRevision): boolean {
    const bound = this.options.periodEvents ?? 0;
    return bound > 0 && at.revision + 1 >= bound && at.state.kind === "registered";
  }

  /** The lot as of its current period's last event: if that closed the books, the next period, opened. */
  private async settle(parkingLotId: string, at: LotInPeriod): Promise<LotInPeriod> {
    let lot = at;
    while (lot.closed) {
      const period = lotPeriodOfStream(lot.stream)?.period ?? 0;
      lot = await this.open(parkingLotId, period + 1, lot.state);
    }
    return lot;
  }

  /**
   * Opens period `period` with the state the previous one closed with: its opening, appended as the
   * first event of its stream (no stream expected). If it is there already (another process
   * opened it, or this one before a crash), what is there is read instead.
   */
  private async open(parkingLotId: string, period: number, closed: ParkingLotState): Promise<LotInPeriod> {
    const stream = parkingLotStream(parkingLotId, period);
    const opening = openingOf(await this.carried(parkingLotId, closed), parkingLotId, period, this.now());
    try {
      const appended = await this.eventStore.appendToStream(stream, [this.encode(opening, stream)], {
        expectedRevision: "no_stream",
      });
      return {
        state: evolve(initialState, opening),
        revision: appended.nextExpectedRevision,
        position: appended.position,
        eventId: null,
        stream,
        closed: false,
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      return this.loader.catchUp(stream, { state: initialState, revision: -1, position: null });
    }
  }

  /**
   * The live state the next period opens with (period-books.ts): the ended reservations it leaves
   * out go to the archive of ended reservations first, as the snapshotter's do, so a command naming
   * one (a cancel: 409; a keyed retry: the same booking, never a second one under its id) answers
   * as before. Without an archive (no snapshot store) nothing is dropped: the opening carries every
   * record the closed state holds, as a lot without snapshots keeps them all.
   */
  private async carried(parkingLotId: string, closed: ParkingLotState): Promise<ParkingLotState> {
    const snapshots = this.options.snapshots;
    if (!snapshots) return closed;
    const { live, dropped } = periodSplit(closed, this.now());
    if (dropped.length > 0) await snapshots.archive(parkingLotId, dropped);
    return live;
  }

  private encode(event: Parameters<typeof encodeEvent>[0], _stream: string) {
    return encodeEvent(event, { correlationId: randomUUID(), causationId: randomUUID(), actor: BOOKS_ACTOR });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * The state to decide the batch on: the lot's, with the records of the ended reservations that
   * the batch names and the state has left out (decider.ts, `forgetEnded`), read from the snapshot
   * store's archive. Without them a retried reservation would be booked a second time and a
   * cancel of an ended one answered as unknown. A fresh reservation id names nothing earlier, so
   * booking needs no read; `recalled` keeps what this batch has read already (null: not there). If
   * the archive cannot be read, the batch fails as a store that is down does: nothing is decided blind.
   */
  forBatch(
    parkingLotId: string,
    commands: readonly ParkingLotCommand[],
  ): (state: ParkingLotState) => Promise<ParkingLotState> {
    const recalled = new Map<string, ReservationRecord | null>();
    return async (state) => {
      const missing = new Set<string>();
      for (const command of commands) {
        for (const id of namedReservationsMissing(command, state)) {
          if (command.type === "ReserveParking" && isFreshReservationId(id)) continue;
          if (!recalled.has(id)) missing.add(id);
        }
      }
      if (missing.size > 0) await this.readArchive(parkingLotId, missing, recalled);
      const records: [string, ReservationRecord][] = [];
      for (const [id, record] of recalled) if (record) records.push([id, record]);
      return records.length === 0 ? state : recall(state, records);
    };
  }

  private async readArchive(
    parkingLotId: string,
    missing: ReadonlySet<string>,
    recalled: Map<string, ReservationRecord | null>,
  ): Promise<void> {
    const snapshots = this.options.snapshots;
    try {
      if (!snapshots) throw new Error("no snapshot store to read the lot's ended reservations from");
      const found = await withTimeout(
        snapshots.archived(parkingLotId, [...missing]),
        this.options.snapshotTimeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS,
        "the archive of ended reservations",
      );
      for (const id of missing) recalled.set(id, found.get(id) ?? null);
    } catch (error) {
      throw new DocumentStoreUnavailableError(
        `the ended reservations of parking lot ${parkingLotId} could not be read: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Whether to drop a cached lot so that its next command loads it again, from its newest snapshot:
   * a lot that stays in the cache folds every event it takes, so the records of its reservations
   * that end pile up in memory until it is loaded again from a snapshot that leaves them out. At
   * most once per `reloadAfter` events, so a lot whose snapshots lag is not loaded over and over.
   */
  dueForReload(lot: CachedState<ParkingLotState>): boolean {
    const every = this.options.reloadAfter ?? DEFAULT_RELOAD_AFTER;
    if (!this.options.snapshots || every <= 0 || lot.state.kind !== "registered") return false;
    const ended = lot.state.reservations.size - Math.max(0, lot.state.activeReservations);
    return ended >= every && lot.revision - lot.loadedRevision >= every;
  }
}

/** The runner's view of a loaded lot: its state, revision and position in its period's stream. */
const atRevision = ({ state, revision, position, stream }: LotInPeriod): LotAtRevision => ({
  state,
  revision,
  position,
  stream,
});
