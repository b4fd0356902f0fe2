import { randomUUID } from "node:crypto";
import { DocumentStoreUnavailableError } from "../document-store/port.js";
import { AppendTooLargeError, WrongExpectedRevisionError } from "../event-store/errors.js";
import { appendBytes, type EventStore, type EventToAppend } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import { withTimeout } from "../platform/timeout.js";
import { systemActor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { encodeEvent } from "../schemas/event-codec.js";
import type { EventOfType } from "../schemas/events.js";
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
   * that leaves the lot's current period at or over it closes the period's books. Every handler
   * the service builds has it (LOT_PERIOD_EVENTS, at least 50: periods are always on): the command
   * side's, the scheduler's and the payments process manager's. 0 (the default): this source closes
   * none, it still follows the periods others closed (tests writing as the version before periods).
   */
  readonly periodEvents?: number;
  /** The clock of the openings' cut-off (periods.ts, KEEP_ENDED_MS); Date.now by default. */
  readonly now?: () => number;
}

/** How often a load tries to close the books of a period over its bound before deciding in it anyway. */
const SETTLE_ATTEMPTS = 5;

/** Who closes the books and opens the next period, in the events' metadata. */
const BOOKS_ACTOR = systemActor("lot-books");

/** A next period's opening, encoded, with the ended reservations it leaves out (archived first). */
interface Opening {
  readonly stream: string;
  readonly event: EventOfType<"LotPeriodOpened">;
  readonly encoded: EventToAppend;
  readonly dropped: readonly (readonly [string, ReservationRecord])[];
}

/** The lots whose opening was found too large for the event store: warned about once per process. */
const warnedTooLarge = new Set<string>();

/**
 * Where the lot's state comes from for the decider runner: its snapshot and the events after it
 * (lot-loader.ts), the archive of the ended reservations the snapshots leave out (for the rare
 * command that names one), and when to load a cached lot again.
 */
export class LotStateSource implements StateSource<ParkingLotCommand, ParkingLotState> {
  private readonly loader: LotLoader;
  /**
   * The period streams whose next opening was too large for the store, with the revision at which to
   * measure it again: an opening is encoded (every carried booking sealed) once per bound's worth of
   * events, not after each append.
   */
  private readonly measureAgainAt = new Map<string, number>();

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
    const closed = await this.closeBooks(parkingLotId, at);
    return closed === "kept" ? at : closed && atRevision(closed);
  }

  /**
   * afterAppend's work: closes the books of the period `at` is the last event of if it is at or over
   * the bound, and opens the next one. "kept": nothing to close (under the bound, or an opening too
   * large for the store); undefined: not closed (another writer's append won, or a store failed).
   */
  private async closeBooks(
    parkingLotId: string,
    at: LotAtRevision,
  ): Promise<LotInPeriod | "kept" | undefined> {
    if (!this.followsAppend(parkingLotId, at)) return "kept";
    const stream = at.stream ?? parkingLotStream(parkingLotId);
    const period = lotPeriodOfStream(stream)?.period ?? 0;
    const now = this.now();
    try {
      // The opening first: one the store cannot take leaves the books open (see `fits`), the lot usable.
      if (at.revision < (this.measureAgainAt.get(stream) ?? -1)) return "kept";
      const opening = this.nextOpening(parkingLotId, period + 1, at.state);
      if (!this.fits(parkingLotId, opening)) {
        this.measureAgainAt.set(stream, at.revision + (this.options.periodEvents ?? 0));
        return "kept";
      }
      this.measureAgainAt.delete(stream);
      const closing = closingOf(at.state, parkingLotId, period, at.revision + 1, now);
      await this.eventStore.appendToStream(stream, [this.encode(closing, stream)], {
        expectedRevision: at.revision,
      });
      const opened = await this.open(parkingLotId, opening);
      return opened ? await this.settle(parkingLotId, opened) : undefined;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError))
        this.options.logger?.warn(
          { err: error, parkingLotId, period },
          "lot books not closed: the next load closes them",
        );
      return undefined;
    }
  }

  /**
   * Issue 48, the upgrade of a lot written by an older version (or before the bound was lowered):
   * if its current period is at or over the bound, its books close as after the append that
   * reaches it (afterAppend: the same close, archive of ended reservations and opening). A writer
   * appending meanwhile wins (expected revision): the lot is loaded again and looked at anew, so
   * its command is kept and the period closed once. True when this call closed it (false too when
   * its opening is larger than the store's largest write: afterAppend hands back the lot it got).
   */
  async closeIfOver(parkingLotId: string, retryLimit = 10): Promise<boolean> {
    const before = await this.loader.currentPeriod(parkingLotId);
    for (let attempt = 0; ; attempt++) {
      // A load closes a period over its bound itself (settle): then the lot is in a later period.
      const at = await this.load(parkingLotId);
      if (!this.followsAppend(parkingLotId, at))
        return (lotPeriodOfStream(at.stream ?? "")?.period ?? 0) > before;
      const after = await this.afterAppend(parkingLotId, at);
      if (after) return after !== at;
      if (attempt >= retryLimit)
        throw new Error(`the books of parking lot ${parkingLotId} could not be closed`);
    }
  }

  /** Whether the append left the lot's current period at or over its bound (its books are to close). */
  followsAppend(_parkingLotId: string, at: LotAtRevision): boolean {
    const bound = this.options.periodEvents ?? 0;
    return bound > 0 && at.revision + 1 >= bound && at.state.kind === "registered";
  }

  /**
   * The lot as of its current period's last event: if that closed the books, the next period, opened.
   * A close whose opening the store cannot take (written before this check, or the limit lowered
   * since) stays a closed period's last event for now: the lot is this period's (evolve ignores
   * LotBooksClosed: the state is the one it closed with) and its next events follow the close in
   * the same stream; the next append at the bound closes the books again once the opening fits.
   */
  private async settle(parkingLotId: string, at: LotInPeriod): Promise<LotInPeriod> {
    let lot = at;
    for (let attempt = 0; ; attempt++) {
      if (!lot.closed) {
        // A period already at or over its bound and still open (its last writer's close lost the
        // race to another writer's command, or it died first): its books close before any command
        // is decided on it, else two writers taking turns would never let it close.
        if (attempt >= SETTLE_ATTEMPTS || !this.followsAppend(parkingLotId, lot)) return lot;
        const closed = await this.closeBooks(parkingLotId, lot);
        if (closed === "kept") return lot;
        // Another writer appended first: fold what it wrote (its close, perhaps) and look again.
        lot = closed ?? (await this.loader.catchUp(lot.stream, lot));
        continue;
      }
      const period = lotPeriodOfStream(lot.stream)?.period ?? 0;
      const opened = await this.open(parkingLotId, this.nextOpening(parkingLotId, period + 1, lot.state));
      if (!opened) return lot;
      lot = opened;
    }
  }

  /**
   * The opening of period `period` with the state the previous one closed with: its live state
   * (period-books.ts), encoded as it is appended, and the ended reservations it leaves out. Without
   * an archive (no snapshot store) nothing is dropped: the opening carries every record the closed
   * state holds, as a lot without snapshots keeps them all.
   */
  private nextOpening(parkingLotId: string, period: number, closed: ParkingLotState): Opening {
    const stream = parkingLotStream(parkingLotId, period);
    const now = this.now();
    const { live, dropped } = this.options.snapshots
      ? periodSplit(closed, now)
      : { live: closed, dropped: [] };
    const event = openingOf(live, parkingLotId, period, now);
    return { stream, event, encoded: this.encode(event, stream), dropped };
  }

  /**
   * Whether the store takes the opening in one write (EventStore.maxAppendBytes). If not, the books
   * stay open and the period grows past its bound (a longer load, the lesser harm: a close whose
   * opening cannot be written would leave the lot unable to take a command); warned once per lot.
   */
  private fits(parkingLotId: string, opening: Opening): boolean {
    const max = this.eventStore.maxAppendBytes;
    if (max === undefined) return true;
    const bytes = appendBytes([opening.encoded]);
    if (bytes <= max) return true;
    this.warnTooLarge(parkingLotId, bytes, max);
    return false;
  }

  private warnTooLarge(parkingLotId: string, bytes: number | undefined, max: number | undefined): void {
    if (warnedTooLarge.has(parkingLotId)) return;
    warnedTooLarge.add(parkingLotId);
    this.options.logger?.warn(
      { parkingLotId, openingBytes: bytes, maxAppendBytes: max },
      `lot books not closed: its opening of ${bytes ?? "?"} bytes exceeds the event store's largest write of ${max ?? "?"}; raise EVENTSTORE_MAX_APPEND_SIZE and the server's MaxAppendSize`,
    );
  }

  /**
   * Opens the next period with its opening, appended as the first event of its stream (no stream
   * expected), after the ended reservations it leaves out went to the archive of ended reservations,
   * as the snapshotter's do, so a command naming one (a cancel: 409; a keyed retry: the same
   * booking, never a second one under its id) answers as before. If it is there already (another
   * process opened it, or this one before a crash), what is there is read instead. Undefined when
   * the store cannot take the opening (`fits`, or the store refused it as too large): not opened.
   */
  private async open(parkingLotId: string, opening: Opening): Promise<LotInPeriod | undefined> {
    if (!this.fits(parkingLotId, opening)) return undefined;
    const { stream } = opening;
    if (opening.dropped.length > 0) await this.options.snapshots?.archive(parkingLotId, opening.dropped);
    try {
      const appended = await this.eventStore.appendToStream(stream, [opening.encoded], {
        expectedRevision: "no_stream",
      });
      return {
        state: evolve(initialState, opening.event),
        revision: appended.nextExpectedRevision,
        position: appended.position,
        eventId: null,
        stream,
        closed: false,
      };
    } catch (error) {
      if (error instanceof AppendTooLargeError) {
        this.warnTooLarge(parkingLotId, appendBytes([opening.encoded]), this.eventStore.maxAppendBytes);
        return undefined;
      }
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      return this.loader.catchUp(stream, { state: initialState, revision: -1, position: null });
    }
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
