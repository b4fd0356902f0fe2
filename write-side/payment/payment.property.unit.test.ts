import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import type { PaymentTerms } from "../../schemas/common.js";
import { LOT, NOW } from "../../test-support/given-when-then.js";
import {
  type DecideContext,
  decide,
  fold,
  initialState,
  type ParkingLotEvent,
  type ParkingLotState,
} from "../parking-lot/decider.js";
import type { PaymentEvent } from "../parking-lot/payment-state.js";
import { awaitingPayment } from "../parking-lot/payments.js";
import {
  type BookingAsk,
  decideAuthorization,
  decideFailure,
  decideIntent,
  decideIntentReleased,
  decideOutcome,
  decideRefund,
  decideSettlement,
  evolvePaymentAggregate,
  noPayment,
  PAYMENT_EVENT_TYPES,
  type PaymentDecision,
  type PaymentState,
  type SettleAsk,
} from "./payment.js";

/*
 * Issue 48: the payment aggregate decides what the lot decided of a booking's money. Random paid
 * histories run through the lot's decider (which still holds payment records); at every step the
 * payment aggregate, folded from the payment facts of that booking alone and told only what the lot
 * knows of the booking (pending or not, what it asked, its terms), must accept or refuse alike and
 * append the same payment facts. This is what lets the facts move to `payment-{reservationId}`.
 */

const ON: DecideContext = { payments: { on: true, holdSeconds: 900 } };
const MINUTE = 60_000;
const T0 = Date.parse(NOW);
const iso = (ms: number) => new Date(ms).toISOString();

type End = "check-out" | "customer" | "operator" | "no-show" | "none";
const bookingArb = fc.record({
  window: fc.boolean(),
  startIn: fc.integer({ min: 20, max: 600 }),
  intent: fc.constantFrom("none", "right", "short", "other-currency"),
  answer: fc.constantFrom("authorize", "authorize-other", "authorize-short", "decline", "decline-other"),
  end: fc.constantFrom<End>("check-out", "customer", "operator", "no-show", "none"),
  endIn: fc.integer({ min: 1, max: 900 }),
  stepFails: fc.boolean(),
  refunds: fc.array(fc.integer({ min: 1, max: 9000 }), { maxLength: 3 }),
  refundLate: fc.boolean(),
  releases: fc.array(fc.constantFrom("pi_x", "pi_y"), { maxLength: 2 }),
});
const termsArb = fc.record({
  currency: fc.constant("KRW"),
  deposit: fc.integer({ min: 1, max: 8000 }),
  cancellation: fc.record({
    freeUntilMinutesBefore: fc.integer({ min: 0, max: 300 }),
    feePercent: fc.integer({ min: 0, max: 100 }),
  }),
  noShowFee: fc.integer({ min: 0, max: 9000 }),
});

interface Run {
  state: ParkingLotState;
  events: ParkingLotEvent[];
  compared: number;
}

const foldPayment = (events: readonly PaymentEvent[]): PaymentState =>
  events.reduce(evolvePaymentAggregate, noPayment);

const paymentFactsOf = (events: readonly ParkingLotEvent[], id: string): PaymentEvent[] =>
  events.filter(
    (e): e is PaymentEvent & ParkingLotEvent =>
      PAYMENT_EVENT_TYPES.has(e.type) && (e as PaymentEvent).data.reservationId === id,
  );

function askOf(state: ParkingLotState, id: string): BookingAsk {
  const payment = state.kind === "registered" ? state.payments.get(id) : undefined;
  return {
    awaiting: awaitingPayment(state, id),
    amount: payment?.amount ?? 0,
    currency: payment?.currency ?? "KRW",
  };
}

/** The payment aggregate's decision on a command the lot decides today. */
function paymentDecision(command: ParkingLotCommand, run: Run, id: string): PaymentDecision | undefined {
  const payment = foldPayment(paymentFactsOf(run.events, id));
  const ask = askOf(run.state, id);
  switch (command.type) {
    case "RecordPaymentIntent":
      return decideIntent(payment, command, ask);
    case "AuthorizePayment": {
      const record = run.state.kind === "registered" ? run.state.reservations.get(id) : undefined;
      const booking = record
        ? {
            customerId: record.customerId,
            booking: {
              amount: record.amount,
              ...(record.startsAt ? { startsAt: record.startsAt, endsAt: record.endsAt } : {}),
            },
          }
        : {};
      return decideAuthorization(payment, command, ask, booking);
    }
    case "FailPayment": {
      if (!ask.awaiting) return { ok: true, events: [] }; // the lot answers: nothing pending
      const { parkingLotId, reservationId, intentId, code, message } = command;
      const failure = {
        parkingLotId,
        reservationId,
        reason: "declined" as const,
        ...(intentId !== undefined ? { intentId } : {}),
        ...(code !== undefined ? { code } : {}),
        ...(message !== undefined ? { message } : {}),
      };
      return decideFailure(payment, failure, command.now);
    }
    case "RecordPaymentOutcome":
      return decideOutcome(payment, command);
    case "RefundPayment":
      return decideRefund(payment, command);
    case "RecordIntentReleased":
      return decideIntentReleased(payment, command);
    default:
      return undefined;
  }
}

function send(run: Run, command: ParkingLotCommand, id: string, settle?: SettleAsk): ParkingLotEvent[] {
  const decision = decide(command, run.state, ON);
  const mine = paymentDecision(command, run, id);
  const payment = foldPayment(paymentFactsOf(run.events, id));
  if (mine) {
    run.compared++;
    expect(mine.ok, `${command.type} ${JSON.stringify(mine)}`).toBe(decision.ok);
    if (!mine.ok && !decision.ok) expect(mine.rejection).toEqual(decision.rejection);
  }
  if (!decision.ok) return [];
  const facts = paymentFactsOf(decision.events, id);
  if (mine?.ok) expect(mine.events).toEqual(facts);
  if (settle) {
    const settled = decideSettlement(payment, settle, command.now);
    expect(settled.ok && settled.events).toEqual(facts.filter((e) => e.type === "PaymentSettlementDecided"));
    run.compared++;
  }
  run.state = fold(decision.events, run.state);
  run.events.push(...decision.events);
  return [...decision.events];
}

/** The provider executing every settlement step decided, recorded with the decided amount. */
function execute(run: Run, events: readonly ParkingLotEvent[], id: string, fails: boolean, now: number) {
  for (const event of events) {
    if (event.type !== "PaymentSettlementDecided") continue;
    const settlementId = `ev-${run.events.length}`;
    const { intentId } = event.data;
    const steps = [
      ["capture", event.data.capture],
      ["release", event.data.release],
      ["overstay", event.data.offSession],
      ["refund", event.data.refund],
    ] as const;
    for (const [step, amount] of steps) {
      if (amount === 0) continue;
      const failed = fails && (step === "overstay" || step === "refund");
      const outcome = failed
        ? { ok: false as const, code: "card_declined", message: "Declined." }
        : { ok: true as const, intentId: step === "overstay" ? `${intentId}_off` : intentId, amount };
      const command = { parkingLotId: LOT, reservationId: id, settlementId, step, outcome, now: iso(now) };
      send(run, { type: "RecordPaymentOutcome", ...command }, id);
      send(run, { type: "RecordPaymentOutcome", ...command }, id); // a retry: recorded once
    }
  }
}

function book(run: Run, terms: PaymentTerms, b: Booking, i: number) {
  const id = `r${i}`;
  const about = { parkingLotId: LOT, reservationId: id };
  const start = T0 + b.startIn * MINUTE;
  const reserved = send(
    run,
    {
      type: "ReserveParking",
      ...about,
      customerId: `C${i}`,
      carNumber: "12가3456",
      ...(b.window ? { startsAt: iso(start), endsAt: iso(start + 60 * MINUTE) } : {}),
      now: NOW,
    },
    id,
  );
  const payment = reserved[0]?.type === "ParkingReserved" ? reserved[0].data.payment : undefined;
  if (!payment) return;
  const intent = `pi_${id}`;
  if (b.intent !== "none")
    send(
      run,
      {
        type: "RecordPaymentIntent",
        ...about,
        intentId: intent,
        amount: b.intent === "short" ? payment.amount - 1 : payment.amount,
        currency: b.intent === "other-currency" ? "USD" : "KRW",
        now: NOW,
      },
      id,
    );
  const other = b.answer.endsWith("-other");
  if (b.answer.startsWith("decline"))
    send(
      run,
      {
        type: "FailPayment",
        ...about,
        ...(other ? { intentId: "pi_other" } : { intentId: intent }),
        code: "card_declined",
        now: NOW,
      },
      id,
    );
  const authorize = (intentId: string, amount: number) =>
    send(run, { type: "AuthorizePayment", ...about, intentId, amount, currency: "KRW", now: NOW }, id);
  authorize(
    other ? "pi_other" : intent,
    b.answer === "authorize-short" ? payment.amount - 1 : payment.amount,
  );
  authorize(intent, payment.amount); // the right word, after whatever came first
  const at = T0 + b.endIn * MINUTE;
  const ends = (now: number, command: ParkingLotCommand, settle?: SettleAsk) =>
    execute(run, send(run, command, id, settle), id, b.stepFails, now);
  const startsAt = b.window ? { startsAt: iso(start) } : {};
  if (b.end === "customer" || b.end === "operator") {
    const when = b.window ? Math.min(at, start - MINUTE) : at;
    const customer = b.end === "customer";
    ends(
      when,
      {
        type: "CancelReservation",
        ...about,
        reason: "x",
        ...(customer ? { requestedBy: `C${i}` } : {}),
        now: iso(when),
      },
      { because: customer ? "customer-cancel" : "operator-cancel", terms, ...startsAt },
    );
  } else if (b.end === "no-show" && b.window)
    ends(
      start + 61 * MINUTE,
      { type: "RecordNoShow", ...about, now: iso(start + 61 * MINUTE) },
      { because: "no-show", terms },
    );
  else if (b.end === "check-out") {
    const inAt = b.window ? start : T0 + MINUTE;
    send(run, { type: "CheckIn", ...about, now: iso(inAt) }, id);
    ends(inAt + 30 * MINUTE, { type: "CheckOut", ...about, now: iso(inAt + 30 * MINUTE) });
  }
  const refundAt = T0 + (b.refundLate ? 200 * 24 * 60 : 3000) * MINUTE;
  for (const amount of b.refunds)
    ends(refundAt, { type: "RefundPayment", ...about, amount, reason: "goodwill", now: iso(refundAt) });
  // At the ledger's edge: one more than what may still be refunded, then exactly that.
  const money = foldPayment(paymentFactsOf(run.events, id));
  const underWay = money.kind === "open" ? money.refundsOutstanding.reduce((sum, n) => sum + n, 0) : 0;
  const most = money.kind === "open" ? Math.max(0, money.captured - money.refunded - underWay) : 0;
  for (const amount of [most + 1, most])
    if (amount > 0)
      ends(refundAt, { type: "RefundPayment", ...about, amount, reason: "edge", now: iso(refundAt) });
  for (const intentId of b.releases)
    for (let again = 0; again < 2; again++)
      send(
        run,
        { type: "RecordIntentReleased", ...about, intentId, amount: 0, because: "reconciliation", now: NOW },
        id,
      );
}

type Booking = {
  readonly window: boolean;
  readonly startIn: number;
  readonly intent: string;
  readonly answer: string;
  readonly end: End;
  readonly endIn: number;
  readonly stepFails: boolean;
  readonly refunds: readonly number[];
  readonly refundLate: boolean;
  readonly releases: readonly string[];
};

describe("the payment aggregate decides what the lot decided of a booking's money", () => {
  it("accepts, refuses and appends the same payment facts over random paid histories", () => {
    let compared = 0;
    fc.assert(
      fc.property(termsArb, fc.array(bookingArb, { minLength: 1, maxLength: 3 }), (terms, bookings) => {
        const run: Run = { state: initialState, events: [], compared: 0 };
        const lot = { parkingLotId: LOT, now: NOW };
        send(run, { type: "RegisterParkingLot", ...lot, name: "Lot", capacity: 10, hourlyRate: 3000 }, "");
        send(run, { type: "ChangePaymentTerms", ...lot, terms }, "");
        for (const [i, b] of bookings.entries()) book(run, terms, b, i);
        compared += run.compared;
      }),
      { numRuns: 300 },
    );
    expect(compared).toBeGreaterThan(3000);
  });
});
