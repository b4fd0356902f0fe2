import { describe, expect, it } from "vitest";
import type { RecordPaymentOutcome } from "../../schemas/commands.js";
import {
  decideOutcome,
  decideRefund,
  evolvePaymentAggregate,
  noPayment,
  type PaymentState,
} from "../../write-side/payment/payment.js";
import type { PaymentEvent } from "../../write-side/payment/payment-facts.js";
import { ledgerViolations } from "../../write-side/payment/payment-ledger.js";
import { processOf } from "../../write-side/payment/payment-next.js";
import { runNext } from "./payment-steps.js";
import type { PaymentProvider, ProviderOutcome } from "./provider.js";
import type { StepDeps } from "./step-common.js";

/*
 * A settlement's steps against a scripted provider, their outcomes decided by the payment's own
 * decider: what a capture that failed or met a lapsed authorization leaves at the provider and in
 * the ledger (the money-flow hunt).
 */

const NOW = "2026-12-06T10:00:00.000Z";
const ids = { parkingLotId: "L1", reservationId: "r1" };
const given = (events: readonly PaymentEvent[]): PaymentState =>
  events.reduce(evolvePaymentAggregate, noPayment);

/** A booking authorized 5,000 on pi_1; a no-show settles 3,000 captured and 2,000 released. */
const HISTORY: PaymentEvent[] = [
  {
    type: "PaymentIntentCreated",
    data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", createdAt: NOW },
  },
  {
    type: "PaymentAuthorized",
    data: { ...ids, intentId: "pi_1", amount: 5000, currency: "KRW", authorizedAt: NOW },
  },
  {
    type: "PaymentSettlementDecided",
    data: {
      ...ids,
      intentId: "pi_1",
      currency: "KRW",
      capture: 3000,
      release: 2000,
      offSession: 0,
      refund: 0,
      because: "no-show",
      decidedAt: NOW,
    },
  },
];

type Answer<T> = ProviderOutcome<T> | { ok: false; kind: "lapsed"; message: string };

/** A provider whose answers the test scripts; it records every call with its key. */
function harness(script: {
  capture: Answer<{ captured: number }>;
  charge?: ProviderOutcome<{ intentId: string; charged: number }>;
}) {
  const calls: string[] = [];
  let state = given(HISTORY);
  const facts: PaymentEvent[] = [];
  // The stream's facts with their ids: the settlement's is s1 (its steps' keys derive from it).
  const records = HISTORY.map((event, i) => ({ id: ["i1", "a1", "s1"][i] as string, event }));
  const saved: { method?: string } = {};
  const provider = {
    capture: async (intentId: string, amount: number, key: string) => {
      calls.push(`capture ${intentId} ${amount} ${key}`);
      return script.capture;
    },
    release: async (intentId: string, key: string) => {
      calls.push(`release ${intentId} ${key}`);
      return { ok: true, value: { released: 0 } };
    },
    chargeOffSession: async (request: { amount: number; paymentMethod: string; idempotencyKey: string }) => {
      calls.push(`charge ${request.paymentMethod} ${request.amount} ${request.idempotencyKey}`);
      return script.charge ?? { ok: true, value: { intentId: "pi_off", charged: request.amount } };
    },
  } as unknown as PaymentProvider;
  const deps: StepDeps = {
    provider,
    send: async (command) => {
      const decision = decideOutcome(state, command as RecordPaymentOutcome);
      if (!decision.ok) return { ok: false, code: decision.rejection.code };
      for (const event of decision.events) {
        state = evolvePaymentAggregate(state, event);
        facts.push(event);
        records.push({ id: `f${records.length}`, event });
      }
      return { ok: true, recorded: decision.events.length > 0 };
    },
    logger: { debug() {}, info() {}, warn() {}, error() {} } as never,
    now: () => NOW,
    keepClientSecret: async () => undefined,
    customers: { get: async () => undefined, keep: async () => undefined, drop: async () => undefined },
    lotState: async () => {
      throw new Error("not read by a settlement");
    },
    paymentProcess: async () => processOf(records),
    oldSavedMethod: async () => (saved.method ? { method: saved.method } : undefined),
  };
  return { deps, calls, facts, state: () => state, saved };
}

/** The booking due: its next steps carried out, with `method` its saved card. */
const run = (h: ReturnType<typeof harness>, method?: string) => {
  if (method) h.saved.method = method;
  return runNext(ids.reservationId, h.deps);
};

const ledgerOf = (state: PaymentState) => (state.kind === "open" ? state.facts : []);

describe("a settlement's capture that failed", () => {
  it("releases the whole hold at the provider, and records it released", async () => {
    const h = harness({ capture: { ok: false, kind: "refused", message: "invalid_request_error: nope" } });
    expect(await run(h, "pm_card_visa")).toBe("done");
    expect(h.calls).toEqual(["capture pi_1 3000 parking:s1:capture", "release pi_1 parking:s1:release"]);
    expect(h.facts.map((e) => e.type)).toEqual(["PaymentStepFailed", "PaymentReleased"]);
    expect(h.facts[1]?.data).toMatchObject({ intentId: "pi_1", amount: 5000 });
    expect(ledgerViolations(ledgerOf(h.state()), true)).toEqual([]);
  });

  it("a capture that went through lets the rest go at the provider itself: no release asked", async () => {
    const h = harness({ capture: { ok: true, value: { captured: 3000 } } });
    await run(h);
    expect(h.calls).toEqual(["capture pi_1 3000 parking:s1:capture"]);
    expect(h.facts[1]).toMatchObject({ type: "PaymentReleased", data: { amount: 2000 } });
    expect(ledgerViolations(ledgerOf(h.state()), true)).toEqual([]);
  });
});

describe("a settlement's capture that met a lapsed authorization (Stripe cancels it after 7 days)", () => {
  const lapsed = { ok: false, kind: "lapsed", message: "canceled: automatic" } as const;

  it("charges the amount off-session to the saved method, under a key of its own, recorded as a charge", async () => {
    const h = harness({ capture: lapsed });
    expect(await run(h, "pm_card_visa")).toBe("done");
    expect(h.calls).toEqual([
      "capture pi_1 3000 parking:s1:capture",
      "charge pm_card_visa 3000 parking:s1:lapsed-capture",
      "release pi_1 parking:s1:release",
    ]);
    expect(h.facts[0]).toMatchObject({
      type: "PaymentCaptured",
      data: { intentId: "pi_off", amount: 3000, lapsedIntentId: "pi_1" },
    });
    expect(h.facts[1]).toMatchObject({ type: "PaymentReleased", data: { intentId: "pi_1", amount: 5000 } });
    const state = h.state();
    expect(ledgerViolations(ledgerOf(state), true)).toEqual([]);
    expect(state).toMatchObject({ captured: 3000 });
    // A refund of it is given back from the intent that took the money.
    const refund = decideRefund(state, {
      type: "RefundPayment",
      ...ids,
      amount: 1000,
      reason: "x",
      now: NOW,
    });
    expect(refund).toMatchObject({ ok: true, events: [{ data: { intentId: "pi_off", refund: 1000 } }] });
  });

  it("without a saved method: a failed capture whose code says the authorization lapsed, with its amount", async () => {
    const h = harness({ capture: lapsed });
    await run(h);
    expect(h.facts[0]).toMatchObject({
      type: "PaymentStepFailed",
      data: { step: "capture", code: "authorization_lapsed", amount: 3000 },
    });
    expect(h.facts[1]).toMatchObject({ type: "PaymentReleased", data: { amount: 5000 } });
    expect(ledgerViolations(ledgerOf(h.state()), true)).toEqual([]);
  });

  it("the off-session charge declined (authentication required): the lapse recorded, the decline said", async () => {
    const h = harness({
      capture: lapsed,
      charge: {
        ok: false,
        kind: "declined",
        code: "authentication_required",
        message: "This transaction requires authentication.",
      },
    });
    await run(h, "pm_card_authenticationRequired");
    expect(h.facts[0]).toMatchObject({
      type: "PaymentStepFailed",
      // Issue 71: the card's own decline kept, so payment.charge_failed says the customer must come back.
      data: {
        step: "capture",
        code: "authorization_lapsed",
        amount: 3000,
        declineCode: "authentication_required",
      },
    });
    expect(JSON.stringify(h.facts[0]?.data)).toMatch(/authentication_required/);
    expect(ledgerViolations(ledgerOf(h.state()), true)).toEqual([]);
  });

  it("the charge's answer lost: retried later under the same key, nothing recorded meanwhile", async () => {
    const h = harness({
      capture: lapsed,
      charge: { ok: false, kind: "retryable", message: "socket hang up" },
    });
    expect(await run(h, "pm_card_visa")).toBe("retry");
    expect(h.facts).toEqual([]);
    expect(h.calls.filter((c) => c.startsWith("charge"))).toEqual([
      "charge pm_card_visa 3000 parking:s1:lapsed-capture",
    ]);
  });
});

/*
 * Issue 68 item 4: a settlement's progress is its payment's stream's, not the plan's. A capture
 * recorded before a restart (the answer given, the plan's own note of it lost with the process,
 * or a plan document written by an older version with `done: []`) is not asked of the provider
 * again: the next run goes on with the release.
 */
describe("a settlement carried out again after its capture was recorded", () => {
  it("asks the provider only for what its payment's stream does not yet record", async () => {
    const h = harness({ capture: { ok: false, kind: "refused", message: "invalid_request_error: nope" } });
    await h.deps.send(
      {
        type: "RecordPaymentOutcome",
        ...ids,
        settlementId: "s1",
        step: "capture",
        outcome: { ok: false, code: "provider_refused", message: "nope", amount: 3000 },
        now: NOW,
      },
      { correlationId: "c1", causationId: "s1" },
    );
    expect(await run(h, "pm_card_visa")).toBe("done");
    expect(h.calls).toEqual(["release pi_1 parking:s1:release"]);
    expect(h.facts.map((e) => e.type)).toEqual(["PaymentStepFailed", "PaymentReleased"]);
    expect(ledgerViolations(ledgerOf(h.state()), true)).toEqual([]);
  });
});
