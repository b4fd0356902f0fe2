import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorize } from "../../test-support/stripe/payer.js";
import { type StripeServer, startStripeServer } from "../../test-support/stripe/server.js";
import { stepKey } from "./provider.js";
import { translateStripeError } from "./stripe-calls.js";
import { stripeClient, stripeProvider } from "./stripe-provider.js";

/** The Stripe adapter against the Stripe-contract server: every request and answer is checked against Stripe's OpenAPI document. */

let server: StripeServer;
let provider: ReturnType<typeof stripeProvider>;
const metadata = { reservationId: "res-1", parkingLotId: "lot-1" };

beforeAll(async () => {
  server = await startStripeServer();
  provider = stripeProvider(
    stripeClient({ secretKey: "sk_test_payments_core", apiBase: server.url }),
    "parking-reservations",
  );
});
afterAll(async () => {
  await server.setOutage("none");
  await server.close();
});

describe("the Stripe provider", () => {
  it("authorizes with a saved card (manual capture, the booking in metadata), captures part, releases the rest, refunds at most the capture", async () => {
    const authorized = await authorize(provider, {
      amount: 5000,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata,
      idempotencyKey: stepKey("ev-1", "authorize"),
    });
    expect(authorized).toMatchObject({ ok: true, value: { status: "authorized", amount: 5000 } });
    if (!authorized.ok) return;
    const intentId = authorized.value.intentId;
    const captured = await provider.capture(intentId, 3000, stepKey("ev-2", "capture"));
    expect(captured).toEqual({ ok: true, value: { captured: 3000 } });
    const refunded = await provider.refund(intentId, 1000, stepKey("ev-3", "refund"));
    expect(refunded).toMatchObject({ ok: true, value: { refunded: 1000 } });
    const tooMuch = await provider.refund(intentId, 2500, stepKey("ev-4", "refund"));
    expect(tooMuch).toMatchObject({ ok: false, kind: "refused" });
    const row = server.ledger().intents.find((i) => i.id === intentId);
    expect(row).toMatchObject({
      captureMethod: "manual",
      metadata,
      authorized: 5000,
      captured: 3000,
      released: 2000,
      refunded: 1000,
    });
  });

  it("names its deployment on every intent, and lists none of another deployment's on the same account", async () => {
    const staging = stripeProvider(
      stripeClient({ secretKey: "sk_test_payments_core", apiBase: server.url }),
      "staging",
    );
    const ours = await authorize(provider, {
      amount: 2500,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata: { reservationId: "res-ours", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-inst-1", "authorize"),
    });
    const theirs = await authorize(staging, {
      amount: 2500,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata: { reservationId: "res-theirs", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-inst-2", "authorize"),
    });
    if (!ours.ok || !theirs.ok) throw new Error("not authorized");
    expect(server.ledger().intents.find((i) => i.id === theirs.value.intentId)?.metadata).toMatchObject({
      parking_instance: "staging",
    });
    const open = await provider.listIntents?.(0, 100);
    if (!open?.ok) throw new Error("no list");
    const listed = (id: string) => open.value.intents.find((i) => i.intentId === id);
    expect(listed(ours.value.intentId)).toMatchObject({
      status: "authorized",
      metadata: { reservationId: "res-ours", parkingLotId: "lot-1" },
    });
    // Not listed: the reconciliation leaves what it cannot name alone.
    expect(listed(theirs.value.intentId)).toBeUndefined();
    expect(await provider.retrieveIntent?.(theirs.value.intentId)).toEqual({ ok: true, value: undefined });
    // Issue 71: nor one naming no instance (another application on the account), whatever it claims.
    const unnamed = await stripeClient({
      secretKey: "sk_test_other_app",
      apiBase: server.url,
    }).paymentIntents.create({
      amount: 2500,
      currency: "krw",
      capture_method: "manual",
      automatic_payment_methods: { enabled: true, allow_redirects: "never" },
      payment_method: "pm_card_visa",
      confirm: true,
      metadata: { reservationId: "res-ours", parkingLotId: "lot-1" },
    });
    const again = await provider.listIntents?.(0, 100);
    if (!again?.ok) throw new Error("no list");
    expect(again.value.intents.find((i) => i.intentId === unnamed.id)).toBeUndefined();
    expect(again.value.intents.find((i) => i.intentId === ours.value.intentId)).toBeDefined();
  });

  it("answers a repeated step with the first answer: the same key never charges twice", async () => {
    const request = {
      amount: 4000,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata: { reservationId: "res-2", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-10", "authorize"),
    };
    const first = await authorize(provider, request);
    const again = await authorize(provider, request);
    expect(again).toEqual(first);
    expect(server.ledger().intents.filter((i) => i.metadata.reservationId === "res-2")).toHaveLength(1);
  });

  it("leaves an intent without a saved method pending, with the clientSecret for Stripe.js; releases it", async () => {
    const pending = await authorize(provider, {
      amount: 2000,
      currency: "KRW",
      metadata: { reservationId: "res-3", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-20", "authorize"),
    });
    expect(pending).toMatchObject({ ok: true, value: { status: "pending", amount: 2000 } });
    expect(pending.ok && pending.value.clientSecret).toMatch(/_secret_/);
    if (!pending.ok) return;
    const released = await provider.release(pending.value.intentId, stepKey("ev-21", "release"));
    expect(released.ok).toBe(true);
  });

  it("reads a declined card as declined, with the decline code", async () => {
    const declined = await authorize(provider, {
      amount: 3000,
      currency: "KRW",
      paymentMethod: "pm_card_chargeDeclinedInsufficientFunds",
      metadata,
      idempotencyKey: stepKey("ev-30", "authorize"),
    });
    expect(declined).toMatchObject({ ok: false, kind: "declined", code: "insufficient_funds" });
  });

  it("charges a saved card off-session (an overstay), and declines one that needs the customer", async () => {
    const charged = await provider.chargeOffSession({
      amount: 1500,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata,
      idempotencyKey: stepKey("ev-40", "overstay"),
    });
    expect(charged).toMatchObject({ ok: true, value: { charged: 1500 } });
    const needsCustomer = await provider.chargeOffSession({
      amount: 1500,
      currency: "KRW",
      paymentMethod: "pm_card_authenticationRequired",
      metadata,
      idempotencyKey: stepKey("ev-41", "overstay"),
    });
    expect(needsCustomer).toMatchObject({ ok: false, kind: "declined", code: "authentication_required" });
  });

  it("answers a hold off-session that asks for the customer (authentication_required) as pending, with the intent's client secret; completed on session, it holds (issue 71)", async () => {
    const held = await provider.authorizeOffSession({
      amount: 5000,
      currency: "KRW",
      paymentMethod: "pm_card_authenticationRequired",
      metadata: { reservationId: "res-3ds", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-3ds", "authorize"),
    });
    expect(held).toMatchObject({ ok: true, value: { status: "pending", amount: 5000 } });
    if (!held.ok) return;
    const { intentId, clientSecret } = held.value;
    expect(clientSecret).toMatch(new RegExp(`^${intentId}_secret_`));
    // The customer, back on session, confirms it (3-D Secure asked, then completed): it holds.
    const again = await provider.confirm(intentId, "pm_card_authenticationRequired", "3ds-on-session");
    expect(again).toMatchObject({ ok: true, value: { status: "pending" } });
    server.authenticate(intentId);
    expect(server.ledger().intents.find((i) => i.id === intentId)).toMatchObject({ held: 5000 });
  });

  it("reads Stripe down (5xx, no connection) as retryable, and the same key succeeds once it is back", async () => {
    const request = {
      amount: 1000,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata: { reservationId: "res-5", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-50", "authorize"),
    };
    await server.setOutage(503);
    expect(await authorize(provider, request)).toMatchObject({ ok: false, kind: "retryable" });
    await server.setOutage("refuse");
    expect(await authorize(provider, request)).toMatchObject({ ok: false, kind: "retryable" });
    await server.setOutage("none");
    expect(await authorize(provider, request)).toMatchObject({ ok: true, value: { status: "authorized" } });
  });

  it("reads a capture Stripe applied but answered 500 as captured: from the intent, through the saved 500 and after its key is pruned (issue 71)", async () => {
    const authorized = await authorize(provider, {
      amount: 4000,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata: { reservationId: "res-unclear", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-unclear", "authorize"),
    });
    if (!authorized.ok) throw new Error("not authorized");
    const { intentId } = authorized.value;
    const key = stepKey("ev-unclear-end", "capture");
    await server.setOutage("fail-after-apply");
    try {
      // Applied, answered 500, and the intent cannot be read either: try again later.
      expect(await provider.capture(intentId, 4000, key)).toMatchObject({ ok: false, kind: "retryable" });
    } finally {
      await server.setOutage("none");
    }
    expect(server.ledger().intents.find((i) => i.id === intentId)).toMatchObject({ captured: 4000 });
    // The same key replays the saved 500; the intent says it is captured.
    expect(await provider.capture(intentId, 4000, key)).toEqual({ ok: true, value: { captured: 4000 } });
    server.advanceClock(25 * 3_600_000);
    try {
      // The key pruned, Stripe refuses a capture of a captured intent: still captured.
      expect(await provider.capture(intentId, 4000, key)).toEqual({ ok: true, value: { captured: 4000 } });
    } finally {
      server.advanceClock(-25 * 3_600_000);
    }
    const replays = server.requests().filter((r) => r.idempotencyKey === key);
    expect(replays.map((r) => [r.status, r.replayed])).toEqual([
      [500, false],
      [500, true],
      [400, false],
    ]);
  });

  it("reads a confirm and a cancel Stripe applied but answered 500 as the intent says: authorized, released (issue 71)", async () => {
    const created = await provider.createIntent({
      amount: 3000,
      currency: "KRW",
      metadata: { reservationId: "res-unclear-2", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-unclear-2", "authorize"),
    });
    if (!created.ok) throw new Error("no intent");
    const { intentId } = created.value;
    const confirm = () => provider.confirm(intentId, "pm_card_visa", stepKey("ev-unclear-2", "confirm"));
    const release = () => provider.release(intentId, stepKey("ev-unclear-2-end", "void"));
    await server.setOutage("fail-after-apply");
    try {
      // Applied, answered 500, and the intent cannot be read either: try again later.
      expect(await confirm()).toMatchObject({ ok: false, kind: "retryable" });
    } finally {
      await server.setOutage("none");
    }
    // The same key replays the saved 500 for 24 hours; the intent says it is authorized.
    expect(await confirm()).toMatchObject({
      ok: true,
      value: { intentId, status: "authorized", amount: 3000 },
    });
    // The cancel of an earlier attempt applied and answered 500 (saved under the step's key).
    const sdk = stripeClient({ secretKey: "sk_test_payments_core", apiBase: server.url });
    await server.setOutage("fail-after-apply");
    const key = stepKey("ev-unclear-2-end", "void");
    await sdk.paymentIntents
      .cancel(intentId, { cancellation_reason: "abandoned" }, { idempotencyKey: key })
      .catch(() => undefined);
    await server.setOutage("none");
    expect(server.ledger().intents.find((i) => i.id === intentId)).toMatchObject({ released: 3000, held: 0 });
    // The retry's cancel replays the saved 500; the intent says it is canceled: nothing left held.
    expect(await release()).toEqual({ ok: true, value: { released: 0 } });
  });

  it("reads a refund Stripe made but answered 500 from the intent's refunds: never refunded twice once the key is pruned (issue 71)", async () => {
    const authorized = await authorize(provider, {
      amount: 5000,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata: { reservationId: "res-unclear-3", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-unclear-3", "authorize"),
    });
    if (!authorized.ok) throw new Error("not authorized");
    const { intentId } = authorized.value;
    expect(await provider.capture(intentId, 5000, stepKey("ev-unclear-3-end", "capture"))).toMatchObject({
      ok: true,
    });
    const key = stepKey("ev-unclear-3-refund", "refund");
    const refund = () => provider.refund(intentId, 2000, key);
    await server.setOutage("fail-after-apply");
    try {
      expect(await refund()).toMatchObject({ ok: false, kind: "retryable" });
    } finally {
      await server.setOutage("none");
    }
    // The saved 500 replayed, then (24 hours on) the key pruned: the refund made is found, none made again.
    expect(await refund()).toMatchObject({ ok: true, value: { refunded: 2000 } });
    server.advanceClock(25 * 3_600_000);
    try {
      expect(await refund()).toMatchObject({ ok: true, value: { refunded: 2000 } });
    } finally {
      server.advanceClock(-25 * 3_600_000);
    }
    expect(server.ledger().intents.find((i) => i.id === intentId)).toMatchObject({
      captured: 5000,
      refunded: 2000,
    });
  });

  it("lists its intents a page at a time, each page naming where the next begins (issue 71: bounded, resumable)", async () => {
    const first = await provider.listIntents?.(0, 2);
    if (!first?.ok) throw new Error("no list");
    expect(first.value.next).toMatch(/^pi_/);
    const second = await provider.listIntents?.(0, 2, first.value.next);
    if (!second?.ok) throw new Error("no list");
    const ids = (page: typeof first.value) => page.intents.map((i) => i.intentId);
    expect(ids(second.value).some((id) => ids(first.value).includes(id))).toBe(false);
    // The capture Stripe applied but answered 500 (the test before) reads captured, with what it took.
    const listed = [...first.value.intents, ...second.value.intents];
    expect(listed.find((i) => i.metadata.reservationId === "res-unclear")).toMatchObject({
      status: "captured",
      held: 0,
      received: 4000,
    });
  });

  it("charges and holds off-session once: one Stripe made but answered 500 is found by its step's key, never made again once the key is pruned (issue 71)", async () => {
    const request = (reservationId: string, step: "overstay" | "authorize") => ({
      amount: 1500,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata: { reservationId, parkingLotId: "lot-1" },
      idempotencyKey: stepKey(`ev-unclear-${reservationId}`, step),
    });
    const charge = () => provider.chargeOffSession(request("res-unclear-charge", "overstay"));
    const hold = () => provider.authorizeOffSession(request("res-unclear-hold", "authorize"));
    await server.setOutage("fail-after-apply");
    try {
      expect(await charge()).toMatchObject({ ok: false, kind: "retryable" });
      expect(await hold()).toMatchObject({ ok: false, kind: "retryable" });
    } finally {
      await server.setOutage("none");
    }
    // 24 hours on the key is pruned: a retry would make a second intent; the first is found instead.
    server.advanceClock(25 * 3_600_000);
    try {
      expect(await charge()).toMatchObject({ ok: true, value: { charged: 1500 } });
      expect(await hold()).toMatchObject({ ok: true, value: { status: "authorized", amount: 1500 } });
    } finally {
      server.advanceClock(-25 * 3_600_000);
    }
    const of = (reservationId: string) =>
      server.ledger().intents.filter((i) => i.metadata?.reservationId === reservationId);
    expect(of("res-unclear-charge")).toHaveLength(1);
    expect(of("res-unclear-charge")[0]).toMatchObject({ captured: 1500 });
    expect(of("res-unclear-hold")).toHaveLength(1);
    expect(of("res-unclear-hold")[0]).toMatchObject({ held: 1500 });
  });

  it("was held to Stripe's contract: no request or answer broke the OpenAPI document", () => {
    expect(server.violations()).toEqual([]);
  });

  it("rethrows what is not Stripe's answer (a bug is not a payment outcome)", () => {
    expect(() => translateStripeError(new TypeError("bug"))).toThrow(TypeError);
    const auth = new Stripe.errors.StripeAuthenticationError({
      message: "bad key",
      type: "authentication_error",
      statusCode: 401,
    });
    expect(translateStripeError(auth)).toMatchObject({ ok: false, kind: "refused" });
    const busy = new Stripe.errors.StripeRateLimitError({
      message: "slow down",
      type: "rate_limit_error",
      statusCode: 429,
    });
    expect(translateStripeError(busy)).toMatchObject({ ok: false, kind: "retryable" });
  });

  it("answers a capture after the authorization lapsed (seven days, canceled `automatic`) as lapsed; the saved card is charged off-session", async () => {
    const authorized = await authorize(provider, {
      amount: 6000,
      currency: "KRW",
      paymentMethod: "pm_card_visa",
      metadata: { reservationId: "res-lapse", parkingLotId: "lot-1" },
      idempotencyKey: stepKey("ev-lapse", "authorize"),
    });
    if (!authorized.ok) throw new Error("not authorized");
    const intentId = authorized.value.intentId;
    const week = 8 * 24 * 3600 * 1000;
    server.advanceClock(week);
    try {
      const captured = await provider.capture(intentId, 3000, stepKey("ev-lapse-end", "capture"));
      expect(captured).toMatchObject({ ok: false, kind: "lapsed" });
      // Issue 71: the reconciliation's listing, and the intent retrieved, name it canceled, with its booking.
      const listed = await provider.listIntents?.(Math.floor(Date.now() / 1000) - 3600, 100);
      const lapsed = {
        intentId,
        status: "canceled",
        metadata: { reservationId: "res-lapse", parkingLotId: "lot-1" },
      };
      expect(listed?.ok && listed.value.intents.find((i) => i.intentId === intentId)).toMatchObject(lapsed);
      expect(await provider.retrieveIntent?.(intentId)).toMatchObject({ ok: true, value: lapsed });
      expect(await provider.release(intentId, stepKey("ev-lapse-end", "release"))).toEqual({
        ok: true,
        value: { released: 0 },
      });
      const charge = {
        amount: 3000,
        currency: "KRW",
        paymentMethod: "pm_card_visa",
        metadata: { reservationId: "res-lapse", parkingLotId: "lot-1" },
        idempotencyKey: stepKey("ev-lapse-end", "lapsed-capture"),
      };
      const charged = await provider.chargeOffSession(charge);
      expect(charged).toMatchObject({ ok: true, value: { charged: 3000 } });
      expect(await provider.chargeOffSession(charge)).toEqual(charged); // the same key: charged once
      const rows = server.ledger().intents.filter((i) => i.metadata.reservationId === "res-lapse");
      expect(rows.map((r) => [r.offSession, r.captured, r.released, r.held])).toEqual([
        [false, 0, 6000, 0],
        [true, 3000, 0, 0],
      ]);
      // A card that asks for authentication on every charge is declined off-session.
      const declined = await provider.chargeOffSession({
        ...charge,
        paymentMethod: "pm_card_authenticationRequired",
        idempotencyKey: stepKey("ev-lapse-3ds", "lapsed-capture"),
      });
      expect(declined).toMatchObject({ ok: false, kind: "declined", code: "authentication_required" });
    } finally {
      server.advanceClock(-week);
    }
  });
});
