import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPaymentProcess } from "../projections/payments/payment-due.js";
import {
  PAYMENT_CLIENT_SECRETS,
  PAYMENT_CUSTOMERS,
  PAYMENT_METHODS,
} from "../projections/payments/payment-inbox.js";
import {
  ANONYMOUS,
  bearer,
  customerHeaders,
  mintToken,
  operatorHeaders,
  registerServiceDataDir,
  signInUrl,
} from "../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir, testConfig } from "../test-support/service.js";
import { type StripeServer, startStripeServer } from "../test-support/stripe/server.js";
import { type RunningService, startService } from "./server.js";

/**
 * `POST /customers/{customerId}/erasure` over HTTP (issue 36): who may call it, and what every view
 * shows afterwards: `erased` for the customer's id and plates, everything else as it was.
 */
describe("erasing a customer's personal data", () => {
  const data = tempDataDir("parking-erasure-");
  let service: RunningService;
  const booked: Record<string, { reservationId: string; position: string }> = {};
  /** The service's log, every line as written (LOG_LEVEL=info: one access line per request). */
  const logLines: string[] = [];
  /** A browser session of erase-cust-a, signed in before the erasure. */
  let sessionCookie = "";
  /** erase-cust-a's pseudonym, as the erasure answered it. */
  let subject = "";

  beforeAll(async () => {
    const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });
    service = await startService(testConfig(data.dir, { LOG_LEVEL: "info" }), logger);
    registerServiceDataDir(service.url, data.dir);
    const link = new URL(await signInUrl(data.dir, service.url, { sub: "erase-cust-a", role: "customer" }));
    const signedIn = await fetch(`${service.url}/sign-in${link.search}`, { redirect: "manual" });
    sessionCookie = signedIn.headers.get("set-cookie")?.split(";")[0] ?? "";
    expect(sessionCookie).toMatch(/^parking_session=/);
    const lot = { parkingLotId: "erase-1", name: "지우기 주차장", capacity: 10 };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
    for (const [customer, carNumber] of [
      ["erase-cust-a", "12가3456"],
      ["erase-cust-b", "34나5678"],
    ] as const) {
      const answer = await call<{ reservationId: string; position: string }>(
        service.url,
        "POST",
        "/parking-lots/erase-1/reservations",
        { carNumber, amount: 7000 },
        await customerHeaders(data.dir, customer),
      );
      expect(answer.status).toBe(201);
      booked[customer] = answer.body;
    }
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  const erase = async (customerId: string, headers: Record<string, string>, body?: unknown) =>
    call(service.url, "POST", `/customers/${encodeURIComponent(customerId)}/erasure`, body, headers);

  it("refuses another customer, an attendant, a lot-scoped operator, and an operator without a reason", async () => {
    expect((await erase("erase-cust-a", await customerHeaders(data.dir, "erase-cust-b"))).status).toBe(403);
    const attendant = bearer(
      await mintToken(data.dir, { sub: "att-1", role: "attendant", lots: ["erase-1"] }),
    );
    expect((await erase("erase-cust-a", attendant)).status).toBe(403);
    const scoped = bearer(
      await mintToken(data.dir, { sub: "ops-scoped", role: "operator", lots: ["erase-1"] }),
    );
    expect((await erase("erase-cust-a", scoped, { reason: "asked" })).status).toBe(403);
    const noReason = await erase("erase-cust-a", await operatorHeaders(data.dir), {});
    expect(noReason.status).toBe(400);
    expect(JSON.stringify(noReason.body)).toContain("body.reason");
    // Nothing was erased by the refusals.
    const reservation = await call<{ customerId: string; carNumber: string }>(
      service.url,
      "GET",
      `/reservations/${booked["erase-cust-a"]?.reservationId}`,
    );
    expect(reservation.body).toMatchObject({ customerId: "erase-cust-a", carNumber: "12가3456" });
  });

  it("lets the customer erase themself: every view shows erased, the other customer and the counts stay", async () => {
    const before = await call<{ availableSpots: number }>(service.url, "GET", "/parking-lots/erase-1");
    // The session works until the erasure.
    expect(
      (await call(service.url, "GET", "/reservations", undefined, { ...ANONYMOUS, cookie: sessionCookie }))
        .status,
    ).toBe(200);
    const answer = await erase("erase-cust-a", await customerHeaders(data.dir, "erase-cust-a"));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ customerId: "erase-cust-a", erasedReservations: 1 });
    subject = String(answer.body.subject);
    const position = String(answer.body.position);
    const mine = booked["erase-cust-a"]?.reservationId;
    const reservation = await eventually(async () => {
      const found = await call<{ customerId: string; carNumber: string; amount: number }>(
        service.url,
        "GET",
        `/reservations/${mine}?minPosition=${position}`,
      );
      expect(found.body.customerId).toBe("erased");
      return found.body;
    });
    expect(reservation).toMatchObject({ customerId: "erased", carNumber: "erased", amount: 7000 });
    const other = await call(service.url, "GET", `/reservations/${booked["erase-cust-b"]?.reservationId}`);
    expect(other.body).toMatchObject({ customerId: "erase-cust-b", carNumber: "34나5678" });
    const after = await call<{ availableSpots: number }>(service.url, "GET", "/parking-lots/erase-1");
    expect(after.body.availableSpots).toBe(before.body.availableSpots);
    // The audit trail reads the log: the plate and the id are gone from it too.
    const history = await call(service.url, "GET", `/reservations/${mine}/history`);
    expect(history.status).toBe(200);
    const text = JSON.stringify(history.body);
    expect(text).not.toContain("12가3456");
    expect(text).not.toContain("erase-cust-a");
    expect(text).toContain("erased");
    // The plate cannot be found by a part of it any more.
    const search = await call<{ items: unknown[] }>(
      service.url,
      "GET",
      `/reservations?carNumber=${encodeURIComponent("3456")}&minPosition=${position}`,
    );
    expect(search.body.items).toEqual([]);
  });

  it("refuses the erased customer's token on every command and read (403 customer-erased), appending nothing", async () => {
    const token = await customerHeaders(data.dir, "erase-cust-a");
    const mine = booked["erase-cust-a"]?.reservationId;
    const before = await call<{ availableSpots: number }>(service.url, "GET", "/parking-lots/erase-1");
    const refused = [
      await call(
        service.url,
        "POST",
        "/parking-lots/erase-1/reservations",
        { carNumber: "78라9012", amount: 7000 },
        token,
      ),
      await call(service.url, "DELETE", `/parking-lots/erase-1/reservations/${mine}`, undefined, token),
      await call(service.url, "GET", "/reservations", undefined, token),
      await call(service.url, "GET", `/reservations/${mine}`, undefined, token),
      await call(service.url, "GET", "/customers/erase-cust-a/coupons", undefined, token),
      await erase("erase-cust-a", token),
      // Public reads too: the token is refused as a token, wherever it is sent.
      await call(service.url, "GET", "/parking-lots/erase-1", undefined, token),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({ type: "/problems/customer-erased", status: 403 });
    }
    const after = await call<{ availableSpots: number; position: string }>(
      service.url,
      "GET",
      "/parking-lots/erase-1",
    );
    expect(after.body.availableSpots).toBe(before.body.availableSpots);
    const reservation = await call<{ status: string }>(service.url, "GET", `/reservations/${mine}`);
    expect(reservation.body.status).toBe("RESERVED");
    // Staff whose sub is the erased id are not customers: their roles decide, as before.
    const staff = bearer(await mintToken(data.dir, { sub: "erase-cust-a", role: "operator" }));
    expect((await call(service.url, "GET", "/reservations", undefined, staff)).status).toBe(200);
  });

  it("ended the erased customer's browser session: its cookie no longer works, nor can they sign in", async () => {
    const answer = await call(service.url, "GET", "/reservations", undefined, {
      ...ANONYMOUS,
      cookie: sessionCookie,
    });
    expect(answer.status).toBe(401);
    expect(String(answer.body.detail)).toMatch(/session has ended/);
    expect(answer.headers.get("set-cookie")).toMatch(/^parking_session=;/);
    // A new sign-in of the erased customer records no session.
    const link = new URL(await signInUrl(data.dir, service.url, { sub: "erase-cust-a", role: "customer" }));
    const again = await fetch(`${service.url}/sign-in${link.search}`, {
      redirect: "manual",
      headers: { accept: "application/json" },
    });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { type: string }).type).toBe("/problems/customer-erased");
    expect(again.headers.get("set-cookie")).toBeNull();
  });

  it("writes no customer id in clear in the log: paths carry the key store's pseudonym", async () => {
    const token = await customerHeaders(data.dir, "erase-cust-b");
    const coupons = await call(service.url, "GET", "/customers/erase-cust-b/coupons", undefined, {
      ...token,
      "x-correlation-id": "erasure-log-coupons",
    });
    expect(coupons.status).toBe(200);
    // A customer id in a query string: the log never writes query strings.
    expect((await call(service.url, "GET", "/reservations?customerId=erase-cust-b")).status).toBe(200);
    const line = await eventually(async () => {
      const found = logLines.find(
        (l) => l.includes("erasure-log-coupons") && l.includes("request completed"),
      );
      expect(found).toBeDefined();
      return JSON.parse(found ?? "{}") as { req: { path: string } };
    });
    expect(line.req.path).toMatch(/^\/customers\/~[A-Za-z0-9_-]{43}\/coupons$/);
    // The erased customer's paths carry the pseudonym their erasure fact records.
    expect(logLines.some((l) => l.includes(`"/customers/~${subject}/erasure"`))).toBe(true);
    expect(logLines.some((l) => l.includes(`"/customers/~${subject}/coupons"`))).toBe(true);
    for (const id of ["erase-cust-a", "erase-cust-b"])
      expect(logLines.filter((l) => l.includes(id))).toEqual([]);
  });

  it("lets an operator of every lot erase with a reason", async () => {
    const answer = await erase("erase-cust-b", await operatorHeaders(data.dir), { reason: "ticket 4711" });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ customerId: "erase-cust-b", erasedReservations: 1 });
  });
});

/**
 * Issue 38: with payments on, the payments process manager keeps a booking's saved payment method
 * (for an off-session overstay charge) and a client secret (for the customer to confirm with
 * Stripe.js), in clear. Erasing the customer takes both away.
 */
describe("erasing a paying customer (PAYMENTS=stripe)", () => {
  const data = tempDataDir("parking-erasure-pay-");
  const SECRET = "whsec_erasure_e2e";
  let stripe: StripeServer;
  let service: RunningService;

  beforeAll(async () => {
    stripe = await startStripeServer({ webhookSecret: SECRET });
    service = await startTestService(data.dir, {
      PROCESSORS_THREAD: "main",
      PAYMENTS: "stripe",
      STRIPE_API_BASE: stripe.url,
      STRIPE_SECRET_KEY: "sk_test_erasure_e2e",
      STRIPE_WEBHOOK_SECRET: SECRET,
      PAYMENT_RETRY_SCALE: "0.01",
    });
    stripe.configureWebhooks({ url: `${service.url}/payments/webhooks/stripe`, secret: SECRET });
  });
  afterAll(async () => {
    await service?.shutdown("test done", { drain: false });
    await stripe?.close();
    data.remove();
  });

  it("deletes the customer's saved payment methods and client secrets, and their Stripe Customer", async () => {
    const lot = { parkingLotId: "erase-pay-1", name: "유료 지우기", capacity: 5, hourlyRate: 1000 };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
    const hour = 3_600_000;
    const start = Math.ceil(Date.now() / hour) * hour + 24 * hour;
    const book = async (hours: number, paymentMethod?: string) => {
      const window = { startsAt: new Date(start + hours * hour).toISOString() };
      const answer = await call<{ reservationId: string; status: string }>(
        service.url,
        "POST",
        "/parking-lots/erase-pay-1/reservations",
        {
          carNumber: "56다7890",
          ...window,
          endsAt: new Date(start + (hours + 1) * hour).toISOString(),
          ...(paymentMethod ? { paymentMethod } : {}),
        },
        await customerHeaders(data.dir, "erase-payer"),
      );
      expect(answer.body.status).toBe("PENDING_PAYMENT");
      return answer.body.reservationId;
    };
    const saved = await book(0, "pm_card_visa");
    const confirming = await book(2);
    const store = service.services.documentStore;
    if (!store) throw new Error("the service has a document store");
    const kept = async () => [
      ...(await store.find(PAYMENT_METHODS, { _id: { $in: [saved, confirming] } })),
      ...(await store.find(PAYMENT_CLIENT_SECRETS, { _id: { $in: [saved, confirming] } })),
    ];
    // The saved method from its booking on its payment's stream (issue 68 item 4: sealed, no
    // payment_methods document), the client secret once the intent exists.
    const events = service.services.eventStore;
    if (!events) throw new Error("the service has an event store");
    const card = async () => (await readPaymentProcess(events, saved)).card;
    await eventually(async () => {
      expect((await kept()).map((d) => d._id)).toEqual([confirming]);
      expect(await card()).toMatchObject({ method: "pm_card_visa" });
      return true;
    });
    // Issue 71: the saved card went to the customer's own Stripe Customer, made for the booking.
    await eventually(async () => {
      expect(await store.find(PAYMENT_CUSTOMERS, {})).toHaveLength(1);
      return true;
    });
    const [{ customerId }] = (await store.find(PAYMENT_CUSTOMERS, {})) as unknown as [{ customerId: string }];
    expect(stripe.requests().filter((r) => r.path === `/v1/customers/${customerId}`)).toEqual([]);
    const answer = await call(
      service.url,
      "POST",
      "/customers/erase-payer/erasure",
      undefined,
      await customerHeaders(data.dir, "erase-payer"),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ erasedReservations: 2 });
    await eventually(async () => {
      expect(await kept()).toEqual([]);
      expect(await card()).toBeUndefined(); // its method reads erased
      return true;
    });
    // ...and is deleted at Stripe with the erasure, then forgotten here.
    await eventually(async () => {
      expect(await store.find(PAYMENT_CUSTOMERS, {})).toEqual([]);
      return true;
    });
    expect(
      stripe.requests().filter((r) => r.method === "DELETE" && r.path === `/v1/customers/${customerId}`),
    ).toMatchObject([{ status: 200 }]);
    expect(stripe.violations()).toEqual([]);
  });
});
