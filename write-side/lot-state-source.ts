import { DocumentStoreUnavailableError } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import { withTimeout } from "../platform/timeout.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import type { StateSource } from "./decider-runner.js";
import {
  DEFAULT_SNAPSHOT_TIMEOUT_MS,
  type LotAtRevision,
  LotLoader,
  type SnapshotUse,
} from "./lot-loader.js";
import type { LotSnapshotStore } from "./lot-snapshots.js";
import {
  namedReservationsMissing,
  type ParkingLotState,
  type ReservationRecord,
  recall,
} from "./parking-lot/decider.js";
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
}

/**
 * Where the lot's state comes from for the decider runner: its snapshot and the events after it
 * (lot-loader.ts), the archive of the ended reservations the snapshots leave out (for the rare
 * command that names one), and when to load a cached lot again.
 */
export class LotStateSource implements StateSource<ParkingLotCommand, ParkingLotState> {
  private readonly loader: LotLoader;

  constructor(
    eventStore: EventStore,
    private readonly options: LotStateSourceOptions,
  ) {
    this.loader = new LotLoader(eventStore, {
      ...(options.snapshots ? { snapshots: options.snapshots } : {}),
      ...(options.snapshotTimeoutMs !== undefined ? { snapshotTimeoutMs: options.snapshotTimeoutMs } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  async load(parkingLotId: string): Promise<LotAtRevision> {
    const { state, revision, position, snapshot } = await this.loader.load(parkingLotId);
    this.options.onLoad?.(snapshot);
    return { state, revision, position };
  }

  /**
   * Loads a lot that has no stream, with no effect but what the first real load would pay: the
   * stores' statements prepared, their indexes' first pages read (start-up, issue 21 target 5).
   */
  async warmUp(): Promise<void> {
    await this.loader.load(WARM_UP_LOT);
  }

  async catchUp(streamId: string, from: LotAtRevision): Promise<LotAtRevision> {
    const { state, revision, position } = await this.loader.catchUp(streamId, from);
    return { state, revision, position };
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
