import { join } from "node:path";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventStore } from "../../event-store/port.js";
import { SqliteDataKeys } from "../../platform/data-keys/sqlite-data-keys.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { usePersonalDataKeys } from "../../schemas/personal-data.js";
import { WebhookDataSchemas } from "../../schemas/webhooks.js";
import {
  commandContext,
  KRW_TERMS,
  paidLotIn,
  runAccepted,
  runThenSettle,
  senderVia,
  stepDepsOn,
} from "../../test-support/paid-lot.js";
import { type StripeServer, startStripeServer } from "../../test-support/stripe/server.js";
import type { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { readPaymentProcess } from "./payment-due.js";
import { requestsOf } from "./payment-inbox.js";
import { runNext } from "./payment-steps.js";
import type { StepDeps } from "./step-common.js";
import { stripeClient, stripeProvider } from "./stripe-provider.js";
import { webhookCommand } from "./stripe-webhooks.js";

/**
 * Issue 71 item 1: a booking within a hold's seven days that its customer confirms with Stripe.js
 * (no saved card in the request), through the Stripe stand-in, which holds a PaymentMethod attached
 * to no Customer to a single use. Its PaymentIntent names the customer's Stripe Customer with
 * `setup_future_usage: off_session` (https://docs.stripe.com/payments/save-during-payment), so the
 * card they confirm it with is saved to that Customer; the authorization's webhook names the card,
 * recorded sealed on the payment's stream, and what the booking owes beyond its hold (an overstay,
 * an open-ended price above its deposit) is charged to it off-session and collected.
 */

const LOT = "card-lot";
const INSTANCE = "cardsave";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();

let store: EventStore;
let handler: ParkingLotCommandHandler;
let stripe: StripeServer;
let close: () => Promise<void>;
let keys: SqliteDataKeys;
const provider = () =>
  stripeProvider(stripeClient({ secretKey: "sk_test_card", apiBase: stripe.url }), INSTANCE);
/** Stripe.js in the customer's browser: a publishable key and the client secret. */
const browser = () => stripeClient({ secretKey: "pk_test_card", apiBase: stripe.url });
const customers = new Map<string, string>();
const secrets = new Map<string, string>();

beforeAll(async () => {
  let dir: string;
  ({ dir, store, handler, close } = await paidLotIn("client-card-", {
    parkingLotId: LOT,
    name: "Card",
    now: at(0),
    terms: KRW_TERMS,
  }));
  keys = SqliteDataKeys.open(join(dir, "keys", "data-keys.sqlite"));
  usePersonalDataKeys(keys);
  stripe = await startStripeServer();
});
afterAll(async () => {
  usePersonalDataKeys(undefined);
  await stripe.close();
  await close();
});

const deps = (now: string): StepDeps =>
  stepDepsOn({ handler, store, provider: provider(), secrets, customers }, now);

/** A reservation's facts in the log. */
async function eventsOf(reservationId: string) {
  const events = [];
  for await (const recorded of store.readAll()) {
    const stored = decodeEvent(recorded);
    if ((stored.event.data as { reservationId?: string }).reservationId === reservationId)
      events.push(stored);
  }
  return events;
}

/** What Stripe told the webhook of this intent since `seen` events, each to the lot as the service reads it. */
async function webhooks(intentId: string, seen: number, now: string): Promise<string[]> {
  const types: string[] = [];
  for (const event of stripe.sentEvents().slice(seen)) {
    if ((event.data as { object: { id: string } }).object.id !== intentId) continue;
    types.push(String(event.type));
    const command = webhookCommand(event as unknown as Stripe.Event, INSTANCE);
    if (command) await handler.handle({ ...command, now }, commandContext());
  }
  return types;
}

/**
 * A booking of `window` (none: open-ended, from now) without a saved card, its request recorded and
 * authorized as the process manager does; its customer confirms the intent with a card they enter
 * (a PaymentMethod Stripe.js makes: attached to no Customer), and the webhook authorizes it.
 */
async function confirmedWithStripeJs(reservationId: string, window: { startsAt?: string; endsAt?: string }) {
  const ids = { parkingLotId: LOT, reservationId };
  await runAccepted(handler, {
    type: "ReserveParking",
    ...ids,
    customerId: `customer-${reservationId}`,
    carNumber: "12가3456",
    ...window,
    now: at(0),
  });
  for (const { command, correlationId } of requestsOf(await eventsOf(reservationId), at(0)))
    await senderVia(handler)(command, { correlationId, causationId: command.requestedBy });
  expect(await runNext(reservationId, deps(at(0)))).toBe("done");
  const payment = await handler.paymentStateOf(LOT, reservationId);
  const intentId = payment.kind === "open" ? (payment.intentId ?? "") : "";
  expect(intentId).toMatch(/^pi_/);
  const card = String(stripe.createPaymentMethod("pm_card_visa").id);
  const seen = stripe.sentEvents().length;
  await browser().paymentIntents.confirm(intentId, {
    client_secret: secrets.get(reservationId) ?? "",
    payment_method: card,
  } as Stripe.PaymentIntentConfirmParams);
  expect(await webhooks(intentId, seen, at(1))).toContain("payment_intent.amount_capturable_updated");
  expect(await handler.paymentStateOf(LOT, reservationId)).toMatchObject({ status: "authorized" });
  return { ids, intentId, card };
}

/** The intents Stripe holds for the booking, oldest first: what each authorized and took, off-session or not. */
const intentsOf = (reservationId: string) =>
  stripe
    .ledger()
    .intents.filter((row) => row.metadata.reservationId === reservationId)
    .map(({ id, offSession, authorized, captured, held }) => ({
      id,
      offSession,
      authorized,
      captured,
      held,
    }));

describe("a booking its customer confirms with Stripe.js, within a hold's seven days (issue 71 item 1)", () => {
  it("saves its card to the customer's Customer; an overstay is charged to it off-session and collected", async () => {
    const { ids, intentId, card } = await confirmedWithStripeJs("js-1", {
      startsAt: at(60),
      endsAt: at(120),
    });
    // The intent named the customer's Stripe Customer and asked to save the card to it: saved.
    const admin = stripeClient({ secretKey: "sk_test_card", apiBase: stripe.url });
    const atStripe = await admin.paymentIntents.retrieve(intentId);
    expect(atStripe).toMatchObject({ setup_future_usage: "off_session", payment_method: card });
    expect(atStripe.customer).toMatch(/^cus_/);
    expect(await admin.paymentMethods.retrieve(card)).toMatchObject({ customer: atStripe.customer });
    // The reconciliation's retrieve names the card too (a lost webhook's repair records it).
    const intent = await provider().retrieveIntent?.(intentId);
    expect(intent).toMatchObject({ ok: true, value: { paymentMethod: card } });
    expect((await readPaymentProcess(store, "js-1")).card).toEqual({
      method: card,
      customerId: "customer-js-1",
    });
    // Sealed on the payment's stream: the card is not in the log in clear.
    const raw = [];
    for await (const recorded of store.readStream("payment-js-1")) raw.push(recorded);
    expect(raw.map((r) => r.type)).toContain("PaymentAuthorized");
    expect(JSON.stringify(raw.map((r) => r.data))).not.toContain(card);
    // Nor told to integrators: payment.authorized carries the fact's data but for its card.
    expect(Object.keys(WebhookDataSchemas["payment.authorized"].properties)).not.toContain("method");

    await runAccepted(handler, { type: "CheckIn", ...ids, now: at(60) });
    await runThenSettle(handler, { type: "CheckOut", ...ids, now: at(140) });
    expect(await runNext("js-1", deps(at(141)))).toBe("done");
    const payment = await handler.paymentStateOf(LOT, "js-1");
    expect(payment).toMatchObject({ authorized: 6000, captured: 6000 });
    const steps = payment.kind === "open" ? payment.steps : [];
    expect(steps.filter((step) => step.endsWith(":overstay"))).toHaveLength(1);
    expect(intentsOf("js-1")).toEqual([
      { id: intentId, offSession: false, authorized: 6000, captured: 6000, held: 0 },
      { id: expect.stringMatching(/^pi_/), offSession: true, authorized: 2000, captured: 2000, held: 0 },
    ]);
    expect((await eventsOf("js-1")).map((e) => e.event.type)).toContain("OverstayCharged");
  });

  it("an open-ended stay: what its price takes above the deposit is charged to the card off-session", async () => {
    const { ids, intentId } = await confirmedWithStripeJs("js-2", {});
    await runAccepted(handler, { type: "CheckIn", ...ids, now: at(2) });
    await runThenSettle(handler, { type: "CheckOut", ...ids, now: at(182) });
    expect(await runNext("js-2", deps(at(183)))).toBe("done");
    expect(intentsOf("js-2")).toEqual([
      { id: intentId, offSession: false, authorized: 10_000, captured: 10_000, held: 0 },
      { id: expect.stringMatching(/^pi_/), offSession: true, authorized: 8000, captured: 8000, held: 0 },
    ]);
    const failed = (await eventsOf("js-2")).filter((e) => e.event.type === "PaymentStepFailed");
    expect(failed).toEqual([]);
  });

  it("its customer erased, the card reads erased: the overstay is recorded not charged", async () => {
    const { ids, intentId } = await confirmedWithStripeJs("js-3", { startsAt: at(60), endsAt: at(120) });
    await runAccepted(handler, { type: "CheckIn", ...ids, now: at(60) });
    keys.erase("customer-js-3");
    expect((await readPaymentProcess(store, "js-3")).card).toBeUndefined();
    await runThenSettle(handler, { type: "CheckOut", ...ids, now: at(140) });
    expect(await runNext("js-3", deps(at(141)))).toBe("done");
    expect(intentsOf("js-3")).toEqual([
      { id: intentId, offSession: false, authorized: 6000, captured: 6000, held: 0 },
    ]);
    const failed = (await eventsOf("js-3")).filter((e) => e.event.type === "PaymentStepFailed");
    expect(failed.map((e) => e.event.data)).toMatchObject([{ code: "no_saved_payment_method" }]);
  });

  it("was held to Stripe's contract", () => {
    expect(stripe.violations()).toEqual([]);
  });
});
