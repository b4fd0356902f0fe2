import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { customerHeaders } from "../test-support/auth.js";
import { type ServiceProcess, spawnService } from "../test-support/process.js";
import { call, tempDataDir } from "../test-support/service.js";
import { type StripeServer, startStripeServer } from "../test-support/stripe/server.js";

/**
 * Exactly once across kill -9 (issue 38): the service runs as a real process (PAYMENTS=stripe,
 * its processors in their worker thread) against the Stripe-contract server, which applies the
 * authorization, then the capture, and holds each answer back while the test kills the service
 * with SIGKILL: the provider moved the money, the log does not know it yet. The restarted service
 * asks again with the same idempotency key, gets the same answer, and records it once: one
 * intent, one authorization, one capture.
 */
const SECRET = "whsec_payments_crash";
const HOUR = 3_600_000;

describe("payments across kill -9", () => {
  const data = tempDataDir("parking-payments-crash-");
  let stripe: StripeServer;
  let service: ServiceProcess | undefined;
  const start = async () => {
    service = await spawnService({
      DATA_DIR: data.dir,
      PAYMENTS: "stripe",
      STRIPE_API_BASE: stripe.url,
      STRIPE_SECRET_KEY: "sk_test_payments_crash",
      STRIPE_WEBHOOK_SECRET: SECRET,
      PAYMENT_RETRY_SCALE: "0.01",
      // The killed process's leases lapse quickly, so the restarted one takes the saga over at once.
      PROCESSOR_LEASE_TTL_MS: "1000",
      PROCESSOR_LEASE_RENEW_MS: "250",
    });
    return service;
  };
  const kill = async () => {
    service?.child.kill("SIGKILL");
    await service?.exited;
    service = undefined;
  };

  beforeAll(async () => {
    // No webhooks: the process manager's own retry must be what records the fact.
    stripe = await startStripeServer({ webhookSecret: SECRET });
  });
  afterEach(() => stripe.holdAnswers(false));
  afterAll(async () => {
    await kill();
    await stripe?.close();
    data.remove();
  });

  it("the authorization and the capture, each applied by the provider while the service is killed, are recorded once", async () => {
    let running = await start();
    const lot = { parkingLotId: "crash-1", name: "크래시 주차장", capacity: 2, hourlyRate: 1000 };
    expect((await call(running.url, "POST", "/parking-lots", lot)).status).toBe(201);
    const key = (req: { method: string; path: string; idempotencyKey: string | null }, path: RegExp) =>
      req.method === "POST" && path.test(req.path) && req.idempotencyKey !== null;

    // Issue 71: the customer's Stripe Customer is made first and answered; the intent's answer is held.
    stripe.holdAnswers(true, (r) => r.path.startsWith("/v1/payment_intents"));
    const authorizing = stripe.nextApplied((r) => key(r, /^\/v1\/payment_intents$/));
    const startsAt = Math.floor(Date.now() / 60_000) * 60_000;
    const booked = await call<{ reservationId: string; status: string }>(
      running.url,
      "POST",
      "/parking-lots/crash-1/reservations",
      {
        carNumber: "34나5678",
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(startsAt + HOUR).toISOString(),
        paymentMethod: "pm_card_visa",
      },
      await customerHeaders(data.dir, "CUST-CRASH"),
    );
    expect(booked.body.status).toBe("PENDING_PAYMENT");
    const id = booked.body.reservationId;
    const authorization = await authorizing;
    await kill(); // the provider authorized; the answer never reached the service
    stripe.holdAnswers(false);

    running = await start();
    const history = async () =>
      (
        await call<{ items: { type: string }[] }>(running.url, "GET", `/reservations/${id}/history`)
      ).body.items.map((i) => i.type);
    await expect.poll(history, { timeout: 20_000, interval: 100 }).toContain("PaymentAuthorized");
    const intents = () => stripe.ledger().intents.filter((i) => i.metadata.reservationId === id);
    expect(intents()).toHaveLength(1);
    const creates = stripe.requests().filter((r) => r.idempotencyKey === authorization.idempotencyKey);
    expect(creates.length).toBeGreaterThanOrEqual(2);
    expect(creates.slice(1).every((r) => r.replayed)).toBe(true);

    expect(
      (await call(running.url, "POST", `/parking-lots/crash-1/reservations/${id}/check-in`)).status,
    ).toBe(200);
    stripe.holdAnswers(true);
    const capturing = stripe.nextApplied((r) => key(r, /\/capture$/));
    expect(
      (await call(running.url, "POST", `/parking-lots/crash-1/reservations/${id}/check-out`)).status,
    ).toBe(200);
    await capturing;
    await kill(); // the provider captured; the fact is not in the log
    stripe.holdAnswers(false);

    running = await start();
    await expect.poll(history, { timeout: 20_000, interval: 100 }).toContain("PaymentCaptured");
    const types = await history();
    expect(types.filter((t) => t === "PaymentAuthorized")).toHaveLength(1);
    expect(types.filter((t) => t === "PaymentCaptured")).toHaveLength(1);
    expect(intents()).toEqual([expect.objectContaining({ captured: 1000, refunded: 0, held: 0 })]);
    expect(stripe.violations()).toEqual([]);
    expect(stripe.ledgerProblems()).toEqual([]);
  });
});
