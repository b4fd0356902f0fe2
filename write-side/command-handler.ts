import type { EventStore } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { Logger } from "../platform/logger.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { encodeEvent } from "../schemas/event-codec.js";
import {
  type CommandContext,
  causationOf,
  DeciderRunner,
  type DeciderRunnerHooks,
} from "./decider-runner.js";
import { type LotCommandView, viewAfter } from "./lot-command-view.js";
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
import type { PaymentState } from "./payment/payment.js";
import type { PaymentEvent } from "./payment/payment-facts.js";
import { PaymentCommandHandler } from "./payment/payment-handler.js";
import { isPaymentProcessCommand, PaymentProcess, type SettleBooking } from "./payment/payment-process.js";
import type { CommandRejection } from "./payment/payment-rejections.js";
import { warmUpCommandPath } from "./warm-up.js";

export { type CommandContext, ConcurrencyConflictError, DEFAULT_MAX_BATCH } from "./decider-runner.js";

export type CommandOutcome =
  | {
      readonly ok: true;
      /**
       * What this command appended (a lot command: to the lot's stream only; a payment command: to
       * the payment's, and the lot's outcome fact); empty for an idempotent repeat that changed nothing.
       */
      readonly events: readonly (ParkingLotEvent | PaymentEvent)[];
      /** The lot as of after the command. */
      readonly state: ParkingLotState;
      /** What the command's answer shows (the reservation it named), as of after the command. */
      readonly view: LotCommandView;
      /** Global position of the lot's last event (the appended ones, if any); null if none. */
      readonly position: Position | null;
    }
  | { readonly ok: false; readonly rejection: CommandRejection };

export type CommandHandlerHooks = DeciderRunnerHooks;

/**
 * The parking lot's commands: the decider runner (decider-runner.ts: load, decide, append with the
 * lot stream's expected revision, retry on conflict, one lane and one append per batch per lot)
 * on the lot's decider, its stream, and its state source (lot-state-source.ts: the current
 * period's opening and events); each accepted command answered with the view its route shows.
 */
export class ParkingLotCommandHandler {
  private readonly source: LotStateSource;
  private readonly runner: DeciderRunner<ParkingLotCommand, ParkingLotEvent, ParkingLotState, Rejection>;
  private readonly payments: PaymentCommandHandler;
  private readonly process: PaymentProcess;

  constructor(
    eventStore: EventStore,
    options: {
      readonly retryLimit: number;
      readonly cacheSize: number;
      readonly maxBatch?: number;
      readonly hooks?: CommandHandlerHooks;
      readonly logger?: Logger;
      /** Issue 48: the bound on a period's events (LotStateSourceOptions.periodEvents). */
      readonly periodEvents?: number;
      /** The clock of the periods' openings (LotStateSourceOptions.now). */
      readonly now?: () => number;
      /** Issue 38: whether bookings ask to be paid, and how long they wait (from config); off without it. */
      readonly payments?: PaymentsContext;
    },
  ) {
    const { hooks, logger, periodEvents } = options;
    const source = new LotStateSource(eventStore, {
      ...(logger ? { logger } : {}),
      ...(periodEvents !== undefined ? { periodEvents } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    this.source = source;
    const context = options.payments ? { payments: options.payments } : {};
    this.runner = new DeciderRunner<ParkingLotCommand, ParkingLotEvent, ParkingLotState, Rejection>(
      eventStore,
      {
        decider: {
          decide: (command, state) => decide(command, state, context),
          evolve,
          initialState,
        },
        keyOf: (command) => command.parkingLotId,
        streamOf: parkingLotStream,
        source,
        encode: (event, context) => encodeEvent(event, causationOf(context)),
        retryLimit: options.retryLimit,
        cacheSize: options.cacheSize,
        ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
        ...(hooks ? { hooks } : {}),
        trace: { prefix: "parking", keyName: "lot" },
      },
    );
    // Issue 48: a payment's commands are decided on its own stream first, the lot following.
    this.payments = new PaymentCommandHandler(eventStore, { retryLimit: options.retryLimit });
    this.process = new PaymentProcess(
      {
        stateNow: (parkingLotId) => this.runner.stateNow(parkingLotId),
        handle: (command, context) => this.runner.handle(command, context),
      },
      this.payments,
    );
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
   * Resolves once the lot's commands handed in so far are answered and what follows them is done:
   * a period's close and opening run after the command that crossed the bound is answered (issue 48).
   */
  lotSettled(parkingLotId: string): Promise<void> {
    return this.runner.settled(parkingLotId);
  }

  /**
   * Issue 68: the scheduler's CloseBooks at the lot's local day boundary (LotStateSource,
   * closeBooksIfDue); the lot's cached state is dropped (its next command catches up).
   */
  async closeBooksIfDue(parkingLotId: string): Promise<{ closed: boolean; dueAt?: string }> {
    await this.runner.settled(parkingLotId);
    const outcome = await this.source.closeBooksIfDue(parkingLotId);
    this.runner.forget([parkingLotId]);
    return outcome;
  }

  /**
   * The lot's state as its stream holds it now, read afresh (issue 47: the payments process manager
   * asks whether a booking still waits for its payment, or counts on an intent, before acting). A
   * read: it closes no books (issue 68), only a lot's command does.
   */
  async stateOf(parkingLotId: string): Promise<ParkingLotState> {
    return (await this.source.read(parkingLotId)).state;
  }

  /** The lot's state as the command path holds it (cached, caught up with its stream): issue 49's gates look first. */
  currentState(parkingLotId: string): Promise<ParkingLotState> {
    return this.runner.stateNow(parkingLotId);
  }

  /** What the command would decide now, appending nothing (DeciderRunner.preview). */
  preview(command: ParkingLotCommand): Promise<Decision> {
    return this.runner.preview(command);
  }

  /**
   * A reservation's payment now (issue 48): its own stream alone (a payment a lot's stream held
   * before issue 48 was carried onto it by the upgrade, write-side/payment/payment-upgrade.ts).
   */
  paymentStateOf(_parkingLotId: string, reservationId: string): Promise<PaymentState> {
    return this.payments.stateOf(reservationId);
  }

  /**
   * A lot command appends to the lot's stream only (issue 68): a paid booking it ends is settled by
   * the payments process manager from the lot's end event; a cancel's answer states the settlement
   * the lot's terms give (write-side/http/command-routes.ts). A payment's command goes to its process.
   */
  async handle(command: ParkingLotCommand | SettleBooking, context: CommandContext): Promise<CommandOutcome> {
    const outcome = isPaymentProcessCommand(command)
      ? await this.process.handle(command, context)
      : await this.runner.handle(command, context);
    if (!outcome.ok) return outcome;
    return { ...outcome, view: command.type === "SettleBooking" ? {} : viewAfter(command, outcome.state) };
  }
}
