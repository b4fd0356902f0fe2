import { setTimeout as sleep } from "node:timers/promises";
import { decodeEvent, encodeEvent } from "../event-store/codec.js";
import { WrongExpectedRevisionError } from "../event-store/errors.js";
import type { EventStore } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { Actor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { KeyedLanes } from "./keyed-lanes.js";
import { type LotSnapshot, LotStateCache } from "./lot-state-cache.js";
import {
  type Decision,
  decide,
  evolve,
  initialState,
  PARKING_LOT_EVENT_TYPES,
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
  /** Called for each optimistic-concurrency conflict (metrics). */
  readonly onConflict?: (command: ParkingLotCommand["type"]) => void;
}

/**
 * Load the lot, decide, append with the lot stream's expected revision; on a conflict,
 * catch up and decide again (bounded). Commands on one lot are queued in-process; across
 * processes the expected revision is what serializes them.
 */
export class ParkingLotCommandHandler {
  private readonly cache: LotStateCache;
  private readonly lanes = new KeyedLanes();

  constructor(
    private readonly eventStore: EventStore,
    private readonly options: {
      readonly retryLimit: number;
      readonly cacheSize: number;
      readonly hooks?: CommandHandlerHooks;
    },
  ) {
    this.cache = new LotStateCache(options.cacheSize);
  }

  handle(command: ParkingLotCommand, context: CommandContext): Promise<CommandOutcome> {
    return this.lanes.run(command.parkingLotId, () => this.handleInLane(command, context));
  }

  private async handleInLane(command: ParkingLotCommand, context: CommandContext): Promise<CommandOutcome> {
    const streamId = parkingLotStream(command.parkingLotId);
    let snapshot = this.cache.get(command.parkingLotId);
    let fresh = false;
    if (!snapshot) {
      snapshot = await this.catchUp(streamId, { state: initialState, revision: -1, position: null });
      fresh = true;
    }

    for (let attempt = 0; ; attempt++) {
      let decision: Decision = decide(command, snapshot.state);
      // A refusal or a no-op decided on a cached state might be stale if another process wrote
      // to this lot: confirm against the stream before answering.
      if (!fresh && (!decision.ok || decision.events.length === 0)) {
        snapshot = await this.catchUp(streamId, snapshot);
        fresh = true;
        decision = decide(command, snapshot.state);
      }
      if (!decision.ok) {
        this.cache.set(command.parkingLotId, snapshot);
        return { ok: false, rejection: decision.rejection };
      }
      if (decision.events.length === 0) {
        this.cache.set(command.parkingLotId, snapshot);
        return { ok: true, events: [], state: snapshot.state, position: snapshot.position };
      }

      const causation = {
        correlationId: context.correlationId,
        causationId: context.commandId,
        actor: context.actor,
      };
      try {
        const result = await this.eventStore.appendToStream(
          streamId,
          decision.events.map((event) => encodeEvent(event, causation)),
          { expectedRevision: snapshot.revision < 0 ? "no_stream" : snapshot.revision },
        );
        const state = decision.events.reduce(evolve, snapshot.state);
        this.cache.set(command.parkingLotId, {
          state,
          revision: result.nextExpectedRevision,
          position: result.position,
        });
        return { ok: true, events: decision.events, state, position: result.position };
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        this.options.hooks?.onConflict?.(command.type);
        if (attempt >= this.options.retryLimit) throw new ConcurrencyConflictError(streamId, attempt + 1);
        // Someone else appended to this lot: fold in what they wrote and decide again.
        if (attempt > 1) await sleep(Math.random() * Math.min(50, 2 ** attempt));
        snapshot = await this.catchUp(streamId, snapshot);
        fresh = true;
      }
    }
  }

  /** Folds the events after the snapshot's revision into it. */
  private async catchUp(streamId: string, from: LotSnapshot): Promise<LotSnapshot> {
    let { state, revision, position } = from;
    for await (const recorded of this.eventStore.readStream(streamId, { fromRevision: revision + 1 })) {
      revision = recorded.revision;
      position = recorded.position;
      if (!PARKING_LOT_EVENT_TYPES.has(recorded.type)) continue;
      state = evolve(state, decodeEvent(recorded).event as ParkingLotEvent);
    }
    return { state, revision, position };
  }
}
