import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryDocumentStore } from "../../document-store/memory/memory-document-store.js";
import type { DocumentStore } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import type { ParkingLotCommand } from "../../schemas/commands.js";
import {
  commandContext,
  KRW_TERMS,
  paidLotIn,
  runAccepted,
  runThenSettle,
  senderVia,
} from "../../test-support/paid-lot.js";
import { paymentFactsOf } from "../../test-support/payment-log.js";
import { type StripeServer, startStripeServer } from "../../test-support/stripe/server.js";
import type { ParkingLotCommandHandler } from "../../write-side/command-handler.js";
import { ledgerOps } from "./ledger-watch.js";
import { readPaymentProcess } from "./payment-due.js";
import type { PaymentProvider } from "./provider.js";
import { type ReconcileDeps, reconcileHolds } from "./reconcile-holds.js";
import { stripeClient, stripeProvider } from "./stripe-provider.js";

/**
 * Issue 71: the provider's state is the truth after an unclear answer. Through the Stripe stand-in:
 * a capture Stripe applied but answered 500, recorded failed (as a service that took the answer for
 * a refusal would), leaves the booking `captured 0` and its refund refused `NotPaid`; the
 * reconciliation reads the intent, records the capture through the payment's decider, and the
 * money can then be refunded. A booking whose authorization's webhook was lost is authorized.
 */

const LOT = "truth-lot";
const AT = Date.parse("2026-11-27T01:00:00.000Z");
const at = (minutes: number) => new Date(AT + minutes * 60_000).toISOString();
const TERMS = KRW_TERMS;

let store: EventStore;
let handler: ParkingLotCommandHandler;
let stripe: StripeServer;
let close: () => Promise<void>;
const provider = () =>
  stripeProvider(stripeClient({ secretKey: "sk_test_truth", apiBase: stripe.url }), "truth");
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

beforeAll(async () => {
  ({ store, handler, close } = await paidLotIn("reconcile-provider-", {
    parkingLotId: LOT,
    name: "Truth",
    now: at(0),
    terms: TERMS,
  }));
  stripe = await startStripeServer();
});
afterAll(async () => {
  await stripe.setOutage("none");
  await stripe.close();
  await close();
});

const deps = (now: string, paying: PaymentProvider = provider(), docs?: DocumentStore): ReconcileDeps => ({
  provider: paying,
  send: senderVia(handler),
  logger: silent,
  now: () => now,
  lotState: (id) => handler.stateOf(id),
  paymentProcess: (reservationId) => readPaymentProcess(store, reservationId),
  ...(docs ? { store: docs } : {}),
});

const reconcile = (now: string) => reconcileHolds(deps(now), { freshSeconds: 0 });

/** A booking of minutes 60-120 with a saved card, its intent created (and confirmed: `confirm`) at Stripe. */
async function booked(reservationId: string, confirm: boolean): Promise<string> {
  await runAccepted(handler, {
    type: "ReserveParking",
    reservationId,
    parkingLotId: LOT,
    customerId: "customer-1",
    carNumber: "12가3456",
    startsAt: at(60),
    endsAt: at(120),
    paymentMethod: "pm_card_visa",
    now: at(0),
  });
  const ask = { amount: 6000, currency: "KRW", metadata: { reservationId, parkingLotId: LOT } };
  const created = await provider().createIntent({ ...ask, idempotencyKey: `${reservationId}:authorize` });
  if (!created.ok) throw new Error("no intent");
  const { intentId } = created.value;
  await runAccepted(handler, {
    type: "RecordPaymentIntent",
    ...ask.metadata,
    intentId,
    amount: 6000,
    currency: "KRW",
    now: at(1),
  });
  if (confirm) await provider().confirm(intentId, "pm_card_visa", `${reservationId}:confirm`);
  return intentId;
}

/** A booking whose card Stripe confirmed, its authorization recorded on its payment and lot. */
async function authorized(reservationId: string) {
  const about = { parkingLotId: LOT, reservationId };
  const intentId = await booked(reservationId, true);
  await runAccepted(handler, {
    type: "AuthorizePayment",
    ...about,
    intentId,
    amount: 6000,
    currency: "KRW",
    now: at(2),
  });
  return { about, intentId };
}

describe("the reconciliation takes the provider's state as the truth (issue 71)", () => {
  it("records a capture Stripe applied but answered 500, so the booking reads captured and can be refunded", async () => {
    const id = "truth-captured";
    const { about, intentId } = await authorized(id);
    await runAccepted(handler, { type: "CheckIn", ...about, now: at(60) });
    const settled = await runThenSettle(handler, { type: "CheckOut", ...about, now: at(120) });
    const decided = settled.find((e) => e.type === "PaymentSettlementDecided");
    expect(decided?.data).toMatchObject({ capture: 6000, release: 0 });
    // Stripe applies the capture and answers 500; the service recorded the step failed.
    await stripe.setOutage("fail-after-apply");
    await provider().capture(intentId, 6000, `${id}:capture`);
    await stripe.setOutage("none");
    const failed = (step: "capture" | "release"): ParkingLotCommand => ({
      type: "RecordPaymentOutcome",
      ...about,
      settlementId: "settle-1",
      step,
      outcome: { ok: false, code: "provider_refused", message: "api_error" },
      now: at(121),
    });
    await runAccepted(handler, failed("capture"));
    await runAccepted(handler, failed("release"));
    expect(stripe.ledger().intents.find((i) => i.id === intentId)).toMatchObject({ captured: 6000 });
    const refund = {
      type: "RefundPayment",
      ...about,
      amount: 6000,
      reason: "goodwill",
      now: at(130),
    } as const;
    expect(await handler.handle(refund, commandContext("operator"))).toMatchObject({
      ok: false,
      rejection: { code: "NotPaid" },
    });

    const outcome = await reconcile(at(125));
    expect(outcome.repaired).toEqual({ captured: 1 });
    expect(await handler.paymentStateOf(LOT, id)).toMatchObject({ captured: 6000 });
    const refunded = await handler.handle(refund, commandContext("operator"));
    expect(refunded).toMatchObject({
      ok: true,
      events: [{ type: "PaymentSettlementDecided", data: { intentId, refund: 6000 } }],
    });
    // Once recorded, the next round finds nothing to repair.
    expect((await reconcile(at(126))).repaired).toEqual({});
  });

  it("authorizes a booking whose authorization's webhook was lost while it still waits", async () => {
    const id = "truth-authorized";
    await booked(id, true);
    expect(await handler.paymentStateOf(LOT, id)).toMatchObject({ status: "pending" });
    expect((await reconcile(at(3))).repaired).toEqual({ authorized: 1 });
    expect(await handler.paymentStateOf(LOT, id)).toMatchObject({ status: "authorized", authorized: 6000 });
  });

  it("leaves another application's and another deployment's holds alone, though they name one of its bookings (issue 71 item 5)", async () => {
    const id = "truth-foreign";
    await authorized(id);
    // Authorizations on the same account that no booking of this deployment counts on: one made
    // by another application (no instance named), one by another deployment (`staging`).
    const account = stripeClient({ secretKey: "sk_test_truth", apiBase: stripe.url });
    const foreign = async (metadata: Record<string, string>) =>
      (
        await account.paymentIntents.create({
          amount: 3000,
          currency: "krw",
          capture_method: "manual",
          automatic_payment_methods: { enabled: true, allow_redirects: "never" },
          payment_method: "pm_card_visa",
          confirm: true,
          metadata: { reservationId: id, parkingLotId: LOT, ...metadata },
        })
      ).id;
    const otherApp = await foreign({});
    const staging = await foreign({ parking_instance: "staging" });
    const outcome = await reconcile(at(5));
    for (const intentId of [otherApp, staging])
      expect(stripe.ledger().intents.find((i) => i.id === intentId)).toMatchObject({
        status: "requires_capture",
        held: 3000,
        released: 0,
      });
    expect(outcome).toMatchObject({ released: 0, failed: 0 });
    // The booking's own authorization is untouched too: it counts on it.
    expect(await handler.paymentStateOf(LOT, id)).toMatchObject({ status: "authorized", authorized: 6000 });
  });

  it("keeps where it stopped in the document store: a restarted process goes on from there, not from the start", async () => {
    const docs = new MemoryDocumentStore();
    const afters: (string | undefined)[] = [];
    // Each round a new process: a new provider, the same store.
    const round = async () => {
      const stripeNow = provider();
      const listIntents: PaymentProvider["listIntents"] = (since, limit, after) => {
        afters.push(after);
        return (stripeNow.listIntents as NonNullable<PaymentProvider["listIntents"]>)(since, limit, after);
      };
      return reconcileHolds(deps(at(200), { ...stripeNow, listIntents }, docs), {
        freshSeconds: 0,
        pages: 1,
        pageSize: 1,
      });
    };
    await round();
    await round();
    const newest = stripe.ledger().intents.at(-1)?.id;
    expect(afters).toEqual([undefined, newest]);
  });

  it("compares every payment not final, however old: a hold lapsed nine days after it was made, its webhook lost, is recorded lapsed", async () => {
    const id = "truth-old";
    const { intentId } = await authorized(id);
    // The payments' ledgers, as the process manager's ledger watch keeps them in its store.
    const docs = new MemoryDocumentStore();
    const events = [];
    for await (const e of store.readAll()) events.push(e);
    const facts = paymentFactsOf(events).filter(
      (e) => (e.event.data as { reservationId: string }).reservationId === id,
    );
    await docs.write(await ledgerOps(facts, docs));
    const nineDays = 9 * 24 * 3_600_000;
    stripe.advanceClock(nineDays);
    try {
      expect(stripe.ledger().intents.find((i) => i.id === intentId)).toMatchObject({
        status: "canceled",
        held: 0,
      });
      // Stripe's clock: the intent was made before the eight days the provider's list covers.
      const outcome = await reconcileHolds(
        deps(new Date(Date.now() + nineDays).toISOString(), provider(), docs),
        {
          freshSeconds: 0,
        },
      );
      expect(outcome).toMatchObject({ lapsed: 1, payments: 1 });
      expect(await handler.paymentStateOf(LOT, id)).toMatchObject({
        status: "authorized",
        lapsedAt: expect.any(String),
      });
    } finally {
      stripe.advanceClock(-nineDays);
    }
  });

  it("was held to Stripe's contract", () => {
    expect(stripe.violations()).toEqual([]);
  });
});
