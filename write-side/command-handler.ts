import type { EventStore } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { Logger } from "../platform/logger.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { encodeEvent } from "../schemas/event-codec.js";
import { type CommandContext, DeciderRunner, type DeciderRunnerHooks } from "./decider-runner.js";
import type { SnapshotUse } from "./lot-loader.js";
import type { LotSnapshotStore } from "./lot-snapshots.js";
import { LotStateSource } from "./lot-state-source.js";
import {
  type Decision,
  decide,
  evolve,
  initialState,
  type ParkingLotEvent,
  type ParkingLotState,
  type PaymentsContext,
  parkingLotStream,
  type Rejection,
} from "./parking-lot/decider.js";
import { type LotCommandView, viewAfter } from "./parking-lot/view.js";
import { warmUpCommandPath } from "./warm-up.js";

export { type CommandContext, ConcurrencyConflictError, DEFAULT_MAX_BATCH } from "./decider-runner.js";
export { DEFAULT_RELOAD_AFTER } from "./lot-state-source.js";

export type CommandOutcome =
  | {
      readonly ok: true;
      /** What this command appended; empty for an idempotent repeat that changed nothing. */
      readonly events: readonly ParkingLotEvent[];
      /** The lot as of after the command. */
      readonly state: ParkingLotState;
      /** What the command's answer shows (the reservation it named), as of after the command. */
      readonly view: LotCommandView;
      /** Global position of the lot's last event (the appended ones, if any); null if none. */
      readonly position: Position | null;
    }
  | { readonly ok: false; readonly rejection: Rejection };

export interface CommandHandlerHooks extends DeciderRunnerHooks {
  /** Called for each lot loaded from the store (not in the cache), with what became of its snapshot (metrics). */
  readonly onLoad?: (snapshot: SnapshotUse) => void;
}

/**
 * The parking lot's commands: the decider runner (decider-runner.ts: load, decide, append with the
 * lot stream's expected revision, retry on conflict, one lane and one append per batch per lot)
 * on the lot's decider, its stream, and its state source (lot-state-source.ts: snapshots, the
 * archive of ended reservations); each accepted command answered with the view its route shows.
 */
export class ParkingLotCommandHandler {
  private readonly source: LotStateSource;
  private readonly runner: DeciderRunner<ParkingLotCommand, ParkingLotEvent, ParkingLotState, Rejection>;

  constructor(
    eventStore: EventStore,
    options: {
      readonly retryLimit: number;
      readonly cacheSize: number;
      readonly maxBatch?: number;
      readonly hooks?: CommandHandlerHooks;
      /** See LotStateSourceOptions. */
      readonly snapshots?: LotSnapshotStore;
      readonly snapshotTimeoutMs?: number;
      readonly logger?: Logger;
      readonly reloadAfter?: number;
      /** Issue 48: the bound on a period's events (LotStateSourceOptions.periodEvents). */
      readonly periodEvents?: number;
      /** The clock of the periods' openings (LotStateSourceOptions.now). */
      readonly now?: () => number;
      /** Issue 38: whether bookings ask to be paid, and how long they wait (from config); off without it. */
      readonly payments?: PaymentsContext;
    },
  ) {
    const { hooks, snapshots, snapshotTimeoutMs, logger, reloadAfter, periodEvents } = options;
    const source = new LotStateSource(eventStore, {
      ...(snapshots ? { snapshots } : {}),
      ...(snapshotTimeoutMs !== undefined ? { snapshotTimeoutMs } : {}),
      ...(logger ? { logger } : {}),
      ...(reloadAfter !== undefined ? { reloadAfter } : {}),
      ...(periodEvents !== undefined ? { periodEvents } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(hooks?.onLoad ? { onLoad: hooks.onLoad } : {}),
    });
    this.source = source;
    const context = options.payments ? { payments: options.payments } : {};
    this.runner = new DeciderRunner(eventStore, {
      decider: {
        decide: (command, state) => decide(command, state, context),
        evolve,
        initialState,
      },
      keyOf: (command) => command.parkingLotId,
      streamOf: parkingLotStream,
      source,
      encode: (event, context) =>
        encodeEvent(event, {
          correlationId: context.correlationId,
          causationId: context.commandId,
          actor: context.actor,
          ...(context.traceparent ? { traceparent: context.traceparent } : {}),
        }),
      retryLimit: options.retryLimit,
      cacheSize: options.cacheSize,
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
      ...(hooks ? { hooks } : {}),
      trace: { prefix: "parking", keyName: "lot" },
    });
  }

  /**
   * Pays at start-up what the first command of a fresh process would pay otherwise: the schema
   * compiles and the lot's code path (warm-up.ts), and a load of a lot that does not exist (the
   * stores' statements and first pages). A store that fails here is the first command's problem.
   */
  async warmUp(): Promise<void> {
    warmUpCommandPath();
    await this.source.warmUp().catch(() => undefined);
  }

  /**
   * Forgets the cached states of these lots (every lot when none are named): after an erasure
   * they would still hold the customer's id and plates; the next command loads them from the
   * store, where they read `erased` (issue 36).
   */
  forgetLots(parkingLotIds?: readonly string[]): void {
    this.runner.forget(parkingLotIds);
  }

  /**
   * The lot's state as its stream holds it now, read afresh (issue 47: the payments process manager
   * asks whether a booking still waits for its payment, or counts on an intent, before acting).
   */
  async stateOf(parkingLotId: string): Promise<ParkingLotState> {
    return (await this.source.load(parkingLotId)).state;
  }

  /** The lot's state as the command path holds it (cached, caught up with its stream): issue 49's gates look first. */
  currentState(parkingLotId: string): Promise<ParkingLotState> {
    return this.runner.stateNow(parkingLotId);
  }

  /** What the command would decide now, appending nothing (DeciderRunner.preview). */
  preview(command: ParkingLotCommand): Promise<Decision> {
    return this.runner.preview(command);
  }

  async handle(command: ParkingLotCommand, context: CommandContext): Promise<CommandOutcome> {
    const outcome = await this.runner.handle(command, context);
    return outcome.ok ? { ...outcome, view: viewAfter(command, outcome.state) } : outcome;
  }
}
