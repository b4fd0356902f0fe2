import { describe, expect, it } from "vitest";
import { signatureHeader } from "../../test-support/stripe/webhooks.js";
import { stripeWebhookReader } from "./stripe-webhooks.js";

const SECRET = "whsec_unit";
const read = stripeWebhookReader(SECRET, "parking-reservations");
const intent = (fields: Record<string, unknown>) => ({
  id: "pi_123",
  object: "payment_intent",
  amount: 2000,
  amount_capturable: 0,
  currency: "krw",
  metadata: { reservationId: "R1", parkingLotId: "L1", parking_instance: "parking-reservations" },
  ...fields,
});
const event = (type: string, object: Record<string, unknown>) =>
  JSON.stringify({ id: "evt_1", object: "event", type, data: { object }, created: 1 });
const signed = (payload: string) => read(Buffer.from(payload), signatureHeader(payload, SECRET));

describe("Stripe's webhooks, read", () => {
  it("an authorization held (manual capture) authorizes the booking its metadata names", () => {
    expect(
      signed(event("payment_intent.amount_capturable_updated", intent({ amount_capturable: 2000 }))),
    ).toEqual({
      ok: true,
      eventId: "evt_1",
      command: {
        type: "AuthorizePayment",
        parkingLotId: "L1",
        reservationId: "R1",
        intentId: "pi_123",
        amount: 2000,
        currency: "KRW",
      },
    });
  });

  it("an authorization the customer confirmed with Stripe.js names the card it was confirmed with (issue 71: charged later)", () => {
    const confirmed = intent({ amount_capturable: 2000, payment_method: "pm_entered" });
    expect(signed(event("payment_intent.amount_capturable_updated", confirmed))).toMatchObject({
      command: { type: "AuthorizePayment", intentId: "pi_123", amount: 2000, paymentMethod: "pm_entered" },
    });
    const expanded = intent({
      amount_capturable: 2000,
      payment_method: { id: "pm_entered", object: "payment_method" },
    });
    expect(signed(event("payment_intent.amount_capturable_updated", expanded))).toMatchObject({
      command: { paymentMethod: "pm_entered" },
    });
    const odd = intent({ amount_capturable: 2000, payment_method: "pm entered; drop" });
    expect(signed(event("payment_intent.amount_capturable_updated", odd))).not.toHaveProperty(
      "command.paymentMethod",
    );
  });

  it("an intent canceled at Stripe (a hold that lapsed) records the hold let go (issue 71)", () => {
    const lapsed = intent({ status: "canceled", cancellation_reason: "automatic" });
    expect(signed(event("payment_intent.canceled", lapsed))).toEqual({
      ok: true,
      eventId: "evt_1",
      command: {
        type: "RecordHoldLapsed",
        parkingLotId: "L1",
        reservationId: "R1",
        intentId: "pi_123",
        because: "provider",
      },
    });
    // Another deployment's, or another application's, intent: nothing.
    const foreign = intent({ status: "canceled", metadata: { reservationId: "R1", parkingLotId: "L1" } });
    expect(signed(event("payment_intent.canceled", foreign))).toEqual({ ok: true, eventId: "evt_1" });
  });

  it("an off-session charge its customer came back and paid is that step's late success; a hold's capture is none (issue 71)", () => {
    const step = { reservationId: "R1", parkingLotId: "L1", parking_instance: "parking-reservations" };
    const paid = intent({
      status: "succeeded",
      amount_received: 1500,
      metadata: { ...step, parking_step: "k" },
    });
    expect(signed(event("payment_intent.succeeded", paid))).toEqual({
      ok: true,
      eventId: "evt_1",
      command: {
        type: "RecordLateCharge",
        parkingLotId: "L1",
        reservationId: "R1",
        intentId: "pi_123",
        amount: 1500,
        currency: "KRW",
      },
    });
    const captured = intent({ status: "succeeded", amount_received: 2000 });
    expect(signed(event("payment_intent.succeeded", captured))).toEqual({ ok: true, eventId: "evt_1" });
    const foreign = intent({ status: "succeeded", amount_received: 1500, metadata: { parking_step: "k" } });
    expect(signed(event("payment_intent.succeeded", foreign))).toEqual({ ok: true, eventId: "evt_1" });
  });

  it("a decline is the customer's try, recorded, failing nothing: they may try another card until the hold ends (issue 71)", () => {
    const failed = intent({
      last_payment_error: { code: "card_declined", decline_code: "insufficient_funds", message: "No funds." },
    });
    expect(signed(event("payment_intent.payment_failed", failed))).toEqual({
      ok: true,
      eventId: "evt_1",
      command: {
        type: "FailPayment",
        parkingLotId: "L1",
        reservationId: "R1",
        intentId: "pi_123",
        attempt: true,
        code: "insufficient_funds",
        message: "No funds.",
      },
    });
  });

  it("other types, and intents that are not a booking's, ask nothing", () => {
    expect(signed(event("payment_intent.created", intent({})))).toEqual({ ok: true, eventId: "evt_1" });
    expect(signed(event("payment_intent.payment_failed", intent({ metadata: {} })))).toEqual({
      ok: true,
      eventId: "evt_1",
    });
  });

  it("an intent of another deployment or application on the same account (naming another instance, or none) asks nothing; one naming this one does", () => {
    const capturable = (metadata: Record<string, string>) =>
      signed(
        event("payment_intent.amount_capturable_updated", intent({ amount_capturable: 2000, metadata })),
      );
    const booking = { reservationId: "R1", parkingLotId: "L1" };
    expect(capturable({ ...booking, parking_instance: "staging" })).toEqual({ ok: true, eventId: "evt_1" });
    expect(capturable({ ...booking, parking_instance: "parking-reservations" })).toMatchObject({
      command: { type: "AuthorizePayment", reservationId: "R1" },
    });
    expect(capturable(booking)).toEqual({ ok: true, eventId: "evt_1" });
  });

  it("a timestamp beyond Stripe's tolerance ahead of the clock is refused, as one behind it is (issue 71)", () => {
    const payload = event("payment_intent.amount_capturable_updated", intent({ amount_capturable: 2000 }));
    const now = Math.floor(Date.now() / 1000);
    const at = (t: number) => read(Buffer.from(payload), signatureHeader(payload, SECRET, t));
    expect(at(now + 600)).toMatchObject({ ok: false });
    expect(at(now - 600)).toMatchObject({ ok: false });
    expect(at(now + 60)).toMatchObject({ ok: true, command: { type: "AuthorizePayment" } });
  });

  it("a signed event of a type it acts on that is not shaped as Stripe's is refused as the body (a 400, not a 500)", () => {
    for (const object of [
      intent({ id: undefined, amount_capturable: 2000 }),
      intent({ id: 42 }),
      intent({ amount_capturable: "2000" }),
      intent({ currency: undefined }),
    ])
      expect(signed(event("payment_intent.amount_capturable_updated", object))).toMatchObject({
        ok: false,
        field: "body",
      });
    const noObject = JSON.stringify({
      id: "evt_1",
      object: "event",
      type: "payment_intent.amount_capturable_updated",
    });
    expect(signed(noObject)).toMatchObject({ ok: false, field: "body" });
  });

  it("a missing signature, another secret's, or a changed body is refused", () => {
    const payload = event("payment_intent.amount_capturable_updated", intent({ amount_capturable: 2000 }));
    expect(read(Buffer.from(payload), undefined)).toMatchObject({ ok: false });
    expect(read(Buffer.from(payload), signatureHeader(payload, "whsec_other"))).toMatchObject({ ok: false });
    const changed = payload.replace("2000", "1");
    expect(read(Buffer.from(changed), signatureHeader(payload, SECRET))).toMatchObject({ ok: false });
  });
});

describe("a SetupIntent's webhooks (issue 71: saving a card asked for its customer)", () => {
  const setup = (fields: Record<string, unknown>) => ({
    id: "seti_123",
    object: "setup_intent",
    status: "succeeded",
    last_setup_error: null,
    metadata: {
      reservationId: "R1",
      parkingLotId: "L1",
      amount: "5000",
      currency: "KRW",
      parking_instance: "parking-reservations",
    },
    ...fields,
  });
  const booking = { parkingLotId: "L1", reservationId: "R1", intentId: "seti_123" };

  it("succeeded saves the card: what is to be held, as its metadata says", () => {
    expect(signed(event("setup_intent.succeeded", setup({})))).toEqual({
      ok: true,
      eventId: "evt_1",
      command: { type: "AuthorizePayment", ...booking, amount: 5000, currency: "KRW" },
    });
  });

  it("succeeded names the card it saved (one the customer entered with Stripe.js: held and charged later)", () => {
    expect(signed(event("setup_intent.succeeded", setup({ payment_method: "pm_123" })))).toMatchObject({
      command: { type: "AuthorizePayment", ...booking, paymentMethod: "pm_123" },
    });
  });

  it("setup_failed is the customer's try, failing nothing (issue 71); another deployment's asks nothing; an id not a SetupIntent's is refused", () => {
    const failed = setup({ status: "requires_payment_method", last_setup_error: { code: "card_declined" } });
    expect(signed(event("setup_intent.setup_failed", failed))).toEqual({
      ok: true,
      eventId: "evt_1",
      command: { type: "FailPayment", ...booking, attempt: true, code: "card_declined" },
    });
    const foreign = setup({ metadata: { reservationId: "R1", parkingLotId: "L1" } });
    expect(signed(event("setup_intent.succeeded", foreign))).toEqual({ ok: true, eventId: "evt_1" });
    expect(signed(event("setup_intent.succeeded", setup({ id: "pi_1" })))).toMatchObject({
      ok: false,
      field: "body",
    });
  });
});
