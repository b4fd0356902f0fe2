import type { EventStore } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { encodeEvent } from "../schemas/event-codec.js";
import {
  type CommandContext,
  causationOf,
  DeciderRunner,
  type DeciderRunnerOptions,
} from "./decider-runner.js";
import { type LotCommandView, viewAfter } from "./lot-command-view.js";
import { LotStateSource, type LotStateSourceOptions } from "./lot-state-source.js";
import {
  type Decision,
  decide,
  evolve,
  type ParkingLotEvent,
  type ParkingLotState,
  type PaymentsContext,
  parkingLotStream,
  type Rejection,
} from "./parking-lot/decider.js";
import type { PaymentState } from "./payment/payment.js";
import type { PaymentEvent } from "./payment/payment-facts.js";
import { type PaymentCommandHandler, paymentCommandHandler } from "./payment/payment-handler.js";
import {
  isPaymentProcessCommand,
  PaymentProcess,
  type ProcessOnlyCommand,
} from "./payment/payment-process.js";
import type { CommandRejection } from "./payment/payment-rejections.js";
import { warmUpCommandPath } from "./warm-up.js";

export { type CommandContext, ConcurrencyConflictError } from "./decider-runner.js";

type LotRunnerOptions = DeciderRunnerOptions<ParkingLotCommand, ParkingLotEvent, ParkingLotState, Rejection>;

export type CommandOutcome =
  | {
      readonly ok: true;
      /** What this command appended (to its lot's or payment's stream); empty for an idempotent repeat. */
      readonly events: readonly (ParkingLotEvent | PaymentEvent)[];
      /** The lot, and what the answer shows of it (the reservation named), as of after the command. */
      readonly state: ParkingLotState;
      readonly view: LotCommandView;
      /** Global position of the lot's last event as of after the command; null if none. */
      readonly position: Position | null;
    }
  | { readonly ok: false; readonly rejection: CommandRejection };

/** The parking lot's commands: the decider runner on the lot's decider and state source, a payment's sent to its process. */
export class ParkingLotCommandHandler {
  private readonly source: LotStateSource;
  private readonly runner: DeciderRunner<ParkingLotCommand, ParkingLotEvent, ParkingLotState, Rejection>;
  private readonly payments: PaymentCommandHandler;
  private readonly process: PaymentProcess;

  constructor(
    eventStore: EventStore,
    /** The state source's (its period bound, clock and log) and the runner's (retries, cache, batch, hooks). */
    options: LotStateSourceOptions &
      Pick<LotRunnerOptions, "retryLimit" | "cacheSize" | "maxBatch" | "hooks"> & {
        /** Whether bookings ask to be paid, and how long they wait (from config); off without it. */
        readonly payments?: PaymentsContext;
      },
  ) {
    this.source = new LotStateSource(eventStore, options);
    const context = options.payments ? { payments: options.payments } : {};
    this.runner = new DeciderRunner<ParkingLotCommand, ParkingLotEvent, ParkingLotState, Rejection>(
      eventStore,
      {
        ...options,
        decider: { decide: (command, state) => decide(command, state, context), evolve },
        keyOf: (command) => command.parkingLotId,
        streamOf: parkingLotStream,
        source: this.source,
        encode: (event, context) => encodeEvent(event, causationOf(context)),
        trace: { prefix: "parking", keyName: "lot" },
      },
    );
    // A payment's commands are decided on its own stream first, the lot following.
    this.payments = paymentCommandHandler(eventStore, options.retryLimit);
    this.process = new PaymentProcess(this.runner, this.payments);
  }

  /**
   * Pays at start-up what a fresh process's first command would (warm-up.ts), and a read of a lot no
   * request can name (the stores' statements). A store that fails here is the first command's problem.
   */
  async warmUp(): Promise<void> {
    warmUpCommandPath();
    await this.source.read(".warm-up").catch(() => undefined);
  }

  /** Forgets these lots' cached states (all when none named): after an erasure they would hold the customer's data. */
  forgetLots(parkingLotIds?: readonly string[]): void {
    this.runner.forget(parkingLotIds);
  }

  /** Resolves once the lot's commands handed in so far are answered and a close they led to is done. */
  lotSettled(parkingLotId: string): Promise<void> {
    return this.runner.settled(parkingLotId);
  }

  /** The scheduler's CloseBooks (LotStateSource.closeBooksIfDue); the lot's next command catches up. */
  async closeBooksIfDue(parkingLotId: string): Promise<{ closed: boolean; dueAt?: string }> {
    await this.runner.settled(parkingLotId);
    const outcome = await this.source.closeBooksIfDue(parkingLotId);
    this.runner.forget([parkingLotId]);
    return outcome;
  }

  /** The lot's state read afresh from its stream, closing no books (only a lot's command does). */
  async stateOf(parkingLotId: string): Promise<ParkingLotState> {
    return (await this.source.read(parkingLotId)).state;
  }

  /** The lot's state as the command path holds it (cached, caught up with its stream). */
  currentState(parkingLotId: string): Promise<ParkingLotState> {
    return this.runner.stateNow(parkingLotId);
  }

  /** What the command would decide now, appending nothing (DeciderRunner.preview). */
  preview(command: ParkingLotCommand): Promise<Decision> {
    return this.runner.preview(command);
  }

  /** A reservation's payment now, from its own stream. */
  paymentStateOf(_parkingLotId: string, reservationId: string): Promise<PaymentState> {
    return this.payments.stateNow(reservationId);
  }

  /** A lot command appends to the lot's stream only (the payments process settles what it ends); a payment's goes to its process. */
  async handle(
    command: ParkingLotCommand | ProcessOnlyCommand,
    context: CommandContext,
  ): Promise<CommandOutcome> {
    const outcome = isPaymentProcessCommand(command)
      ? await this.process.handle(command, context)
      : await this.runner.handle(command, context);
    if (!outcome.ok) return outcome;
    const processOnly = command.type === "SettleBooking" || command.type === "RequestPayment";
    return { ...outcome, view: processOnly ? {} : viewAfter(command, outcome.state) };
  }
}
