import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { stampOf } from "../../schemas/event-stamps.js";
import { commandContext, paidLotHandler } from "../../test-support/paid-lot.js";
import { tempDataDir } from "../../test-support/service.js";
import type { CommandOutcome, ParkingLotCommandHandler } from "../command-handler.js";
import { type ParkingLotEvent, parkingLotStream } from "../parking-lot/decider.js";
import { bookingEndOf } from "./lot-booking.js";
import {
  evolvePaymentAggregate,
  noPayment,
  PAYMENT_EVENT_TYPES,
  type PaymentState,
  paymentStream,
} from "./payment.js";
import type { PaymentEvent } from "./payment-facts.js";
import { ledgerOf, ledgerViolations } from "./payment-ledger.js";
import { REFUND_WINDOW_MS } from "./payment-policy.js";

/*
 * Issue 48, item 1: the ledger's invariants over random paid histories, through the NEW path: every
 * command goes to the lot's command handler, which decides a payment's commands on
 * `payment-{reservationId}` (payment-process.ts) and the lot's outcome commands on the lot's stream,
 * over a real (embedded) event store. Histories: a booking, its intent (the right one, none, or a
 * second one), the provider's answer (authorized, declined, the hold expired, a mismatched
 * authorization, webhooks repeated and racing: a decline after the authorization, an authorization
 * after the customer canceled), its end (check-out with or without an overstay, cancel by the
 * customer or an operator, none), the provider carrying out every settlement step (an overstay or a
 * refund sometimes failing, each outcome sometimes delivered twice), operators refunding random
 * amounts inside or past the refund window.
 *
 * After each history: no payment fact on the lot's stream; the payment stream's ledger balances
 * (nothing captured or released beyond what was authorized, all of it once settled, no refund beyond
 * what was captured, no refund decided beyond it either); one intent counts; each settlement step is
 * recorded once and the booking settled once; a refund is refused exactly when its window has
 * passed; the booking is RESERVED (confirmed) iff its payment was authorized before the lot ended it,
 * and an authorization the lot refused is released whole.
 *
 * What the removed tests (payment.property, parking-lot/payments.property and payment-ends.property
 * on main) checked that no longer applies: that the lot's decider and the payment aggregate decided
 * alike (the lot decides no payment now), and the lot's sweep of its payment records after the
 * refund window (the lot no longer learns when the money ended; the refund window is the payment
 * stream's own rule, checked here on `endedAt`).
 */

const AT = Date.parse("2026-11-27T01:00:00.000Z");
const MINUTE = 60_000;
const at = (minutes: number) => new Date(AT + minutes * MINUTE).toISOString();

let store: SqliteEventStore;
let handler: ParkingLotCommandHandler;
let remove: () => void;
beforeAll(() => {
  const data = tempDataDir("payment-props-");
  remove = data.remove;
  store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
  handler = paidLotHandler(store, 64);
});
afterAll(async () => {
  await store.close();
  remove();
});

const context = commandContext;

type Answer =
  | "authorize"
  | "authorize-other"
  | "authorize-short"
  | "decline"
  | "expire"
  | "authorize-then-decline"
  | "decline-then-authorize"
  | "cancel-then-authorize";
type End = "check-out" | "customer" | "operator" | "none";

const historyArb = fc.record({
  intent: fc.constantFrom("right", "none", "second"),
  answer: fc.constantFrom<Answer>(
    "authorize",
    "authorize",
    "authorize-other",
    "authorize-short",
    "decline",
    "expire",
    "authorize-then-decline",
    "decline-then-authorize",
    "cancel-then-authorize",
  ),
  repeatAnswer: fc.boolean(),
  end: fc.constantFrom<End>("check-out", "check-out", "customer", "operator", "none"),
  cancelAt: fc.integer({ min: 1, max: 110 }),
  overstay: fc.constantFrom(0, 45, 90),
  overstayFails: fc.boolean(),
  repeatOutcomes: fc.boolean(),
  refunds: fc.array(
    fc.record({
      amount: fc.integer({ min: 1, max: 7000 }),
      late: fc.constantFrom(false, false, true),
      afterMs: fc.integer({ min: 0, max: REFUND_WINDOW_MS - MINUTE }),
      fails: fc.constantFrom(false, false, false, true),
    }),
    { maxLength: 3 },
  ),
});
type History = typeof historyArb extends fc.Arbitrary<infer T> ? T : never;

/** A history that checks out, then asks a refund late and one in time (`answer` decides the rest). */
const coverageExample = (answer: Answer): History => ({
  intent: "right",
  answer,
  repeatAnswer: false,
  end: "check-out",
  cancelAt: 50,
  overstay: 0,
  overstayFails: false,
  repeatOutcomes: false,
  refunds: [
    { amount: 1000, late: true, afterMs: 0, fails: false },
    { amount: 1000, late: false, afterMs: 0, fails: false },
  ],
});

interface RefundTry {
  readonly at: number;
  readonly until: number | undefined;
  readonly captured: number;
  readonly asked: number;
  /** What was captured, less refunded and under way, when asked. */
  readonly refundable: number;
  readonly outcome: CommandOutcome;
}

class Driver {
  readonly refunds: RefundTry[] = [];
  /** The booking's status on the lot, and whether its payment was authorized, once the provider answered. */
  answered: { status: string | undefined; authorized: boolean; failed: boolean } | undefined;
  private executed = 0;

  constructor(
    readonly lot: string,
    readonly id: string,
  ) {}

  get ids() {
    return { parkingLotId: this.lot, reservationId: this.id };
  }

  send(command: ParkingLotCommand, role: "operator" | "customer" | "system" = "system") {
    return handler.handle(command, context(role));
  }

  async facts(): Promise<PaymentEvent[]> {
    const facts: PaymentEvent[] = [];
    for await (const recorded of store.readStream(paymentStream(this.id)))
      facts.push(decodeEvent(recorded).event as PaymentEvent);
    return facts;
  }

  async payment(): Promise<PaymentState> {
    return (await this.facts()).reduce(evolvePaymentAggregate, noPayment);
  }

  /** The provider carrying out every settlement decided so far, each step recorded (maybe twice). */
  async execute(h: History, refundFails = false, now = at(300)) {
    const decided = (await this.facts()).filter((e) => e.type === "PaymentSettlementDecided");
    for (; this.executed < decided.length; this.executed++) {
      const event = decided[this.executed];
      if (event?.type !== "PaymentSettlementDecided") continue;
      const settlementId = `settle-${this.id}-${this.executed}`;
      const { intentId } = event.data;
      const steps = [
        ["capture", event.data.capture],
        ["release", event.data.release],
        ["overstay", event.data.offSession],
        ["refund", event.data.refund],
      ] as const;
      for (const [step, amount] of steps) {
        if (amount === 0) continue;
        const fails = (step === "overstay" && h.overstayFails) || (step === "refund" && refundFails);
        const command: ParkingLotCommand = {
          type: "RecordPaymentOutcome",
          ...this.ids,
          settlementId,
          step,
          outcome: fails
            ? { ok: false, code: "card_declined", message: "Declined." }
            : {
                ok: true,
                intentId: step === "overstay" ? `${intentId}_off` : intentId,
                amount,
                ...(step === "refund" ? { refundId: `re_${settlementId}` } : {}),
              },
          now,
        };
        for (let i = 0; i < (h.repeatOutcomes ? 2 : 1); i++) await this.send(command);
      }
    }
  }

  async answer(kind: "authorize" | "authorize-other" | "authorize-short" | "decline" | "expire") {
    const intent = { ...this.ids, intentId: `pi_${this.id}`, amount: 6000, currency: "KRW", now: at(2) };
    switch (kind) {
      case "authorize":
        return this.send({ type: "AuthorizePayment", ...intent });
      case "authorize-other":
        return this.send({ type: "AuthorizePayment", ...intent, intentId: `pi_other_${this.id}` });
      case "authorize-short":
        return this.send({ type: "AuthorizePayment", ...intent, amount: 5999 });
      case "decline":
        return this.send({ type: "FailPayment", ...this.ids, intentId: intent.intentId, now: at(3) });
      case "expire":
        return this.send({ type: "ExpirePaymentHold", ...this.ids, now: at(11) });
    }
  }
}

async function play(d: Driver, h: History) {
  const about = d.ids;
  await d.send({
    type: "RegisterParkingLot",
    parkingLotId: d.lot,
    name: "Lot",
    capacity: 5,
    hourlyRate: 6000,
    now: at(0),
  });
  await d.send({
    type: "ReserveParking",
    ...about,
    customerId: `customer-${d.id}`,
    carNumber: "12가3456",
    startsAt: at(120),
    endsAt: at(180),
    now: at(0),
  });
  const intent = { ...about, amount: 6000, currency: "KRW", now: at(1) };
  if (h.intent !== "none") await d.send({ type: "RecordPaymentIntent", ...intent, intentId: `pi_${d.id}` });
  if (h.intent === "second")
    await d.send({ type: "RecordPaymentIntent", ...intent, intentId: `pi_second_${d.id}` });
  const cancel = (minute: number, role: "customer" | "operator") =>
    d.send(
      {
        type: "CancelReservation",
        ...about,
        reason: "changed plans",
        ...(role === "customer" ? { requestedBy: `customer-${d.id}` } : {}),
        now: at(minute),
      },
      role,
    );
  const answers: Record<Answer, () => Promise<unknown>> = {
    authorize: () => d.answer("authorize"),
    "authorize-other": () => d.answer("authorize-other"),
    "authorize-short": () => d.answer("authorize-short"),
    decline: () => d.answer("decline"),
    expire: () => d.answer("expire"),
    "authorize-then-decline": async () => [await d.answer("authorize"), await d.answer("decline")],
    "decline-then-authorize": async () => [await d.answer("decline"), await d.answer("authorize")],
    "cancel-then-authorize": async () => [await cancel(1, "customer"), await d.answer("authorize")],
  };
  for (let i = 0; i < (h.repeatAnswer ? 2 : 1); i++) await answers[h.answer]();
  const lot = await handler.stateOf(d.lot);
  const paid = await d.payment();
  d.answered = {
    status: lot.kind === "registered" ? lot.reservations.get(d.id)?.status : undefined,
    authorized: paid.kind === "open" && paid.status === "authorized",
    failed: paid.kind === "open" && paid.status === "failed",
  };
  await d.execute(h);
  if (h.end === "check-out") {
    await d.send({ type: "CheckIn", ...about, now: at(120) });
    await d.send({ type: "CheckOut", ...about, now: at(180 + h.overstay) });
  } else if (h.end !== "none") await cancel(h.cancelAt, h.end);
  // The payments process manager asks again from the lot's end event (a repeat decides nothing).
  for await (const recorded of store.readStream(parkingLotStream(d.lot))) {
    const event = decodeEvent(recorded).event as ParkingLotEvent;
    const end = bookingEndOf(event, h.end === "customer" ? "customer" : "operator");
    // As of the end, as the saga's end plan asks (issue 68: the only settlement; a repeat decides nothing).
    if (end)
      await handler.handle({ type: "SettleBooking", ...about, end, now: stampOf(event) }, context("system"));
    if (end) await handler.handle({ type: "SettleBooking", ...about, end, now: at(200) }, context("system"));
  }
  await d.execute(h);
  for (const refund of h.refunds) {
    const before = await d.payment();
    const ended = before.kind === "open" && before.endedAt ? Date.parse(before.endedAt) : AT;
    const when = ended + (refund.late ? REFUND_WINDOW_MS + refund.afterMs : refund.afterMs);
    const outcome = await d.send(
      {
        type: "RefundPayment",
        ...about,
        amount: refund.amount,
        reason: "goodwill",
        now: new Date(when).toISOString(),
      },
      "operator",
    );
    d.refunds.push({
      at: when,
      until: before.kind === "open" && before.endedAt ? ended + REFUND_WINDOW_MS : undefined,
      captured: before.kind === "open" ? before.captured : 0,
      asked: refund.amount,
      // Issue 71: everything taken is refundable, the capture and the overstay charged off-session.
      refundable:
        before.kind === "open"
          ? before.facts.reduce(
              (sum, f) => sum + (f.kind === "captured" || f.kind === "charged" ? f.amount : 0),
              0,
            ) -
            before.refunded -
            before.refundsOutstanding.reduce((sum, n) => sum + n.amount, 0)
          : 0,
      outcome,
    });
    await d.execute(h, refund.fails, new Date(when).toISOString());
  }
}

async function streamTypes(streamId: string): Promise<string[]> {
  const types: string[] = [];
  for await (const recorded of store.readStream(streamId)) types.push(recorded.type);
  return types;
}

let runs = 0;
/** What the histories reached, so a run that drives nothing (every command refused) fails. */
const seen = new Set<string>();
describe("the payment ledger through payment-{reservationId} (issue 48)", () => {
  it("keeps the ledger's invariants and the lot's status over random histories", async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, async (h) => {
        runs++;
        const d = new Driver(`props-lot-${runs}`, `props-r-${runs}`);
        await play(d, h);
        const facts = await d.facts();
        const payment = facts.reduce(evolvePaymentAggregate, noPayment);
        const lotEvents = await streamTypes(parkingLotStream(d.lot));
        for (const type of new Set([...lotEvents, ...facts.map((e) => e.type)])) seen.add(type);
        for (const refund of d.refunds)
          seen.add(refund.outcome.ok ? "refund accepted" : refund.outcome.rejection.code);

        // No payment fact ever lands on the lot's stream.
        expect(lotEvents.filter((type) => PAYMENT_EVENT_TYPES.has(type))).toEqual([]);

        // The ledger balances; nothing decided for refund beyond what was captured.
        const settled = payment.kind === "open" && payment.settled;
        expect(ledgerViolations(payment.kind === "open" ? payment.facts : [], settled)).toEqual([]);
        // Issue 71: the capture and the overstay charged off-session, each refundable.
        const captured = payment.kind === "open" ? ledgerOf(payment.facts).captured : 0;
        // A refund whose step failed gave nothing back: another may be decided in its place.
        const refundFailed = new Set(
          facts.flatMap((e) =>
            e.type === "PaymentStepFailed" && e.data.step === "refund" ? [e.data.settlementId] : [],
          ),
        );
        const decidedRefunds = facts
          .filter((e) => e.type === "PaymentSettlementDecided")
          .reduce((sum, e, i) => sum + (refundFailed.has(`settle-${d.id}-${i}`) ? 0 : e.data.refund), 0);
        expect(decidedRefunds).toBeLessThanOrEqual(captured);

        // One intent counts: the first recorded; only it may authorize.
        const created = facts.filter((e) => e.type === "PaymentIntentCreated");
        const authorized = facts.filter((e) => e.type === "PaymentAuthorized");
        expect(created.length).toBeLessThanOrEqual(1);
        expect(authorized.length).toBeLessThanOrEqual(1);
        if (h.intent !== "none" && authorized[0]?.type === "PaymentAuthorized")
          expect(authorized[0].data.intentId).toBe(`pi_${d.id}`);
        if (authorized[0]?.type === "PaymentAuthorized") expect(authorized[0].data.amount).toBe(6000);
        expect(
          facts.filter((e) => e.type === "PaymentFailed").length + authorized.length,
        ).toBeLessThanOrEqual(1);

        // Each settlement step recorded once; the booking settled once.
        const steps = facts.flatMap((e) =>
          "settlementId" in e.data && e.type !== "PaymentSettlementDecided"
            ? [`${e.data.settlementId}:${"step" in e.data ? e.data.step : e.type}`]
            : [],
        );
        expect(new Set(steps).size).toBe(steps.length);
        const settlements = facts.filter(
          (e) => e.type === "PaymentSettlementDecided" && e.data.because !== "refund",
        );
        expect(settlements.length).toBeLessThanOrEqual(1);

        // The refund window: refused exactly when it has passed (for a payment with something captured).
        for (const refund of d.refunds) {
          if (refund.captured === 0 || refund.until === undefined) {
            expect(refund.outcome.ok).toBe(false);
            continue;
          }
          const passed = refund.until <= refund.at;
          if (passed) expect(!refund.outcome.ok && refund.outcome.rejection.code).toBe("RefundWindowPassed");
          else if (refund.outcome.ok) expect(refund.asked).toBeLessThanOrEqual(refund.refundable);
          else {
            expect(refund.outcome.rejection.code).toBe("RefundExceedsCaptured");
            expect(refund.asked).toBeGreaterThan(refund.refundable);
          }
        }

        // RESERVED iff authorized before the lot ended the booking; else an authorization is released whole.
        const confirmed = lotEvents.includes("ReservationConfirmed");
        expect(d.answered?.status === "RESERVED").toBe(d.answered?.authorized);
        if (d.answered?.failed) expect(d.answered.status).toBe("CANCELED");
        expect(confirmed).toBe(authorized.length === 1);
        if (authorized.length === 1 && !confirmed) {
          expect(payment.kind === "open" && payment.settled).toBe(true);
          expect(captured).toBe(0);
        }
      }),
      // Besides 80 drawn histories, two written ones that reach the rarer outcomes every run (a late
      // refund is one draw in three of a refund of a captured booking: the coverage check below
      // failed on about one seed in ten without them).
      { numRuns: 80, examples: [[coverageExample("authorize")], [coverageExample("decline")]] },
    );
    for (const reached of [
      "PaymentCaptured",
      "PaymentReleased",
      "PaymentRefunded",
      "PaymentFailed",
      "ReservationConfirmed",
      "refund accepted",
      "RefundWindowPassed",
    ])
      expect(seen, reached).toContain(reached);
  }, 60_000);
});
