import { setTimeout as sleep } from "node:timers/promises";
import { encodeEvent } from "../event-store/codec.js";
import { WrongExpectedRevisionError } from "../event-store/errors.js";
import type { EventStore, EventToAppend } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { Logger } from "../platform/logger.js";
import type { Actor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { LotLoader, type SnapshotUse } from "./lot-loader.js";
import type { LotSnapshotStore } from "./lot-snapshots.js";
import { type LotAtRevision, LotStateCache } from "./lot-state-cache.js";
import {
  decide,
  evolve,
  type ParkingLotEvent,
  type ParkingLotState,
  parkingLotStream,
  type Rejection,
} from "./parking-lot/decider.js";

export interface CommandContext {
  /** Carried into every event's metadata, and on to the events those cause. */
  readonly correlationId: string;
  /** Identifies this command; becomes the events' causationId. */
  readonly commandId: string;
  /** Who sent the command; recorded in every event's metadata. */
  readonly actor: Actor;
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
    let lot: LotAtRevision | undefined = this.cache.get(lotId);
    let fresh = false;
    if (!lot) {
      const loaded = await this.loader.load(lotId);
      this.options.hooks?.onLoad?.(loaded.snapshot);
      lot = { state: loaded.state, revision: loaded.revision, position: loaded.position };
      fresh = true;
    }

    for (let attempt = 0; ; attempt++) {
      this.options.hooks?.onBatch?.(batch.length);
      let decided = decideAll(batch, lot.state);
      // A refusal or a no-op decided on a cached state might be stale if another process wrote
      // to this lot: confirm against the stream before answering.
      if (!fresh && decided.verdicts.some(isRefusalOrNoOp)) {
        lot = await this.catchUp(streamId, lot);
        fresh = true;
        decided = decideAll(batch, lot.state);
      }
      const { verdicts, toAppend } = decided;
      if (toAppend.length === 0) {
        this.cache.set(lotId, lot);
        const position = lot.position;
        return verdicts.map((v) => answer(v, position, []));
      }

      let result: { nextExpectedRevision: number; position: Position };
      try {
        result = await this.eventStore.appendToStream(streamId, toAppend, {
          expectedRevision: lot.revision < 0 ? "no_stream" : lot.revision,
        });
      } catch (error) {
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
      this.cache.set(lotId, {
        state: finalState,
        revision: result.nextExpectedRevision,
        position: result.position,
      });
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
  private async catchUp(streamId: string, from: LotAtRevision): Promise<LotAtRevision> {
    const { state, revision, position } = await this.loader.catchUp(streamId, from);
    return { state, revision, position };
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
