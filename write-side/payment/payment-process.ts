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
  RegisteredLot,
} from "../parking-lot/decider.js";
import { PAYMENT_STREAM_COMMANDS, reservationStatus } from "../parking-lot/decider.js";
import { awaitingPayment, holdUntilOf } from "../parking-lot/payments.js";
import { definedOf } from "../parking-lot/rules.js";
import { dueFromCustomer } from "./comeback.js";
import { type BookingEnd, bookingAskOf, settleAskOf } from "./lot-booking.js";
import { noPayment, type PaymentState } from "./payment.js";
import type { PaymentEvent, PaymentRequestRecord, PaymentStep, SettlementDue } from "./payment-facts.js";
import type { PaymentCommand, PaymentCommandHandler, PaymentOutcome } from "./payment-handler.js";
import type { CommandRejection } from "./payment-rejections.js";
import { awaitsHold, confirmed } from "./saved-card.js";

/**
 * A payment's commands, decided on its own stream first, the lot following with its outcome: the
 * stream's expected revision settles a race between an authorization and a failure or an expired
 * hold (one is recorded, the other then decides nothing), and the lot hears the one recorded. What
 * only the lot knows is read from its state here and passed in the payment's command.
 */

/** A paid booking ended: the payments process manager, following the lot's end event, asks to settle it. */
export interface SettleBooking {
  readonly type: "SettleBooking";
  readonly parkingLotId: string;
  readonly reservationId: string;
  readonly end: BookingEnd;
  readonly now: string;
  /** The lot's fact that ended it: an intent it left unpaid is voided, keyed by it. */
  readonly endedBy?: string;
}

/** A booking's request to be paid (its ParkingReserved, `requestedBy`): recorded on the payment's stream. */
export interface RequestPayment extends Omit<PaymentRequestRecord, "customerId"> {
  readonly type: "RequestPayment";
  readonly now: string;
}

/** What only the payments process manager sends (no route takes them). */
export type ProcessOnlyCommand = SettleBooking | RequestPayment;

export type PaymentProcessCommand =
  | Extract<
      ParkingLotCommand,
      { readonly type: PaymentStreamCommandType | "AuthorizePayment" | "FailPayment" | "ExpirePaymentHold" }
    >
  | ProcessOnlyCommand;

const PROCESS_TYPES: ReadonlySet<string> = new Set<PaymentProcessCommand["type"]>([
  ...PAYMENT_STREAM_COMMANDS,
  "AuthorizePayment",
  "FailPayment",
  "ExpirePaymentHold",
  "SettleBooking",
  "RequestPayment",
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

/** The process's next step, decided purely: a payment command, the lot's outcome, nothing more, or a refusal. */
export type ProcessStep =
  | { readonly kind: "pay"; readonly command: PaymentCommand }
  | { readonly kind: "lot"; readonly command: LotCommand }
  | { readonly kind: "done" }
  | { readonly kind: "refuse"; readonly rejection: CommandRejection };

const DONE: ProcessStep = { kind: "done" };
const base = (command: { readonly parkingLotId: string; readonly reservationId: string }) => ({
  parkingLotId: command.parkingLotId,
  reservationId: command.reservationId,
});
const pay = (command: PaymentCommand): ProcessStep => ({ kind: "pay", command });
const refuse = (rejection: CommandRejection): ProcessStep => ({ kind: "refuse", rejection });

const notFound = (command: { parkingLotId: string; reservationId: string }): ProcessStep =>
  refuse({ code: "ReservationNotFound", ...base(command) });

/** Whether the booking is known: the lot's state holds it, or its payment's stream has begun (ended). */
const knows = (lot: ParkingLotState, reservationId: string, payment: PaymentState): boolean =>
  payment.kind === "open" || (lot.kind === "registered" && lot.reservations.has(reservationId));

/** A command's first step, from the lot's state and the payment's. */
export function firstStep(
  command: PaymentProcessCommand,
  lot: ParkingLotState,
  payment: PaymentState,
): ProcessStep {
  if (lot.kind !== "registered") return refuse({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  // A payment is one lot's: naming it under another lot is answered like an unknown booking.
  if (payment.kind === "open" && payment.parkingLotId !== command.parkingLotId) return notFound(command);
  const { reservationId } = command;
  // The booking's customer, as the lot holds it (a saved card's fact is sealed under their key).
  const customerId = lot.reservations.get(reservationId)?.customerId;
  switch (command.type) {
    case "RecordPaymentIntent":
      if (!knows(lot, reservationId, payment)) return notFound(command);
      return pay({
        ...base(command),
        type: "RecordPaymentIntent",
        command,
        ask: bookingAskOf(lot, reservationId),
        ...(customerId !== undefined ? { customerId } : {}),
      });
    case "AuthorizePayment":
      return authorizeStep(command, lot, payment);
    case "FailPayment":
      return failStep(command, lot, payment);
    case "ExpirePaymentHold":
      return expireStep(command, lot, payment);
    case "RefundPayment":
      if (!knows(lot, reservationId, payment)) return notFound(command);
      return pay({ ...base(command), type: "RefundPayment", command });
    case "RecordIntentReleased":
    case "RecordHoldLapsed":
    case "RecordLateCharge":
    case "RecordPaymentOutcome": // the provider's word, recorded as the payment's decider answers
      return pay({ ...base(command), type: command.type, command } as PaymentCommand);
    case "RequestPayment": {
      if (customerId === undefined) return notFound(command);
      const { type: _, now, ...request } = command;
      return pay({ ...base(command), type: "RequestPayment", request: { ...request, customerId }, now });
    }
    case "SettleBooking": {
      const ask = settleAskOf(lot, reservationId, command.end, payment);
      // Ended unpaid (with or without terms to settle by): the intent it recorded is voided.
      const { endedBy, now } = command;
      if (endedBy !== undefined && payment.kind === "open" && !confirmed(payment))
        return pay({ ...base(command), type: "DecideVoid", endedBy, now });
      return ask ? pay({ ...base(command), type: "DecideSettlement", ask, now }) : DONE;
    }
  }
}

/**
 * What follows a step the payment's stream took: an authorization recorded confirms the booking; a
 * failure recorded cancels it, unless the payment was authorized first (which confirms it instead).
 */
export function afterPayment(
  command: PaymentProcessCommand,
  paid: PaymentCommand,
  payment: PaymentState,
): ProcessStep {
  if (payment.kind !== "open") return DONE;
  if (paid.type === "AuthorizePayment" && command.type === "AuthorizePayment")
    // A card saved confirms its booking too; one whose saving waits for its customer does
    // not yet (the booking awaits its payment, so a cancel meanwhile owes nothing: settleAskOf).
    return payment.status === "authorized" || payment.status === "saved" ? { kind: "lot", command } : DONE;
  if (paid.type !== "FailPayment" || (command.type !== "FailPayment" && command.type !== "ExpirePaymentHold"))
    return DONE;
  if (paid.attempt) return DONE; // a declined try of the customer's ends nothing
  if (payment.status === "failed") return { kind: "lot", command };
  const { intentId = "", authorized, currency = "" } = payment;
  return {
    kind: "lot",
    command: {
      ...base(command),
      type: "AuthorizePayment",
      intentId,
      amount: authorized,
      currency,
      now: command.now,
    },
  };
}

/**
 * What follows the lot's refusal of its outcome: an authorization whose booking the lot ended
 * meanwhile (PaymentNotPending) is settled as a free cancel, releasing it all; other refusals are the answer.
 */
export function afterLotRefusal(
  command: PaymentProcessCommand,
  lot: ParkingLotState,
  payment: PaymentState | undefined,
  rejection: CommandRejection,
): ProcessStep {
  if (command.type !== "AuthorizePayment" || rejection.code !== "PaymentNotPending") return refuse(rejection);
  const ask = settleAskOf(lot, command.reservationId, { because: "operator-cancel" }, payment) ?? {
    because: "operator-cancel" as const,
    terms: DEFAULT_PAYMENT_TERMS,
  };
  return pay({ ...base(command), type: "DecideSettlement", ask, now: command.now });
}

/** The payment authorized on its stream first, with what the lot holds of the booking. */
function authorizeStep(command: AuthorizePayment, lot: RegisteredLot, payment: PaymentState): ProcessStep {
  const { reservationId } = command;
  const record = lot.reservations.get(reservationId);
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
  const asked = bookingAskOf(lot, reservationId);
  const ask =
    asked.awaiting && endedByClock(lot, reservationId, command.now) ? { ...asked, awaiting: false } : asked;
  return pay({ ...base(command), type: "AuthorizePayment", command, ask, booking });
}

/** A decline: the payment fails on its stream (unless authorized first), then the booking is canceled. */
function failStep(command: FailPayment, lot: RegisteredLot, payment: PaymentState): ProcessStep {
  const { parkingLotId, reservationId } = command;
  if (!knows(lot, reservationId, payment)) return notFound(command);
  // A saved card's hold before the stay failed (declined, or its customer never came:
  // action-required at its deadline): the confirmed booking goes too (lot.ts).
  const saved = payment.kind === "open" && awaitsHold(payment) && !payment.settled;
  const failure = {
    reservationId,
    parkingLotId,
    reason: "declined" as const,
    ...definedOf({ intentId: command.intentId, code: command.code, message: command.message }),
  };
  // The customer's own try, declined: the payment's stream records it, the booking waits on.
  if (command.attempt)
    return pay({ ...base(command), type: "FailPayment", failure, attempt: true, now: command.now });
  if (!saved && !awaitingPayment(lot, reservationId)) return DONE; // authorized, failed or canceled already
  if (!saved && endedByClock(lot, reservationId, command.now)) return DONE;
  return pay({ ...base(command), type: "FailPayment", failure, now: command.now });
}

/** The lot decides the hold ran out; the payment fails on its stream (unless authorized first). */
function expireStep(command: ExpirePaymentHold, lot: RegisteredLot, payment: PaymentState): ProcessStep {
  const { parkingLotId, reservationId } = command;
  const holdUntil = holdUntilOf(lot, reservationId);
  if (holdUntil === undefined) return DONE; // paid, failed, canceled or unknown: nothing to expire
  if (Date.parse(holdUntil) > Date.parse(command.now))
    return refuse({ code: "NotDue", parkingLotId, at: holdUntil });
  if (endedByClock(lot, reservationId, command.now)) return DONE;
  // Saving its card waits for its customer until the action's deadline, which ends it.
  if (payment.kind === "open" && payment.status === "action-required") return DONE;
  const intentId = payment.kind === "open" ? payment.intentId : undefined;
  const failure = {
    reservationId,
    parkingLotId,
    reason: "expired" as const,
    ...(intentId ? { intentId } : {}),
  };
  return pay({ ...base(command), type: "FailPayment", failure, now: command.now });
}

/**
 * What a settlement's release step must do: a capture that took its part let the rest go at the
 * provider (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method#capture-funds), so the
 * release only records it. Otherwise (the capture failed, or the hold had lapsed) the release asks
 * the provider to cancel the intent and records all of it let go, so that no hold outlives its
 * booking and captured + released = authorized for the intent.
 */
export function releaseStepOf(
  state: PaymentState,
  plan: { readonly intentId: string; readonly capture: number; readonly release: number },
): { readonly ask: boolean; readonly amount: number } {
  const captured =
    state.kind === "open" && state.facts.some((f) => f.kind === "captured" && f.intentId === plan.intentId);
  if (plan.capture > 0 && captured) return { ask: false, amount: plan.release };
  return { ask: true, amount: plan.capture + plan.release };
}

/** A settlement's next step: the amount it was to move, and (a release) whether the provider is asked and what is recorded. */
export type SettleStepDue = {
  readonly step: PaymentStep;
  readonly amount: number;
  readonly release?: { readonly ask: boolean; readonly amount: number };
};

/**
 * A settlement's next step: the first of capture, release, off-session charge and refund with
 * something to move whose outcome (`<settlementId>:<step>`) is neither recorded nor `tried` this
 * run. A release is due whenever the authorization is settled (a capture that fails leaves it
 * held). Undefined: the settlement is carried out.
 */
export function nextSettleStep(
  state: PaymentState,
  settlement: Omit<SettlementDue, "currency" | "because" | "reason">,
  tried: ReadonlySet<string> = new Set(),
): SettleStepDue | undefined {
  const done = new Set([...(state.kind === "open" ? state.steps : []), ...tried]);
  const steps: [PaymentStep, number][] = [
    ["capture", settlement.capture],
    ["release", settlement.release],
    ["overstay", settlement.offSession],
    ["refund", settlement.refund],
  ];
  for (const [step, amount] of steps) {
    const due = step === "release" ? settlement.capture + settlement.release : amount;
    if (due <= 0 || done.has(`${settlement.eventId}:${step}`)) continue;
    if (step !== "release") return { step, amount };
    const release = releaseStepOf(state, settlement);
    if (release.ask || release.amount > 0) return { step, amount, release };
  }
  return undefined;
}

/** What the provider says of an intent, for the reconciliation to compare with its payment. */
export interface ProviderWord {
  readonly intentId: string;
  readonly status: "pending" | "authorized" | "captured" | "canceled";
  /** What it holds (Stripe: amount_capturable) and what it took (amount_received). */
  readonly held: number;
  readonly received: number;
  readonly currency: string;
  /** The card it was confirmed with: an authorization's word names it. */
  readonly paymentMethod?: string;
}

/** A repair the reconciliation sends (its `now` added), each decided by the payment's decider. */
export type Repair =
  | Omit<AuthorizePayment, "now">
  | Omit<Extract<PaymentProcessCommand, { type: "RecordPaymentOutcome" }>, "now">
  | Omit<Extract<PaymentProcessCommand, { type: "RecordLateCharge" }>, "now">;

/**
 * The provider's state is the truth after an unclear answer: what a payment misses of what the
 * provider did with the intent it counts on (none when they agree). A lost authorization while the
 * booking waits is authorized; a capture applied after the settlement recorded it failed is
 * recorded (`reconcile:<intent>`) with the rest released; a refused charge's intent its customer
 * paid is that step's late success. A hold let go is RecordHoldLapsed's (reconcile-holds.ts).
 */
export function repairsOf(payment: PaymentState, awaiting: boolean, word: ProviderWord): Repair[] {
  if (payment.kind !== "open") return [];
  const ids = { parkingLotId: payment.parkingLotId, reservationId: payment.reservationId };
  const { intentId, held, received, currency, paymentMethod } = word;
  // A refused charge's intent its customer paid, whose webhook was lost (comeback.ts).
  if (word.status === "captured" && dueFromCustomer(payment, intentId))
    return [{ type: "RecordLateCharge", ...ids, intentId, amount: received, currency }];
  if (payment.intentId !== word.intentId) return [];
  const card = paymentMethod !== undefined ? { paymentMethod } : {};
  if (word.status === "authorized" && payment.status === "pending" && awaiting)
    return [{ type: "AuthorizePayment", ...ids, intentId, amount: held, currency, ...card }];
  const captureFailed = payment.steps.some((key) => key.endsWith(":capture"));
  const moved = payment.facts.some((f) => f.intentId === intentId && f.kind !== "authorized");
  if (word.status !== "captured" || !payment.settled || !captureFailed || moved) return [];
  const settlementId = `reconcile:${intentId}`;
  const outcome = (step: "capture" | "release", amount: number): Repair => ({
    type: "RecordPaymentOutcome",
    ...ids,
    settlementId,
    step,
    outcome: { ok: true, intentId, amount },
  });
  const rest = payment.authorized - received;
  return [outcome("capture", received), ...(rest > 0 ? [outcome("release", rest)] : [])];
}

/** Carries a command's steps out: each on the payment's stream or the lot's, as the pure steps decide. */
export class PaymentProcess {
  constructor(
    private readonly lot: LotSide,
    private readonly payments: PaymentCommandHandler,
  ) {}

  async handle(command: PaymentProcessCommand, context: CommandContext): Promise<LotOutcome> {
    let lot = await this.lot.stateNow(command.parkingLotId);
    let payment = lot.kind === "registered" ? await this.payments.stateNow(command.reservationId) : noPayment;
    // What the caller hears: every step's appends together, and the last one's position.
    const events: (ParkingLotEvent | PaymentEvent)[] = [];
    let position: Extract<LotOutcome, { ok: true }>["position"] = null;
    const keep = (appended: Extract<LotOutcome | PaymentOutcome, { ok: true }>) => {
      events.push(...appended.events);
      if (appended.events.length > 0) position = appended.position;
    };
    let step = firstStep(command, lot, payment);
    for (;;) {
      if (step.kind === "done") return { ok: true, events, state: lot, position };
      if (step.kind === "refuse") return { ok: false, rejection: step.rejection };
      if (step.kind === "pay") {
        const paid = await this.payments.handle(step.command, context);
        if (!paid.ok) return paid;
        keep(paid);
        payment = paid.state;
        step = afterPayment(command, step.command, payment);
        continue;
      }
      const told = await this.lot.handle(step.command, context);
      if (!told.ok) {
        step = afterLotRefusal(command, lot, payment, told.rejection);
        continue;
      }
      keep(told);
      lot = told.state;
      step = DONE;
    }
  }
}

/**
 * Whether the clock ended the booking still waiting for its payment (its window over, its lot's
 * closure begun): the lot records that, so the payment's stream records nothing (its intent is voided then).
 */
const endedByClock = (lot: ParkingLotState, reservationId: string, now: string): boolean =>
  reservationStatus(lot, reservationId, Date.parse(now)) !== "PENDING_PAYMENT";
