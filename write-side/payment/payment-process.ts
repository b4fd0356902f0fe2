import type {
  AuthorizePayment,
  ExpirePaymentHold,
  FailPayment,
  ParkingLotCommand,
} from "../../schemas/commands.js";
import { DEFAULT_PAYMENT_TERMS } from "../../schemas/common.js";
import type { CommandContext, RunOutcome } from "../decider-runner.js";
import type {
  LotCommand,
  ParkingLotEvent,
  ParkingLotState,
  PaymentStreamCommandType,
} from "../parking-lot/decider.js";
import { reservationStatus } from "../parking-lot/decider.js";
import { awaitingPayment, holdUntilOf } from "../parking-lot/payments.js";
import { type BookingEnd, bookingAskOf, settleAskOf } from "./lot-booking.js";
import { type PaymentState, termsOnStream } from "./payment.js";
import type { PaymentEvent } from "./payment-facts.js";
import type { PaymentCommand, PaymentCommandHandler, PaymentOutcome } from "./payment-handler.js";
import type { CommandRejection } from "./payment-rejections.js";

/**
 * Issue 48, item 1: a payment's commands, decided on its own stream first (`payment-{reservationId}`,
 * payment-handler.ts), the lot following with its own outcome. The payment's stream settles a race
 * between an authorization and a failure or an expired hold (its expected revision: one of them is
 * recorded, the other then decides nothing); the lot then hears the outcome (AuthorizePayment →
 * ReservationConfirmed; a failure or an expired hold → ReservationCanceled). What only the lot knows
 * (whether the booking still waits, what it asked, its terms) is read from the lot's state here and
 * passed in the payment's command. Nothing here appends a payment fact to a lot's stream.
 */

/**
 * A paid booking ended (the lot's check-out, cancel, closure or no-show): the payments process
 * manager, following the lot's end event, asks for its settlement with what the event says.
 */
export interface SettleBooking {
  readonly type: "SettleBooking";
  readonly parkingLotId: string;
  readonly reservationId: string;
  readonly end: BookingEnd;
  readonly now: string;
}

export type PaymentProcessCommand =
  | Extract<
      ParkingLotCommand,
      { readonly type: PaymentStreamCommandType | "AuthorizePayment" | "FailPayment" | "ExpirePaymentHold" }
    >
  | SettleBooking;

const PROCESS_TYPES: ReadonlySet<string> = new Set<PaymentProcessCommand["type"]>([
  "AuthorizePayment",
  "FailPayment",
  "ExpirePaymentHold",
  "RecordPaymentOutcome",
  "RefundPayment",
  "RecordPaymentIntent",
  "RecordIntentReleased",
  "RecordHoldLapsed",
  "SettleBooking",
]);

export const isPaymentProcessCommand = (command: {
  readonly type: string;
}): command is PaymentProcessCommand => PROCESS_TYPES.has(command.type);

/** What a payment command's run appended: to the payment's stream, and the lot's outcome fact. */
export type LotOutcome = RunOutcome<ParkingLotEvent | PaymentEvent, ParkingLotState, CommandRejection>;

/** The lot as the payment process reaches it: its state now, and its decider runner. */
export interface LotSide {
  readonly stateNow: (parkingLotId: string) => Promise<ParkingLotState>;
  readonly handle: (command: LotCommand, context: CommandContext) => Promise<LotOutcome>;
}

const notFound = (command: { parkingLotId: string; reservationId: string }): LotOutcome => ({
  ok: false,
  rejection: {
    code: "ReservationNotFound",
    parkingLotId: command.parkingLotId,
    reservationId: command.reservationId,
  },
});

/**
 * Whether the booking is known: the lot's state holds it, or its payment's stream has begun (a
 * booking that ended and left the lot's state; an old payment the upgrade carried over).
 */
const knows = (lot: ParkingLotState, reservationId: string, payment: PaymentState): boolean =>
  payment.kind === "open" || (lot.kind === "registered" && lot.reservations.has(reservationId));

/** The terms a settlement follows: what the lot holds of the booking's, else its payment's stream's. */
const settleAsk = (lot: ParkingLotState, payment: PaymentState | undefined, id: string, end: BookingEnd) =>
  settleAskOf(lot, id, end, payment && termsOnStream(payment));

export class PaymentProcess {
  constructor(
    private readonly lot: LotSide,
    private readonly payments: PaymentCommandHandler,
  ) {}

  async handle(command: PaymentProcessCommand, context: CommandContext): Promise<LotOutcome> {
    const lot = await this.lot.stateNow(command.parkingLotId);
    if (lot.kind !== "registered")
      return { ok: false, rejection: { code: "LotNotFound", parkingLotId: command.parkingLotId } };
    // The payment's stream alone answers (old data was carried onto it by the upgrade, on start).
    const payment = await this.payments.stateOf(command.reservationId);
    // A payment is one lot's: naming it under another lot is answered like an unknown booking.
    if (payment.kind === "open" && payment.parkingLotId !== command.parkingLotId) return notFound(command);
    const run = new Run(this.lot, this.payments, lot, context);
    switch (command.type) {
      case "RecordPaymentIntent":
        if (!knows(lot, command.reservationId, payment)) return notFound(command);
        return run.pay({
          ...base(command),
          type: "RecordPaymentIntent",
          command,
          ask: bookingAskOf(lot, command.reservationId),
        });
      case "AuthorizePayment":
        return this.authorize(command, run, payment);
      case "FailPayment":
        return this.fail(command, run, payment);
      case "ExpirePaymentHold":
        return this.expire(command, run, payment);
      case "RecordIntentReleased":
        return run.pay({ ...base(command), type: "RecordIntentReleased", command });
      case "RecordHoldLapsed":
        return run.pay({ ...base(command), type: "RecordHoldLapsed", command });
      case "RecordPaymentOutcome":
        return run.pay({ ...base(command), type: "RecordPaymentOutcome", command });
      case "RefundPayment":
        if (!knows(lot, command.reservationId, payment)) return notFound(command);
        return run.pay({ ...base(command), type: "RefundPayment", command });
      case "SettleBooking": {
        const ask = settleAsk(lot, payment, command.reservationId, command.end);
        if (!ask) return run.done();
        return run.pay({ ...base(command), type: "DecideSettlement", ask, now: command.now });
      }
    }
  }

  /**
   * The payment authorized on its stream, then the booking confirmed. If the lot ended the booking
   * meanwhile (its customer canceled it, its hold ran out between the two), the lot refuses
   * (PaymentNotPending) and the authorized payment is settled here as a cancel that costs nothing:
   * the payments process manager then releases the whole authorization, as for any settlement.
   */
  private async authorize(command: AuthorizePayment, run: Run, payment: PaymentState): Promise<LotOutcome> {
    const { reservationId } = command;
    const record =
      run.lotState.kind === "registered" ? run.lotState.reservations.get(reservationId) : undefined;
    if (!record && payment.kind === "none") return notFound(command);
    const booking = record
      ? {
          customerId: record.customerId,
          booking: {
            amount: record.amount,
            ...(record.startsAt ? { startsAt: record.startsAt, endsAt: record.endsAt } : {}),
          },
        }
      : {};
    // A window over unused (or a closure begun) while the booking still waited ended it by the
    // clock: like a decline or an expiry then, a late authorization changes nothing (refused
    // PaymentNotPending, so it is released), and the booking is never confirmed after its window.
    const asked = bookingAskOf(run.lotState, reservationId);
    const paid = await run.pay({
      ...base(command),
      type: "AuthorizePayment",
      command,
      ask:
        asked.awaiting && endedByClock(run.lotState, reservationId, command.now)
          ? { ...asked, awaiting: false }
          : asked,
      booking,
    });
    if (!paid.ok || run.payment?.kind !== "open" || run.payment.status !== "authorized") return paid;
    const confirmed = await run.onLot(command);
    if (confirmed.ok || confirmed.rejection.code !== "PaymentNotPending") return confirmed;
    const ask = settleAsk(run.lotState, run.payment, reservationId, { because: "operator-cancel" }) ?? {
      because: "operator-cancel" as const,
      terms: DEFAULT_PAYMENT_TERMS,
    };
    return run.pay({ ...base(command), type: "DecideSettlement", ask, now: command.now });
  }

  /** A decline: the payment fails on its stream (unless authorized first), then the booking is canceled. */
  private async fail(command: FailPayment, run: Run, payment: PaymentState): Promise<LotOutcome> {
    const { parkingLotId, reservationId } = command;
    if (!knows(run.lotState, reservationId, payment)) return notFound(command);
    if (!awaitingPayment(run.lotState, reservationId)) return run.done(); // authorized, failed or canceled already
    if (endedByClock(run.lotState, reservationId, command.now)) return run.done();
    const failure = {
      reservationId,
      parkingLotId,
      reason: "declined" as const,
      ...(command.intentId !== undefined ? { intentId: command.intentId } : {}),
      ...(command.code !== undefined ? { code: command.code } : {}),
      ...(command.message !== undefined ? { message: command.message } : {}),
    };
    return this.failThenCancel(command, run, failure);
  }

  /** The lot decides the hold ran out; the payment fails on its stream (unless authorized first). */
  private async expire(command: ExpirePaymentHold, run: Run, payment: PaymentState): Promise<LotOutcome> {
    const { parkingLotId, reservationId } = command;
    const holdUntil = holdUntilOf(run.lotState, reservationId);
    if (holdUntil === undefined) return run.done(); // paid, failed, canceled or unknown: nothing to expire
    if (Date.parse(holdUntil) > Date.parse(command.now))
      return { ok: false, rejection: { code: "NotDue", parkingLotId, at: holdUntil } };
    if (endedByClock(run.lotState, reservationId, command.now)) return run.done();
    const intentId = payment.kind === "open" ? payment.intentId : undefined;
    const failure = {
      reservationId,
      parkingLotId,
      reason: "expired" as const,
      ...(intentId ? { intentId } : {}),
    };
    return this.failThenCancel(command, run, failure);
  }

  private async failThenCancel(
    command: FailPayment | ExpirePaymentHold,
    run: Run,
    failure: Extract<PaymentCommand, { type: "FailPayment" }>["failure"],
  ): Promise<LotOutcome> {
    const failed = await run.pay({ ...base(command), type: "FailPayment", failure, now: command.now });
    if (!failed.ok || run.payment?.kind !== "open") return failed;
    if (run.payment.status === "failed") return run.onLot(command);
    // Authorized first (its stream's revision decided the race): the booking is confirmed instead.
    const { intentId = "", authorized, currency = "" } = run.payment;
    return run.onLot({
      ...base(command),
      type: "AuthorizePayment",
      intentId,
      amount: authorized,
      currency,
      now: command.now,
    });
  }
}

/**
 * Whether the clock ended the booking still waiting for its payment (its window over unused, its
 * lot's closure begun): the lot records that fact, not a failed or expired payment, so the payment's
 * stream records nothing either (its unused intent is voided when the lot's fact lands).
 */
const endedByClock = (lot: ParkingLotState, reservationId: string, now: string): boolean =>
  reservationStatus(lot, reservationId, Date.parse(now)) !== "PENDING_PAYMENT";

const base = (command: { readonly parkingLotId: string; readonly reservationId: string }) => ({
  parkingLotId: command.parkingLotId,
  reservationId: command.reservationId,
});

/** One command's appends, on the payment's stream then the lot's: what the caller hears of them together. */
class Run {
  private readonly events: (ParkingLotEvent | PaymentEvent)[] = [];
  private position: Extract<LotOutcome, { ok: true }>["position"] = null;
  payment: PaymentState | undefined;

  constructor(
    private readonly lot: LotSide,
    private readonly payments: PaymentCommandHandler,
    public lotState: ParkingLotState,
    private readonly context: CommandContext,
  ) {}

  done(): LotOutcome {
    return { ok: true, events: this.events, state: this.lotState, position: this.position };
  }

  async pay(command: PaymentCommand): Promise<LotOutcome> {
    const outcome: PaymentOutcome = await this.payments.handle(command, this.context);
    if (!outcome.ok) return outcome;
    this.payment = outcome.state;
    this.events.push(...outcome.events);
    if (outcome.events.length > 0) this.position = outcome.position;
    return this.done();
  }

  async onLot(command: LotCommand): Promise<LotOutcome> {
    const outcome = await this.lot.handle(command, this.context);
    if (!outcome.ok) return outcome;
    this.lotState = outcome.state;
    this.events.push(...outcome.events);
    if (outcome.events.length > 0) this.position = outcome.position;
    return this.done();
  }
}
