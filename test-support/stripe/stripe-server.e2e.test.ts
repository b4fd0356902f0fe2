import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Stripe from "stripe";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../process.js";
import { killStripeServers, spawnStripeServer } from "./child.js";
import { encodeForm } from "./form.js";
import { type StripeServer, startStripeServer } from "./server.js";

/** The Stripe-contract server with the official SDK as its client, and its webhooks as received. */
const SECRET = "whsec_test_server";

let hooks: Server;
let received: { readonly event: Stripe.Event }[] = [];
let refusedSignatures = 0;
let stripeServer: StripeServer;
let stripe: Stripe;
const sdk = (port: number) =>
  new Stripe("sk_test_contract", { host: "127.0.0.1", port, protocol: "http", maxNetworkRetries: 0 });

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      try {
        const event = sdk(1).webhooks.constructEvent(body, String(req.headers["stripe-signature"]), SECRET);
        received.push({ event });
        res.writeHead(200).end();
      } catch {
        refusedSignatures += 1;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, "127.0.0.1", () => resolve()));
  stripeServer = await startStripeServer({
    webhookUrl: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/`,
    webhookSecret: SECRET,
  });
  stripe = sdk(stripeServer.port);
});

afterEach(async () => {
  await stripeServer.setOutage("none");
  stripeServer.setResponseDelay(0);
  stripeServer.holdAnswers(false);
  stripeServer.configureWebhooks({ hold: false, duplicates: 0, delayMs: 0 });
  stripeServer.webhooks.release();
  await stripeServer.webhooks.idle();
  received = [];
  await killStripeServers();
});

let mark = 0;
beforeEach(() => {
  mark = stripeServer.violations().length;
});
const newViolations = () => stripeServer.violations().slice(mark);

afterAll(async () => {
  await stripeServer.close();
  hooks.close();
});

/** Cards without redirects, as the service creates its intents (issue 47: no return_url needed). */
const CARDS_ONLY = { enabled: true, allow_redirects: "never" } as const;

const authorize = (amount: number, paymentMethod = "pm_card_visa", key?: string) =>
  stripe.paymentIntents.create(
    {
      amount,
      currency: "krw",
      capture_method: "manual",
      automatic_payment_methods: CARDS_ONLY,
      confirm: true,
      payment_method: paymentMethod,
      metadata: { reservationId: "r-1", parkingLotId: "lot-1" },
    },
    key ? { idempotencyKey: key } : {},
  );

const typesOf = (intentId: string) =>
  received
    .filter(
      (r) =>
        (r.event.data.object as { id?: string; payment_intent?: string }).id === intentId ||
        (r.event.data.object as { payment_intent?: string }).payment_intent === intentId,
    )
    .map((r) => r.event.type);

describe("the Stripe-contract server with the official SDK", () => {
  it("authorizes with manual capture, captures part, refunds, and sends each step as a signed webhook", async () => {
    const pi = await authorize(12_000);
    expect(pi).toMatchObject({
      status: "requires_capture",
      amount_capturable: 12_000,
      metadata: { reservationId: "r-1" },
    });
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 10_000 });
    expect(captured).toMatchObject({ status: "succeeded", amount_received: 10_000, amount_capturable: 0 });
    const refund = await stripe.refunds.create({
      payment_intent: pi.id,
      amount: 2_500,
      reason: "requested_by_customer",
    });
    expect(await stripe.refunds.retrieve(refund.id)).toMatchObject({ amount: 2_500, payment_intent: pi.id });
    await expect(stripe.refunds.create({ payment_intent: pi.id, amount: 7_501 })).rejects.toMatchObject({
      type: "StripeInvalidRequestError",
      code: "amount_too_large",
    });
    expect((await stripe.paymentIntents.retrieve(pi.id)).amount_received).toBe(10_000);
    await stripeServer.webhooks.idle();
    expect(typesOf(pi.id)).toEqual([
      "payment_intent.created",
      "payment_intent.amount_capturable_updated",
      "payment_intent.succeeded",
      "refund.created",
    ]);
    expect(refusedSignatures).toBe(0);
    const row = stripeServer.ledger().intents.find((i) => i.id === pi.id);
    expect(row).toMatchObject({ authorized: 12_000, captured: 10_000, released: 2_000, refunded: 2_500 });
    expect(stripeServer.ledgerProblems()).toEqual([]);
    expect(newViolations()).toEqual([]);
  });

  it("declines by test card and fails an off-session charge that needs authentication", async () => {
    await expect(authorize(5_000, "pm_card_visa_chargeDeclined")).rejects.toMatchObject({
      type: "StripeCardError",
      code: "card_declined",
      decline_code: "generic_decline",
      payment_intent: { status: "requires_payment_method" },
    });
    const customer = await stripe.customers.create({ payment_method: "pm_card_authenticationRequired" });
    await expect(
      stripe.paymentIntents.create({
        amount: 3_000,
        currency: "krw",
        customer: customer.id,
        payment_method: "pm_card_authenticationRequired",
        off_session: true,
        confirm: true,
        automatic_payment_methods: CARDS_ONLY,
      }),
    ).rejects.toMatchObject({ type: "StripeCardError", code: "authentication_required" });
    const charged = await stripe.paymentIntents.create({
      amount: 3_000,
      currency: "krw",
      payment_method: "pm_card_visa",
      off_session: true,
      confirm: true,
      automatic_payment_methods: CARDS_ONLY,
    });
    expect(charged).toMatchObject({ status: "succeeded", amount_received: 3_000 });
    expect(newViolations()).toEqual([]);
  });

  it("lets a client confirm with the client_secret and a publishable key, as Stripe.js does, and nothing more", async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 6_000,
      currency: "krw",
      capture_method: "manual",
      automatic_payment_methods: CARDS_ONLY,
    });
    expect(pi.status).toBe("requires_payment_method");
    const browser = new Stripe("pk_test_browser", {
      host: "127.0.0.1",
      port: stripeServer.port,
      protocol: "http",
    });
    await expect(
      browser.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" }),
    ).rejects.toMatchObject({
      statusCode: 401,
    });
    expect(newViolations()).toMatchObject([{ kind: "auth" }]);
    mark += 1;
    const confirmed = await browser.paymentIntents.confirm(pi.id, {
      payment_method: "pm_card_visa",
      client_secret: pi.client_secret ?? "",
    } as Stripe.PaymentIntentConfirmParams);
    expect(confirmed).toMatchObject({ id: pi.id, status: "requires_capture", amount_capturable: 6_000 });
    expect(newViolations()).toEqual([]);
  });

  it("a SetupIntent for a Customer, confirmed by Stripe.js with its client_secret only, retried after a decline, canceled (then final) (issue 71)", async () => {
    const customer = await stripe.customers.create({});
    const setup = await stripe.setupIntents.create({ customer: customer.id, usage: "off_session" });
    expect(setup.status).toBe("requires_payment_method");
    const browser = new Stripe("pk_test_browser", {
      host: "127.0.0.1",
      port: stripeServer.port,
      protocol: "http",
    });
    const confirm = (id: string, card: string, secret?: string) =>
      browser.setupIntents
        .confirm(id, {
          payment_method: card,
          ...(secret ? { client_secret: secret } : {}),
        } as Stripe.SetupIntentConfirmParams)
        .catch((error: Stripe.errors.StripeError) => error);
    expect(await confirm(setup.id, "pm_card_visa")).toMatchObject({ statusCode: 401 });
    expect(newViolations()).toMatchObject([{ kind: "auth" }]);
    mark += 1;
    expect(await confirm(setup.id, "pm_card_chargeDeclined", setup.client_secret ?? "")).toMatchObject({
      statusCode: 402,
    });
    expect(await confirm(setup.id, "pm_card_visa", setup.client_secret ?? "")).toMatchObject({
      status: "succeeded",
    });
    // Succeeded: no longer cancelable. Another, canceled while it waits, can no longer be confirmed.
    await expect(stripe.setupIntents.cancel(setup.id)).rejects.toMatchObject({
      code: "setup_intent_unexpected_state",
    });
    const other = await stripe.setupIntents.create({ customer: customer.id });
    expect(await stripe.setupIntents.cancel(other.id, { cancellation_reason: "abandoned" })).toMatchObject({
      status: "canceled",
      cancellation_reason: "abandoned",
    });
    expect(await confirm(other.id, "pm_card_visa", other.client_secret ?? "")).toMatchObject({
      statusCode: 400,
    });
    await stripeServer.webhooks.idle();
    const types = received
      .filter((r) => (r.event.data.object as { id?: string }).id === setup.id)
      .map((r) => r.event.type);
    expect(types).toEqual(["setup_intent.created", "setup_intent.setup_failed", "setup_intent.succeeded"]);
    expect(newViolations()).toEqual([]);
  });

  it("honours Idempotency-Key: the same request answers the same, other params are an idempotency_error", async () => {
    const first = await authorize(4_000, "pm_card_visa", "booking-1:authorize");
    const again = await authorize(4_000, "pm_card_visa", "booking-1:authorize");
    expect(again.id).toBe(first.id);
    await expect(authorize(4_001, "pm_card_visa", "booking-1:authorize")).rejects.toMatchObject({
      type: "StripeIdempotencyError",
    });
    expect(
      stripeServer.ledger().intents.filter((i) => i.amount === 4_000 || i.amount === 4_001),
    ).toHaveLength(1);
    expect(
      stripeServer
        .requests()
        .filter((r) => r.idempotencyKey === "booking-1:authorize")
        .map((r) => r.replayed),
    ).toEqual([false, true, false]);
  });

  it("records a request that breaks Stripe's contract (and refuses it as Stripe does)", async () => {
    const res = await fetch(`${stripeServer.url}/v1/payment_intents`, {
      method: "POST",
      headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded" },
      body: encodeForm({ amount: 100, currency: "krw", metadata: { reservationId: "r" }, reservation: "r" }),
    });
    expect(res.status).toBe(400);
    const after = newViolations();
    expect(after).toMatchObject([{ kind: "request", path: "/v1/payment_intents" }]);
    expect(after[0]?.detail.join()).toContain("reservation");
    await fetch(`${stripeServer.url}/v1/charges`, { headers: { authorization: "Bearer sk_test_x" } });
    expect(newViolations().slice(1)).toMatchObject([{ kind: "route", path: "/v1/charges" }]);
  });
});

describe("the test controls", () => {
  it("goes down (connections refused, then 503) and comes back with its state", async () => {
    const pi = await authorize(1_000);
    await stripeServer.setOutage("refuse");
    await expect(stripe.paymentIntents.retrieve(pi.id)).rejects.toMatchObject({
      type: "StripeConnectionError",
    });
    await stripeServer.setOutage(503);
    await expect(stripe.paymentIntents.capture(pi.id)).rejects.toMatchObject({
      type: "StripeAPIError",
      statusCode: 503,
    });
    await stripeServer.setOutage("none");
    expect(await stripe.paymentIntents.capture(pi.id)).toMatchObject({
      status: "succeeded",
      amount_received: 1_000,
    });
  });

  it("applies a request whose answer it then drops: the retry with the same key gets the first answer", async () => {
    await stripeServer.setOutage("drop-answer");
    await expect(authorize(1_500, "pm_card_visa", "drop-1")).rejects.toMatchObject({
      type: "StripeConnectionError",
    });
    await stripeServer.setOutage("none");
    const retried = await authorize(1_500, "pm_card_visa", "drop-1");
    expect(stripeServer.ledger().intents.filter((i) => i.amount === 1_500)).toMatchObject([
      { id: retried.id, authorized: 1_500 },
    ]);
    // The SDK may itself retry a reset connection once; whatever it did, only the last answer arrived.
    const statuses = stripeServer
      .requests()
      .filter((r) => r.idempotencyKey === "drop-1")
      .map((r) => r.status);
    expect(statuses.at(-1)).toBe(200);
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set(["dropped"]));
  });

  it("saves the 500 of a request it applied and replays it for 24 hours, then prunes the key", async () => {
    const pi = await authorize(2_500, "pm_card_visa", "fail-after-apply:authorize");
    await stripeServer.setOutage("fail-after-apply");
    const capture = () => stripe.paymentIntents.capture(pi.id, {}, { idempotencyKey: "fail-after:capture" });
    await expect(capture()).rejects.toMatchObject({ statusCode: 500 });
    await stripeServer.setOutage("none");
    // Applied: the intent is captured, but the key answers its saved 500 (https://docs.stripe.com/idempotency).
    expect(await stripe.paymentIntents.retrieve(pi.id)).toMatchObject({ status: "succeeded" });
    await expect(capture()).rejects.toMatchObject({ statusCode: 500 });
    stripeServer.advanceClock(24 * 3_600_000 + 1000);
    try {
      // Pruned: a new request, refused as a capture of a captured intent.
      await expect(capture()).rejects.toMatchObject({ code: "payment_intent_unexpected_state" });
    } finally {
      stripeServer.advanceClock(-(24 * 3_600_000 + 1000));
    }
    expect(
      stripeServer
        .requests()
        .filter((r) => r.idempotencyKey === "fail-after:capture")
        .map((r) => [r.status, r.replayed]),
    ).toEqual([
      [500, false],
      [500, true],
      [400, false],
    ]);
  });

  it("holds answers back: the request is applied (and told by webhook) before its caller hears of it", async () => {
    stripeServer.holdAnswers(true);
    const applied = stripeServer.nextApplied(
      (r) => r.path === "/v1/payment_intents" && r.idempotencyKey === "held-1",
    );
    const pending = authorize(1_800, "pm_card_visa", "held-1");
    const request = await applied;
    const id = String(request.body.id);
    expect(stripeServer.ledger().intents.find((i) => i.id === id)).toMatchObject({ authorized: 1_800 });
    expect(stripeServer.releaseAnswers()).toBe(1);
    stripeServer.holdAnswers(false);
    expect((await pending).id).toBe(id);
  });

  it("delivers a webhook before the API answer, duplicates, and out of order", async () => {
    stripeServer.setResponseDelay(300);
    const early = authorize(2_000);
    const firstHook = await new Promise<string>((resolve) => {
      const poll = setInterval(() => {
        const hit = received.find((r) => r.event.type === "payment_intent.amount_capturable_updated");
        if (hit) {
          clearInterval(poll);
          resolve((hit.event.data.object as { id: string }).id);
        }
      }, 10);
    });
    expect((await early).id).toBe(firstHook);
    stripeServer.setResponseDelay(0);
    stripeServer.configureWebhooks({ hold: true, duplicates: 1 });
    const pi = await authorize(2_500);
    await stripe.paymentIntents.capture(pi.id);
    expect(stripeServer.webhooks.heldEvents().map((e) => e.type)).toEqual([
      "payment_intent.created",
      "payment_intent.amount_capturable_updated",
      "payment_intent.succeeded",
    ]);
    stripeServer.webhooks.release("reverse");
    await stripeServer.webhooks.idle();
    const types = typesOf(pi.id);
    expect(types).toHaveLength(6);
    expect(new Set(types).size).toBe(3);
    expect(types.indexOf("payment_intent.succeeded")).toBeLessThan(types.indexOf("payment_intent.created"));
  });

  it("runs as a child process that a kill -9 and a restart leave with its intents and idempotent answers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stripe-server-"));
    try {
      const env = {
        PORT: String(await freePort()),
        CONTROL_PORT: String(await freePort()),
        STATE_FILE: join(dir, "state.json"),
      };
      const first = await spawnStripeServer(env);
      const client = sdk(Number(env.PORT));
      const params = {
        amount: 8_000,
        currency: "krw",
        capture_method: "manual" as const,
        automatic_payment_methods: CARDS_ONLY,
        confirm: true,
        payment_method: "pm_card_visa",
      };
      const pi = await client.paymentIntents.create(params, { idempotencyKey: "child-1" });
      first.child.kill("SIGKILL");
      await first.exited;
      await expect(client.paymentIntents.retrieve(pi.id)).rejects.toMatchObject({
        type: "StripeConnectionError",
      });
      const second = await spawnStripeServer(env);
      expect((await client.paymentIntents.create(params, { idempotencyKey: "child-1" })).id).toBe(pi.id);
      await client.paymentIntents.capture(pi.id, { amount_to_capture: 6_000 });
      const ledger = await second.server.ledger();
      expect(ledger.intents).toMatchObject([
        { id: pi.id, authorized: 8_000, captured: 6_000, released: 2_000 },
      ]);
      expect(ledger.problems).toEqual([]);
      expect(await second.server.violations()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
