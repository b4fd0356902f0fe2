import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventStore } from "../../event-store/port.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import {
  commandContext,
  KRW_TERMS,
  paidLotIn,
  runAccepted,
  senderVia,
  stepDepsOn,
} from "../../test-support/paid-lot.js";
import { type StripeServer, startStripeServer } from "../../test-support/stripe/server.js";
import type { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { readPaymentProcess } from "./payment-due.js";
import { endsOf, requestsOf } from "./payment-inbox.js";
import { decideEnd, runNext } from "./payment-steps.js";
import type { StepDeps } from "./step-common.js";
import { stripeClient, stripeProvider } from "./stripe-provider.js";
import { webhookCommand } from "./stripe-webhooks.js";

/**
 * Issue 71: a booking whose stay ends beyond a card hold's lifetime, made without a saved card (the
 * customer pays with Stripe.js), through the Stripe stand-in: nothing is held at booking; a SetupIntent
 * on the customer's Customer (usage off_session) is recorded as its intent and its client secret kept
 * for them; a declined card fails nothing (they try another on the same SetupIntent); the card saved
 * (`setup_intent.succeeded`) confirms the booking and is held off-session before the stay. Not
 * completed by the booking's hold, the SetupIntent is canceled at Stripe too.
 */

const LOT = "far-lot";
const INSTANCE = "far";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();
const DAY = 24 * 60;
const TERMS = KRW_TERMS;

let store: EventStore;
let handler: ParkingLotCommandHandler;
let stripe: StripeServer;
let close: () => Promise<void>;
const provider = () =>
  stripeProvider(stripeClient({ secretKey: "sk_test_far", apiBase: stripe.url }), INSTANCE);
/** Stripe.js in the customer's browser: a publishable key and the client secret. */
const browser = () => stripeClient({ secretKey: "pk_test_far", apiBase: stripe.url });
/** What Stripe.js's confirmCardSetup sends (the SDK's types leave the client secret out). */
const tryCard = (setupId: string, secret: string | undefined, card: string) =>
  browser().setupIntents.confirm(setupId, {
    client_secret: secret ?? "",
    payment_method: card,
  } as Stripe.SetupIntentConfirmParams);
const customers = new Map<string, string>();
const secrets = new Map<string, string>();

beforeAll(async () => {
  ({ store, handler, close } = await paidLotIn("client-setup-", {
    parkingLotId: LOT,
    name: "Far",
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
  stepDepsOn({ handler, store, provider: provider(), secrets, customers }, now);

/** The requests the payments process manager records for a reservation's facts, recorded (PaymentRequested). */
async function requestsFor(reservationId: string, now: string) {
  const requests = requestsOf(await eventsOf(reservationId), now);
  for (const { command, correlationId } of requests)
    await senderVia(handler)(command, { correlationId, causationId: command.requestedBy });
  return requests.map(({ command }) => command);
}

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

/** What Stripe told the webhook of this SetupIntent since `seen` events, as the service reads it: each to the lot. */
async function webhooks(setupId: string, seen: number, now: string): Promise<string[]> {
  const types: string[] = [];
  for (const event of stripe.sentEvents().slice(seen)) {
    const object = (event.data as { object: { id: string } }).object;
    if (object.id !== setupId) continue;
    types.push(String(event.type));
    const command = webhookCommand(event as unknown as Stripe.Event, INSTANCE);
    if (command) await handler.handle({ ...command, now }, commandContext());
  }
  return types;
}

/** A booking ten days on, without a saved card; its authorize plan carried out. */
async function bookedFarAhead(reservationId: string) {
  await runAccepted(handler, {
    type: "ReserveParking",
    parkingLotId: LOT,
    reservationId,
    customerId: `customer-${reservationId}`,
    carNumber: "12가3456",
    startsAt: at(10 * DAY),
    endsAt: at(10 * DAY + 60),
    now: at(0),
  });
  const [authorize] = await requestsFor(reservationId, at(0));
  expect(authorize).toMatchObject({ type: "RequestPayment", authorizeAt: at(9 * DAY) });
  expect(authorize).not.toHaveProperty("method");
  expect(await runNext(reservationId, deps(at(0)))).toBe("done");
  const payment = await handler.paymentStateOf(LOT, reservationId);
  const setupId = payment.kind === "open" ? (payment.intentId ?? "") : "";
  return { setupId, about: { parkingLotId: LOT, reservationId } };
}

/** The facts of the reservation's payment stream, by type. */
async function factsOf(reservationId: string): Promise<string[]> {
  const types: string[] = [];
  for await (const recorded of store.readStream(`payment-${reservationId}`)) types.push(recorded.type);
  return types;
}

const bookingStatus = async (reservationId: string) => {
  const lot = await handler.stateOf(LOT);
  return lot.kind === "registered" ? lot.reservations.get(reservationId)?.status : undefined;
};

describe("a far booking its customer pays with Stripe.js (issue 71)", () => {
  it("gets a SetupIntent, not a hold; a declined card fails nothing; the card saved confirms it and is held before the stay", async () => {
    const id = "far-1";
    const { setupId } = await bookedFarAhead(id);
    expect(setupId).toMatch(/^seti_/);
    // Nothing held at booking: no PaymentIntent at Stripe; the SetupIntent on the customer's Customer.
    expect(stripe.ledger().intents).toEqual([]);
    const setup = await browser().setupIntents.retrieve(setupId, { client_secret: secrets.get(id) ?? "" });
    expect(setup).toMatchObject({ status: "requires_payment_method", usage: "off_session" });
    expect(setup.customer).toBe([...customers.values()][0]);
    expect(setup.metadata).toMatchObject({
      reservationId: id,
      parkingLotId: LOT,
      parking_instance: INSTANCE,
    });
    expect(await handler.paymentStateOf(LOT, id)).toMatchObject({ status: "pending", authorized: 0 });
    expect(await bookingStatus(id)).toBe("PENDING_PAYMENT");
    // The reconciliation compares PaymentIntents: a SetupIntent is nothing to compare, never an error.
    expect(await provider().retrieveIntent?.(setupId)).toEqual({ ok: true, value: undefined });

    // The customer's first card is declined: Stripe.js keeps the SetupIntent for another.
    let seen = stripe.sentEvents().length;
    const declined = await tryCard(setupId, secrets.get(id), "pm_card_chargeDeclined").catch(
      (error: { statusCode?: number }) => error.statusCode,
    );
    expect(declined).toBe(402);
    expect(await webhooks(setupId, seen, at(2))).toEqual(["setup_intent.setup_failed"]);
    expect(await bookingStatus(id)).toBe("PENDING_PAYMENT");
    // The decline is recorded for the booking's view, nothing failed; a repeat of its webhook records nothing.
    expect(await handler.paymentStateOf(LOT, id)).toMatchObject({ status: "pending", intentId: setupId });
    expect(await factsOf(id)).toEqual(["PaymentRequested", "PaymentIntentCreated", "PaymentAttemptFailed"]);
    expect(await webhooks(setupId, seen, at(2))).toEqual(["setup_intent.setup_failed"]);
    expect(await factsOf(id)).toEqual(["PaymentRequested", "PaymentIntentCreated", "PaymentAttemptFailed"]);

    // The second goes through: the card saved to the Customer, the booking confirmed on it.
    seen = stripe.sentEvents().length;
    const card = String(stripe.createPaymentMethod("pm_card_visa").id);
    await tryCard(setupId, secrets.get(id), card);
    expect(await webhooks(setupId, seen, at(3))).toEqual(["setup_intent.succeeded"]);
    expect(await bookingStatus(id)).toBe("RESERVED");
    expect(await handler.paymentStateOf(LOT, id)).toMatchObject({
      status: "saved",
      saved: { amount: 6000, authorizeAt: at(9 * DAY) },
    });

    // A day before the stay the card is held off-session, on the customer's Customer.
    expect((await readPaymentProcess(store, id)).card).toMatchObject({ method: card });
    expect(await runNext(id, deps(at(3)))).toEqual({ until: at(9 * DAY) });
    expect(await runNext(id, deps(at(9 * DAY)))).toBe("done");
    expect(await handler.paymentStateOf(LOT, id)).toMatchObject({ status: "authorized", authorized: 6000 });
    expect(stripe.ledger().intents).toMatchObject([{ authorized: 6000, held: 6000 }]);
  });

  it("not completed by the booking's hold: the booking is canceled and its SetupIntent canceled at Stripe", async () => {
    const id = "far-2";
    const { setupId, about } = await bookedFarAhead(id);
    await runAccepted(handler, { type: "ExpirePaymentHold", ...about, now: at(11) });
    expect(await bookingStatus(id)).toBe("CANCELED");
    // Its end, as the payments process manager follows it, decides the void; its step carries it out.
    for (const end of endsOf(await eventsOf(id))) await decideEnd(end, deps(at(11)));
    expect(await runNext(id, deps(at(11)))).toBe("done");
    const canceled = await browser().setupIntents.retrieve(setupId, { client_secret: secrets.get(id) ?? "" });
    expect(canceled.status).toBe("canceled");
    // No one can complete it late.
    const late = await tryCard(setupId, secrets.get(id), "pm_card_visa").catch(
      (error: { statusCode?: number }) => error.statusCode,
    );
    expect(late).toBe(400);
    expect(await handler.paymentStateOf(LOT, id)).toMatchObject({
      status: "failed",
      releasedIntents: [setupId],
    });
  });

  it("was held to Stripe's contract", () => {
    expect(stripe.violations()).toEqual([]);
  });
});
