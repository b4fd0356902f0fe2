import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import type { DocumentStore } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import {
  commandContext,
  paidLotIn,
  runAccepted,
  runThenSettle,
  stepDepsOn,
} from "../../test-support/paid-lot.js";
import { paymentFactsOf } from "../../test-support/payment-log.js";
import { type StripeServer, startStripeServer } from "../../test-support/stripe/server.js";
import type { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { ledgerOf, ledgerViolations } from "../../write-side/payment/payment-ledger.js";
import { messagesOf } from "../webhooks/messages.js";
import { ledgerOps, PAYMENT_LEDGERS } from "./ledger-watch.js";
import { runNext } from "./payment-steps.js";
import { reconcileHolds } from "./reconcile-holds.js";
import type { StepDeps } from "./step-common.js";
import { stripeClient, stripeProvider } from "./stripe-provider.js";
import { webhookCommand } from "./stripe-webhooks.js";

/*
 * Issue 71: a charge at the booking's end that the card refuses off-session is told to integrators
 * as `payment.charge_failed`, saying why (`authentication_required`: the customer must come back;
 * `declined`), what is left to collect and in what currency. Here the charge is a late cancel's fee
 * of a far booking whose card is saved and not held yet (all it owes is charged off-session),
 * against the Stripe stand-in with a card that asks for authentication, and one that declines.
 */

const LOT = "fee-lot";
const INSTANCE = "fees";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();
const DAY = 24 * 60;
/** Half the price from a month before the stay: a cancel right after booking owes 3,000 of 6,000. */
const TERMS = {
  currency: "KRW",
  deposit: 0,
  cancellation: { freeUntilMinutesBefore: 30 * DAY, feePercent: 50 },
  noShowFee: 0,
};

let store: EventStore;
let handler: ParkingLotCommandHandler;
let stripe: StripeServer;
let close: () => Promise<void>;
const customers = new Map<string, string>();
/** The client secrets the process manager kept for each booking's customer (PAYMENT_CLIENT_SECRETS). */
const secrets = new Map<string, string>();

beforeAll(async () => {
  ({ store, handler, close } = await paidLotIn("charge-failed-", {
    parkingLotId: LOT,
    name: "Fees",
    now: at(0),
    terms: TERMS,
  }));
  stripe = await startStripeServer();
});
afterAll(async () => {
  await stripe.close();
  await close();
});

const deps = (now: string): StepDeps =>
  stepDepsOn(
    {
      handler,
      store,
      provider: stripeProvider(stripeClient({ secretKey: "sk_test_fees", apiBase: stripe.url }), INSTANCE),
      secrets,
      customers,
    },
    now,
  );

/** A stay ten days on, its card saved (nothing held), canceled by its customer at once: its fee charged off-session. */
async function lateCancelCharged(reservationId: string, card: string) {
  const about = { parkingLotId: LOT, reservationId };
  const customerId = `customer-${reservationId}`;
  await runAccepted(handler, {
    type: "ReserveParking",
    ...about,
    customerId,
    carNumber: "12가3456",
    startsAt: at(10 * DAY),
    endsAt: at(10 * DAY + 60),
    now: at(0),
  });
  const saved = { intentId: `seti_${reservationId}`, amount: 6000, currency: "KRW" };
  const authorizeAt = at(9 * DAY);
  await runAccepted(handler, {
    type: "AuthorizePayment",
    ...about,
    ...saved,
    authorizeAt,
    paymentMethod: card,
    now: at(1),
  });
  const cancel = {
    type: "CancelReservation" as const,
    ...about,
    reason: "plans changed",
    requestedBy: customerId,
    now: at(2),
  };
  await runThenSettle(handler, cancel, commandContext("customer"));
  expect(await runNext(reservationId, deps(at(3)))).toBe("done");
  const told = [];
  for await (const recorded of store.readStream(`payment-${reservationId}`)) {
    const stored = decodeEvent(recorded);
    if (stored.event.type === "PaymentStepFailed") told.push(...messagesOf(stored).map((m) => m.message));
  }
  return told;
}

/** Stripe.js in the customer's browser: a publishable key and the client secret. */
const browser = () => stripeClient({ secretKey: "pk_test_fees", apiBase: stripe.url });

/** The intent the booking's refused charge names, and the client secret kept for its customer. */
async function comebackOf(reservationId: string) {
  let intentId = "";
  for await (const recorded of store.readStream(`payment-${reservationId}`)) {
    const { event } = decodeEvent(recorded);
    if (event.type === "PaymentStepFailed") intentId = event.data.intentId ?? "";
  }
  expect(intentId).toMatch(/^pi_/);
  const secret = secrets.get(reservationId) ?? "";
  expect(secret.startsWith(`${intentId}_secret_`)).toBe(true);
  return { intentId, secret };
}

/** The customer confirms the intent on session (Stripe.js `confirmCardPayment`) and completes 3-D Secure. */
async function payOnSession(intentId: string, secret: string) {
  const confirmed = await browser().paymentIntents.confirm(intentId, {
    client_secret: secret,
  } as Stripe.PaymentIntentConfirmParams);
  expect(confirmed.status).toBe("requires_action");
  expect(stripe.authenticate(intentId)).toMatchObject({ status: "succeeded", amount_received: 3000 });
}

/** What the payment's decider makes of the provider's word that the intent was paid. */
const late = (reservationId: string, intentId: string, amount: number) =>
  handler.handle(
    {
      type: "RecordLateCharge",
      parkingLotId: LOT,
      reservationId,
      intentId,
      amount,
      currency: "KRW",
      now: at(5),
    },
    commandContext(),
  );

const reconcile = (now: string, docs?: DocumentStore) => {
  const { provider, send, logger, lotState, paymentProcess } = deps(now);
  const store = docs ? { store: docs } : {};
  return reconcileHolds(
    { provider, send, logger, now: () => now, lotState, paymentProcess, ...store },
    { freshSeconds: 0 },
  );
};

describe("a charge at the booking's end the card refuses off-session (issue 71)", () => {
  it("asks for authentication: payment.charge_failed, authentication_required, with the fee left to collect", async () => {
    const told = await lateCancelCharged("fee-3ds", "pm_card_authenticationRequired");
    expect(told).toEqual([
      {
        type: "payment.charge_failed",
        timestamp: at(3),
        data: expect.objectContaining({
          reservationId: "fee-3ds",
          parkingLotId: LOT,
          step: "overstay",
          reason: "authentication_required",
          code: "authentication_required",
          amount: 3000,
          currency: "KRW",
        }),
      },
    ]);
    // Stripe was asked off-session, on the customer's Customer, and took nothing.
    expect(stripe.ledger().intents).toMatchObject([{ offSession: true, captured: 0 }]);
  });

  it("declined: payment.charge_failed, declined, with the card's code", async () => {
    const told = await lateCancelCharged("fee-declined", "pm_card_chargeDeclinedInsufficientFunds");
    expect(told).toMatchObject([
      {
        type: "payment.charge_failed",
        data: { reason: "declined", code: "insufficient_funds", amount: 3000 },
      },
    ]);
  });

  it("the customer comes back: pays the intent on session with its client secret; payment_intent.succeeded records the fee collected, once", async () => {
    const id = "fee-back";
    await lateCancelCharged(id, "pm_card_authenticationRequired");
    // The failure names the intent Stripe left requires_payment_method; its client secret is the customer's.
    const { intentId, secret } = await comebackOf(id);
    expect(await stripe.ledger().intents.find((i) => i.id === intentId)).toMatchObject({ captured: 0 });
    // The reconciliation leaves an intent due from the customer open (it is no hold for nothing).
    await reconcile(at(4));
    expect(
      (await browser().paymentIntents.retrieve(intentId, { client_secret: secret } as never)).status,
    ).toBe("requires_payment_method");
    // Neither another intent nor another amount is taken for it.
    await expect(late(id, "pi_not_this_one", 3000)).resolves.toMatchObject({ ok: false });
    await expect(late(id, intentId, 2999)).resolves.toMatchObject({ ok: false });

    const seen = stripe.sentEvents().length;
    await payOnSession(intentId, secret);
    const succeeded = stripe
      .sentEvents()
      .slice(seen)
      .filter((e) => e.type === "payment_intent.succeeded");
    const command = webhookCommand(succeeded[0] as unknown as Stripe.Event, INSTANCE);
    expect(command).toEqual({
      type: "RecordLateCharge",
      parkingLotId: LOT,
      reservationId: id,
      intentId,
      amount: 3000,
      currency: "KRW",
    });
    expect(await late(id, intentId, 3000)).toMatchObject({ ok: true, events: [{ type: "OverstayCharged" }] });
    // A replayed webhook appends nothing.
    expect(await late(id, intentId, 3000)).toMatchObject({ ok: true, events: [] });
    const payment = await handler.paymentStateOf(LOT, id);
    expect(payment).toMatchObject({ comebacks: [] });
    if (payment.kind !== "open") throw new Error("no payment");
    expect(ledgerOf(payment.facts)).toMatchObject({ captured: 3000, authorized: 3000 });
    expect(ledgerViolations(payment.facts, true)).toEqual([]);
    expect(stripe.ledgerProblems()).toEqual([]);
  });

  it("the webhook lost: the reconciliation finds the intent the customer paid and records it collected", async () => {
    const id = "fee-lost";
    await lateCancelCharged(id, "pm_card_authenticationRequired");
    const { intentId, secret } = await comebackOf(id);
    await payOnSession(intentId, secret);
    expect((await reconcile(at(5))).repaired).toMatchObject({ collected: 1 });
    const payment = await handler.paymentStateOf(LOT, id);
    expect(payment).toMatchObject({ comebacks: [] });
    expect(payment.kind === "open" && ledgerOf(payment.facts).captured).toBe(3000);
    expect((await reconcile(at(6))).repaired).toEqual({});
  });

  it("paid nine days on, its webhook lost: the payment is under way until then, and the walk of payments not final records it", async () => {
    const id = "fee-later";
    await lateCancelCharged(id, "pm_card_authenticationRequired");
    const { intentId, secret } = await comebackOf(id);
    // The payment's ledger, as the process manager's ledger watch keeps it: not final while the fee is due.
    const docs = new MemoryDocumentStore();
    const events = [];
    for await (const e of store.readStream(`payment-${id}`)) events.push(e);
    await docs.write(await ledgerOps(paymentFactsOf(events), docs));
    expect(await docs.findById(PAYMENT_LEDGERS, id)).toMatchObject({ ended: true, pending: 1 });
    const nineDays = 9 * 24 * 3_600_000;
    stripe.advanceClock(nineDays);
    try {
      await payOnSession(intentId, secret);
      // The provider's list covers eight days: only the walk of payments not final reaches the intent.
      const outcome = await reconcile(new Date(Date.now() + nineDays).toISOString(), docs);
      expect(outcome.repaired).toEqual({ collected: 1 });
      const payment = await handler.paymentStateOf(LOT, id);
      expect(payment.kind === "open" && ledgerOf(payment.facts).captured).toBe(3000);
    } finally {
      stripe.advanceClock(-nineDays);
    }
  });

  it("was held to Stripe's contract", () => {
    expect(stripe.violations()).toEqual([]);
  });
});
