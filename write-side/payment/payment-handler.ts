import type { EventStore } from "../../event-store/port.js";
import type {
  AuthorizePayment,
  RecordHoldLapsed,
  RecordIntentReleased,
  RecordLateCharge,
  RecordPaymentIntent,
  RecordPaymentOutcome,
  RefundPayment,
} from "../../schemas/commands.js";
import { decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import { type EventOfType, eventTypesOfStream } from "../../schemas/events.js";
import type { StateAtRevision } from "../decider-runner.js";
import { causationOf, DeciderRunner, type RunOutcome, type StateSource } from "../decider-runner.js";
import { decideAttempt } from "./client-confirmed.js";
import { decideLateCharge } from "./comeback.js";
import {
  type BookingAsk,
  decideAuthorization,
  decideFailure,
  decideHoldLapsed,
  decideIntent,
  decideIntentReleased,
  decideOutcome,
  decideRefund,
  decideSettlement,
  evolvePaymentAggregate,
  noPayment,
  type PaymentDecision,
  type PaymentState,
  type PaymentStreamEvent,
  paymentStream,
  type SettleAsk,
} from "./payment.js";
import type { PaymentEvent, PaymentRequestRecord } from "./payment-facts.js";
import type { CommandRejection as Rejection } from "./payment-rejections.js";
import { decideVoid } from "./unpaid-intents.js";

/**
 * The payment aggregate's commands, each decided on `payment-{reservationId}` alone (one lane per
 * reservation). What only the lot knows comes in the command: the payment never reads the lot's stream.
 */
export type PaymentCommand = {
  readonly reservationId: string;
} & (
  | {
      readonly type: "RecordPaymentIntent";
      readonly command: RecordPaymentIntent;
      readonly ask: BookingAsk;
      /** Whose saved card it names (its seal's key), as the lot holds the booking. */
      readonly customerId?: string;
    }
  | {
      readonly type: "AuthorizePayment";
      readonly command: AuthorizePayment;
      readonly ask: BookingAsk;
      readonly booking?: Pick<EventOfType<"PaymentAuthorized">["data"], "customerId" | "booking">;
    }
  | {
      readonly type: "FailPayment";
      readonly failure: Omit<EventOfType<"PaymentFailed">["data"], "failedAt">;
      readonly now: string;
      /** The customer's own try, declined: recorded, nothing failed (PaymentAttemptFailed). */
      readonly attempt?: true;
    }
  | { readonly type: "DecideSettlement"; readonly ask: SettleAsk; readonly now: string }
  /** A booking's end (`endedBy`, the lot's fact) left its intent unpaid: PaymentVoidDecided. */
  | { readonly type: "DecideVoid"; readonly endedBy: string; readonly now: string }
  | { readonly type: "RefundPayment"; readonly command: RefundPayment }
  /** The booking asks to be paid (PaymentRequested, once: the process's inbox). */
  | { readonly type: "RequestPayment"; readonly request: PaymentRequestRecord; readonly now: string }
  | { readonly type: "RecordIntentReleased"; readonly command: RecordIntentReleased }
  | { readonly type: "RecordHoldLapsed"; readonly command: RecordHoldLapsed }
  | { readonly type: "RecordLateCharge"; readonly command: RecordLateCharge }
  | { readonly type: "RecordPaymentOutcome"; readonly command: RecordPaymentOutcome }
);

/** The facts of a payment's stream this side folds (its own, and the carried-over state). */
const PAYMENT_STREAM_TYPES: ReadonlySet<string> = eventTypesOfStream("payment");
export const isPaymentStreamType = (type: string): boolean => PAYMENT_STREAM_TYPES.has(type);

/** The payment's decider as the runner calls it: each command to its function of payment.ts. */
export function decidePayment(command: PaymentCommand, state: PaymentState): PaymentDecision {
  switch (command.type) {
    case "RecordPaymentIntent":
      return decideIntent(state, command.command, command.ask, command.customerId);
    case "AuthorizePayment":
      return decideAuthorization(state, command.command, command.ask, command.booking);
    case "FailPayment":
      return command.attempt
        ? decideAttempt(state, command.failure, command.now)
        : decideFailure(state, command.failure, command.now);
    case "DecideSettlement":
      return decideSettlement(state, command.ask, command.now);
    case "DecideVoid":
      return decideVoid(state, command.endedBy, command.now);
    case "RefundPayment":
      return decideRefund(state, command.command);
    case "RequestPayment":
      return decideRequest(state, command.request, command.now);
    case "RecordIntentReleased":
      return decideIntentReleased(state, command.command);
    case "RecordHoldLapsed":
      return decideHoldLapsed(state, command.command);
    case "RecordLateCharge":
      return decideLateCharge(state, command.command);
    case "RecordPaymentOutcome":
      return decideOutcome(state, command.command);
  }
}

/**
 * The booking's request, the first fact of its payment's stream: recorded once; a repeat (after a
 * crash, the saga following the log again) or a stream begun otherwise (an older payment) records nothing.
 */
function decideRequest(state: PaymentState, request: PaymentRequestRecord, now: string): PaymentDecision {
  if (state.kind !== "none" || state.requested) return { ok: true, events: [] };
  return { ok: true, events: [{ type: "PaymentRequested", data: { ...request, requestedAt: now } }] };
}

/** A payment's stream holds a handful of events (one settlement, a few steps): folded whole. */
function wholeStream(eventStore: EventStore): StateSource<PaymentState> {
  const catchUp = async (
    streamId: string,
    from: StateAtRevision<PaymentState>,
  ): Promise<StateAtRevision<PaymentState>> => {
    let { state, revision, position } = from;
    for await (const recorded of eventStore.readStream(streamId, { fromRevision: from.revision + 1 })) {
      revision = recorded.revision;
      position = recorded.position;
      if (isPaymentStreamType(recorded.type))
        state = evolvePaymentAggregate(state, decodeEvent(recorded).event as PaymentStreamEvent);
    }
    return { state, revision, position };
  };
  return {
    load: (reservationId) =>
      catchUp(paymentStream(reservationId), { state: noPayment, revision: -1, position: null }),
    catchUp,
  };
}

export type PaymentOutcome = RunOutcome<PaymentEvent, PaymentState, Rejection>;

/** The payment's decider runner (one lane per reservation; a payment's stream is folded whole). */
export type PaymentCommandHandler = DeciderRunner<PaymentCommand, PaymentEvent, PaymentState, Rejection>;

export const paymentCommandHandler = (eventStore: EventStore, retryLimit: number): PaymentCommandHandler =>
  new DeciderRunner<PaymentCommand, PaymentEvent, PaymentState, Rejection>(eventStore, {
    decider: { decide: decidePayment, evolve: evolvePaymentAggregate },
    keyOf: (command) => command.reservationId,
    streamOf: paymentStream,
    source: wholeStream(eventStore),
    encode: (event, context) => encodeEvent(event, causationOf(context)),
    retryLimit,
    cacheSize: 256,
    trace: { prefix: "payment", keyName: "reservation" },
  });
