import { setTimeout as sleep } from "node:timers/promises";
import { DocumentStoreUnavailableError } from "../document-store/port.js";
import { encodeEvent } from "../event-store/codec.js";
import { WrongExpectedRevisionError } from "../event-store/errors.js";
import type { EventStore, EventToAppend } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { Logger } from "../platform/logger.js";
import { withTimeout } from "../platform/timeout.js";
import { batchSpans, NO_SPANS, tracingOn } from "../platform/tracing.js";
import type { Actor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { DEFAULT_SNAPSHOT_TIMEOUT_MS, LotLoader, type SnapshotUse } from "./lot-loader.js";
import type { LotSnapshotStore } from "./lot-snapshots.js";
import { type CachedLot, LotStateCache } from "./lot-state-cache.js";
import {
  decide,
  evolve,
  namedReservationsMissing,
  type ParkingLotEvent,
  type ParkingLotState,
  parkingLotStream,
  type Rejection,
  type ReservationRecord,
  recall,
} from "./parking-lot/decider.js";
import { isFreshReservationId } from "./reservation-ids.js";

/** The traceparents of a batch with tracing off (none are read). */
const UNTRACED: readonly (string | undefined)[] = [];

export interface CommandContext {
  /** Carried into every event's metadata, and on to the events those cause. */
  readonly correlationId: string;
  /** Identifies this command; becomes the events' causationId. */
  readonly commandId: string;
  /** Who sent the command; recorded in every event's metadata. */
  readonly actor: Actor;
  /** The W3C trace context of the request (issue 22): carried into the events' metadata. */
  readonly traceparent?: string;
}

export type CommandOutcome =
  | {
      readonly ok: true;
      /** What this command appended; empty for an idempotent repeat that changed nothing. */
      readonly events: readonly ParkingLotEvent[];
      /** The lot as of after the command. */
      readonly state: ParkingLotState;
      /** Global position of the lot's last event (the appended ones, if any); null if none. */
      readonly position: Position | null;
    }
  | { readonly ok: false; readonly rejection: Rejection };

/** Optimistic-concurrency conflicts kept happening past the retry limit. */
export class ConcurrencyConflictError extends Error {
  override name = "ConcurrencyConflictError";
  constructor(
    readonly streamId: string,
    readonly attempts: number,
  ) {
    super(`gave up on ${streamId} after ${attempts} conflicting attempts`);
  }
}

export interface CommandHandlerHooks {
  /** Called for each optimistic-concurrency conflict, once per command it sends back to decide (metrics). */
  readonly onConflict?: (command: ParkingLotCommand["type"]) => void;
  /** Called with the number of commands decided together in each append attempt (metrics, tests). */
  readonly onBatch?: (size: number) => void;
  /** Called for each lot loaded from the store (not in the cache), with what became of its snapshot (metrics). */
  readonly onLoad?: (snapshot: SnapshotUse) => void;
}

/** The most commands of one lot decided together and appended in one append. */
export const DEFAULT_MAX_BATCH = 256;

/**
 * A cached lot holding at least this many ended reservations is loaded again (from its newest
 * snapshot, which leaves them out) once it has taken this many events since it was loaded.
 */
export const DEFAULT_RELOAD_AFTER = 2000;

interface Waiting {
  readonly command: ParkingLotCommand;
  readonly context: CommandContext;
  readonly resolve: (outcome: CommandOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** One command's verdict within a batch, before the batch's append. */
type Verdict =
  | { readonly kind: "refused"; readonly rejection: Rejection }
  | { readonly kind: "failed"; readonly error: unknown }
  | {
      readonly kind: "accepted";
      readonly events: readonly ParkingLotEvent[];
      readonly state: ParkingLotState;
      /** Index in the batch's append of the last event up to this command (its own, for one that appended); -1: none yet. */
      readonly lastEvent: number;
    };

/**
 * Load the lot, decide, append with the lot stream's expected revision; on a conflict,
 * catch up and decide again (bounded). Commands on one lot queue in-process, and whatever has
 * queued while the lot's previous append was in flight is decided together, in arrival order,
 * each on the state the ones before it leave, and appended in ONE append (one expected
 * revision): a hot lot pays one transaction per batch, not per command. A refused command
 * appends nothing and does not change the state the next one sees. Across processes the
 * expected revision is what serializes appends; on a conflict the whole batch is decided again.
 * Every command is answered only after the append holding its events is durable.
 */
export class ParkingLotCommandHandler {
  private readonly cache: LotStateCache;
  private readonly loader: LotLoader;
  private readonly queues = new Map<string, Waiting[]>();
  private readonly maxBatch: number;

  constructor(
    private readonly eventStore: EventStore,
    private readonly options: {
      readonly retryLimit: number;
      readonly cacheSize: number;
      readonly maxBatch?: number;
      readonly hooks?: CommandHandlerHooks;
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
    },
  ) {
    this.cache = new LotStateCache(options.cacheSize);
    this.maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
    this.loader = new LotLoader(eventStore, {
      ...(options.snapshots ? { snapshots: options.snapshots } : {}),
      ...(options.snapshotTimeoutMs !== undefined ? { snapshotTimeoutMs: options.snapshotTimeoutMs } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  handle(command: ParkingLotCommand, context: CommandContext): Promise<CommandOutcome> {
    return new Promise<CommandOutcome>((resolve, reject) => {
      const lotId = command.parkingLotId;
      const queue = this.queues.get(lotId);
      const waiting: Waiting = { command, context, resolve, reject };
      if (queue) {
        queue.push(waiting);
        return;
      }
      this.queues.set(lotId, [waiting]);
      void this.drain(lotId);
    });
  }

  /** Runs the lot's batches one after another until its queue is empty. */
  private async drain(lotId: string): Promise<void> {
    const queue = this.queues.get(lotId);
    if (!queue) return;
    // Let the commands that arrive in the same event-loop turn join the first batch.
    await Promise.resolve();
    while (queue.length > 0) {
      const batch = queue.splice(0, this.maxBatch);
      try {
        const outcomes = await this.handleBatch(lotId, batch);
        outcomes.forEach((outcome, i) => {
          const waiting = batch[i] as Waiting;
          if (outcome instanceof Failure) waiting.reject(outcome.error);
          else waiting.resolve(outcome);
        });
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    this.queues.delete(lotId);
  }

  private async handleBatch(lotId: string, batch: readonly Waiting[]): Promise<(CommandOutcome | Failure)[]> {
    const streamId = parkingLotStream(lotId);
    let lot: CachedLot | undefined = this.cache.get(lotId);
    let fresh = false;
    if (!lot) {
      const loaded = await this.loader.load(lotId);
      this.options.hooks?.onLoad?.(loaded.snapshot);
      lot = {
        state: loaded.state,
        revision: loaded.revision,
        position: loaded.position,
        loadedRevision: loaded.revision,
      };
      fresh = true;
    }
    const recalled = new Map<string, ReservationRecord | null>();

    for (let attempt = 0; ; attempt++) {
      this.options.hooks?.onBatch?.(batch.length);
      // With tracing off nothing is allocated for the spans (tracingOn() first).
      const traceparents = tracingOn() ? batch.map((waiting) => waiting.context.traceparent) : UNTRACED;
      const deciding = tracingOn()
        ? batchSpans("decide", traceparents, { "parking.lot": lotId, "parking.attempt": attempt })
        : NO_SPANS;
      let decided = decideAll(batch, await this.withEnded(lotId, lot.state, batch, recalled));
      // A refusal or a no-op decided on a cached state might be stale if another process wrote
      // to this lot: confirm against the stream before answering.
      if (!fresh && decided.verdicts.some(isRefusalOrNoOp)) {
        lot = await this.catchUp(streamId, lot);
        fresh = true;
        decided = decideAll(batch, await this.withEnded(lotId, lot.state, batch, recalled));
      }
      const { verdicts, toAppend } = decided;
      deciding.end();
      if (toAppend.length === 0) {
        this.cache.set(lotId, lot);
        const position = lot.position;
        return verdicts.map((v) => answer(v, position, []));
      }

      let result: { nextExpectedRevision: number; position: Position };
      const appending = tracingOn()
        ? batchSpans("append", traceparents, {
            "parking.stream": streamId,
            "parking.events": toAppend.length,
          })
        : NO_SPANS;
      try {
        result = await this.eventStore.appendToStream(streamId, toAppend, {
          expectedRevision: lot.revision < 0 ? "no_stream" : lot.revision,
        });
        appending.end();
      } catch (error) {
        appending.end(error);
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        for (const waiting of batch) this.options.hooks?.onConflict?.(waiting.command.type);
        if (attempt >= this.options.retryLimit) throw new ConcurrencyConflictError(streamId, attempt + 1);
        // Someone else appended to this lot: fold in what they wrote and decide them all again.
        if (attempt > 1) await sleep(Math.random() * Math.min(50, 2 ** attempt));
        lot = await this.catchUp(streamId, lot);
        fresh = true;
        continue;
      }

      const before = lot;
      const finalState = lastAcceptedState(verdicts) ?? before.state;
      const after = {
        state: finalState,
        revision: result.nextExpectedRevision,
        position: result.position,
        loadedRevision: before.loadedRevision,
      };
      if (this.dueForReload(after)) this.cache.delete(lotId);
      else this.cache.set(lotId, after);
      const positions = await this.positionsOf(
        streamId,
        before.revision + 1,
        toAppend.length,
        result.position,
      );
      return verdicts.map((v) => answer(v, before.position, positions));
    }
  }

  /**
   * Global positions of the events just appended (revisions `from`..`from+count-1`): the append
   * reports only the last one, so a batch of several reads them back (they are in the stream for
   * good, and an index lookup away); a single event needs no read.
   */
  private async positionsOf(
    streamId: string,
    from: number,
    count: number,
    last: Position,
  ): Promise<Position[]> {
    if (count === 1) return [last];
    const positions: Position[] = [];
    for await (const recorded of this.eventStore.readStream(streamId, {
      fromRevision: from,
      maxCount: count,
    })) {
      positions.push(recorded.position);
    }
    if (positions.length !== count)
      throw new Error(`read back ${positions.length} of ${count} events of ${streamId}`);
    return positions;
  }

  /** Folds the events after the cached revision into the cached state. */
  private async catchUp(streamId: string, from: CachedLot): Promise<CachedLot> {
    const { state, revision, position } = await this.loader.catchUp(streamId, from);
    return { state, revision, position, loadedRevision: from.loadedRevision };
  }

  /**
   * The state to decide the batch on: the lot's, with the records of the ended reservations that
   * the batch names and the state has left out (decider.ts, `forgetEnded`), read from the snapshot
   * store's archive. Without them a retried reservation would be booked a second time and a
   * cancel of an ended one answered as unknown. A fresh reservation id names nothing earlier, so
   * booking needs no read; `recalled` keeps what this batch has read already (null: not there). If
   * the archive cannot be read, the batch fails as a store that is down does: nothing is decided blind.
   */
  private async withEnded(
    lotId: string,
    state: ParkingLotState,
    batch: readonly Waiting[],
    recalled: Map<string, ReservationRecord | null>,
  ): Promise<ParkingLotState> {
    const missing = new Set<string>();
    for (const { command } of batch) {
      for (const id of namedReservationsMissing(command, state)) {
        if (command.type === "ReserveParking" && isFreshReservationId(id)) continue;
        if (!recalled.has(id)) missing.add(id);
      }
    }
    if (missing.size > 0) {
      const snapshots = this.options.snapshots;
      try {
        if (!snapshots) throw new Error("no snapshot store to read the lot's ended reservations from");
        const found = await withTimeout(
          snapshots.archived(lotId, [...missing]),
          this.options.snapshotTimeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS,
          "the archive of ended reservations",
        );
        for (const id of missing) recalled.set(id, found.get(id) ?? null);
      } catch (error) {
        throw new DocumentStoreUnavailableError(
          `the ended reservations of parking lot ${lotId} could not be read: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    }
    const records: [string, ReservationRecord][] = [];
    for (const [id, record] of recalled) if (record) records.push([id, record]);
    return records.length === 0 ? state : recall(state, records);
  }

  /**
   * Whether to drop a cached lot so that its next command loads it again, from its newest snapshot:
   * a lot that stays in the cache folds every event it takes, so the records of its reservations
   * that end pile up in memory until it is loaded again from a snapshot that leaves them out. At
   * most once per `reloadAfter` events, so a lot whose snapshots lag is not loaded over and over.
   */
  private dueForReload(lot: CachedLot): boolean {
    const every = this.options.reloadAfter ?? DEFAULT_RELOAD_AFTER;
    if (!this.options.snapshots || every <= 0 || lot.state.kind !== "registered") return false;
    const ended = lot.state.reservations.size - Math.max(0, lot.state.activeReservations);
    return ended >= every && lot.revision - lot.loadedRevision >= every;
  }
}

/** A command of a batch whose events could not be encoded: it alone fails, the others go on. */
class Failure {
  constructor(readonly error: unknown) {}
}

/** Decides each command on the state the ones before it leave; only accepted events evolve it. */
function decideAll(
  batch: readonly Waiting[],
  initial: ParkingLotState,
): { verdicts: Verdict[]; toAppend: EventToAppend[] } {
  const verdicts: Verdict[] = [];
  const toAppend: EventToAppend[] = [];
  let state = initial;
  for (const { command, context } of batch) {
    const decision = decide(command, state);
    if (!decision.ok) {
      verdicts.push({ kind: "refused", rejection: decision.rejection });
      continue;
    }
    const causation = {
      correlationId: context.correlationId,
      causationId: context.commandId,
      actor: context.actor,
      ...(context.traceparent ? { traceparent: context.traceparent } : {}),
    };
    let encoded: EventToAppend[];
    try {
      encoded = decision.events.map((event) => encodeEvent(event, causation));
    } catch (error) {
      verdicts.push({ kind: "failed", error });
      continue;
    }
    state = decision.events.reduce(evolve, state);
    toAppend.push(...encoded);
    verdicts.push({ kind: "accepted", events: decision.events, state, lastEvent: toAppend.length - 1 });
  }
  return { verdicts, toAppend };
}

const isRefusalOrNoOp = (v: Verdict): boolean =>
  v.kind === "refused" || (v.kind === "accepted" && v.events.length === 0);

function lastAcceptedState(verdicts: readonly Verdict[]): ParkingLotState | undefined {
  for (let i = verdicts.length - 1; i >= 0; i--) {
    const v = verdicts[i] as Verdict;
    if (v.kind === "accepted") return v.state;
  }
  return undefined;
}

/**
 * A command's answer: its own events' last position, or for a no-op the position of the lot's
 * last event as it stood for that command (the batch's events before it, else the stream's).
 */
function answer(
  v: Verdict,
  before: Position | null,
  positions: readonly Position[],
): CommandOutcome | Failure {
  switch (v.kind) {
    case "refused":
      return { ok: false, rejection: v.rejection };
    case "failed":
      return new Failure(v.error);
    case "accepted":
      return {
        ok: true,
        events: v.events,
        state: v.state,
        position: positionAt(v.lastEvent, before, positions),
      };
  }
}

const positionAt = (
  lastEvent: number,
  before: Position | null,
  positions: readonly Position[],
): Position | null => (lastEvent < 0 ? before : (positions[lastEvent] ?? before));
