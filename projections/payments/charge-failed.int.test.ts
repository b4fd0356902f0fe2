import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventStore } from "../../event-store/port.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import {
  commandContext,
  paidLotIn,
  runAccepted,
  runThenSettle,
  senderVia,
} from "../../test-support/paid-lot.js";
import { type StripeServer, startStripeServer } from "../../test-support/stripe/server.js";
import type { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { messagesOf } from "../webhooks/messages.js";
import { readPaymentProcess } from "./payment-due.js";
import { runNext, type StepDeps } from "./payment-steps.js";
import { stripeClient, stripeProvider } from "./stripe-provider.js";

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
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

let store: EventStore;
let handler: ParkingLotCommandHandler;
let stripe: StripeServer;
let close: () => Promise<void>;
const customers = new Map<string, string>();

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

const deps = (now: string): StepDeps => ({
  provider: stripeProvider(stripeClient({ secretKey: "sk_test_fees", apiBase: stripe.url }), INSTANCE),
  send: senderVia(handler),
  logger: silent,
  now: () => now,
  keepClientSecret: async () => {},
  lotState: (id) => handler.stateOf(id),
  paymentState: (id, reservationId) => handler.paymentStateOf(id, reservationId),
  paymentProcess: (reservationId) => readPaymentProcess(store, reservationId),
  oldSavedMethod: async () => undefined,
  customers: {
    get: async (ref) => customers.get(ref),
    keep: async (ref, id) => {
      customers.set(ref, id);
    },
    drop: async (ref) => {
      customers.delete(ref);
    },
  },
});

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

  it("was held to Stripe's contract", () => {
    expect(stripe.violations()).toEqual([]);
  });
});
