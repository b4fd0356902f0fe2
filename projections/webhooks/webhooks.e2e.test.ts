import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../../app/server.js";
import { WEBHOOK_EVENT_TYPES } from "../../schemas/webhooks.js";
import { ANONYMOUS, customerHeaders } from "../../test-support/auth.js";
import { killChildren, type ServiceChild, startWebhookReceiver } from "../../test-support/children.js";
import { freePort } from "../../test-support/process.js";
import { call, eventually, startTestService, tempDataDir } from "../../test-support/service.js";
import { type StripeServer, startStripeServer } from "../../test-support/stripe/server.js";
import { controlReceiver, type Received, receivedIn } from "../../test-support/webhook-records.js";

/**
 * Outbound webhooks end to end (issue 35): the service (in this process, on a clock the test
 * moves, so the facts time brings come when the test says) sends to a receiver process that
 * verifies every message with the `standardwebhooks` package, as an integrator's would. Every event
 * type arrives signed, in log order per reservation; a receiver down for a while gets everything
 * once back; a rotated secret signs beside the new one; a replay resends with the original ids;
 * an endpoint answering 500s then 410 is disabled; a slow endpoint does not hold up a fast one.
 */
const DAY = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString().slice(0, 10);
const at = (hhmm: string) => new Date(`${DAY}T${hhmm}:00.000Z`).toISOString();
const LOT = "hooks-1";
/** A lot never closed, for the open-ended bookings after the first test's closure. */
const OPEN_LOT = "hooks-2";

interface Created {
  id: string;
  secret: string;
  status: string;
}

describe("outbound webhooks (a receiver process verifying with standardwebhooks)", () => {
  const data = tempDataDir("parking-webhooks-");
  const record = join(data.dir, "received.jsonl");
  let now = Date.parse(at("09:00"));
  let service: RunningService;
  let receiver: ServiceChild;
  let receiverPort = 0;
  const secrets: Record<string, string[]> = {};
  const ids: Record<string, string> = {};

  const hookUrl = (name: string) => `http://127.0.0.1:${receiverPort}/hooks/${name}`;
  const got = (name: string) => receivedIn(record, name);
  const create = async (
    name: string,
    eventTypes: readonly string[],
    behaviour: { statuses?: number[]; delayMs?: number } = {},
  ) => {
    const answer = await call<Created>(service.url, "POST", "/webhook-endpoints", {
      url: hookUrl(name),
      eventTypes,
      description: `test ${name}`,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    secrets[name] = [answer.body.secret];
    await controlReceiver(receiver.url, name, { secrets: secrets[name] ?? [], ...behaviour });
    return answer.body;
  };
  const book = async (who: string, body: Record<string, unknown>, lot = OPEN_LOT) => {
    const answer = await call<{ reservationId: string }>(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations`,
      { carNumber: "12가3456", ...body },
      await customerHeaders(data.dir, who),
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    ids[who] = answer.body.reservationId;
    return answer.body.reservationId;
  };
  const until = <T>(what: string, check: () => T | undefined, timeoutMs = 30_000) =>
    eventually(async () => check(), timeoutMs, what);

  beforeAll(async () => {
    receiverPort = await freePort();
    receiver = await startWebhookReceiver(receiverPort, record);
    service = await startTestService(
      data.dir,
      {
        PROCESSORS_THREAD: "main",
        WEBHOOK_ALLOW_PRIVATE: "true",
        WEBHOOK_RETRY_SCALE: "0.0002",
        LOG_LEVEL: "warn",
      },
      { clock: () => new Date(now) },
    );
    for (const parkingLotId of [LOT, OPEN_LOT]) {
      const lot = { parkingLotId, name: "Hooks", capacity: 100, hourlyRate: 1000 };
      expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
    }
  }, 60_000);
  afterAll(async () => {
    await service?.shutdown("test done", { drain: false });
    await killChildren();
    data.remove();
  });

  it("only operators manage endpoints, and hostile input is refused naming the field", async () => {
    const body = { url: hookUrl("x"), eventTypes: ["reservation.reserved"] };
    expect((await call(service.url, "POST", "/webhook-endpoints", body, ANONYMOUS)).status).toBe(401);
    const customer = await customerHeaders(data.dir, "C9");
    expect((await call(service.url, "POST", "/webhook-endpoints", body, customer)).status).toBe(403);
    expect((await call(service.url, "GET", "/webhook-endpoints", undefined, customer)).status).toBe(403);
    const refused = async (sent: Record<string, unknown>, field: string) => {
      const answer = await call<{ errors?: { field: string }[] }>(
        service.url,
        "POST",
        "/webhook-endpoints",
        sent,
      );
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.errors?.map((e) => e.field)).toContain(field);
    };
    await refused({ ...body, url: "ftp://example.com/x" }, "body.url");
    await refused({ ...body, url: "file:///etc/passwd" }, "body.url");
    await refused({ ...body, url: `https://example.com/${"a".repeat(2100)}` }, "body.url");
    await refused({ ...body, url: "https://user:pw@example.com/x" }, "body.url");
    await refused({ ...body, eventTypes: ["ParkingReserved"] }, "body.eventTypes.0");
    await refused({ ...body, eventTypes: [] }, "body.eventTypes");
    await refused({ ...body, description: "d".repeat(501) }, "body.description");
    const missing = await call(service.url, "GET", "/webhook-endpoints/we_nothere");
    expect(missing.status).toBe(404);
  });

  it("delivers every event type signed, in log order per reservation; the secret is in no dump", async () => {
    const all = await create("all", WEBHOOK_EVENT_TYPES);
    const overstayer = await book("C1", { startsAt: at("09:05"), endsAt: at("10:05") }, LOT);
    const missing = await book("C2", { startsAt: at("09:30"), endsAt: at("10:00") }, LOT);
    const canceled = await book("C3", { startsAt: at("13:00"), endsAt: at("14:00") }, LOT);
    const openEnded = await book("C4", {}, LOT);
    const c1 = await customerHeaders(data.dir, "C1");
    const path = (id: string) => `/parking-lots/${LOT}/reservations/${id}`;
    expect((await call(service.url, "POST", `${path(overstayer)}/check-in`, undefined, c1)).status).toBe(200);
    const c3 = await customerHeaders(data.dir, "C3");
    expect((await call(service.url, "DELETE", path(canceled), {}, c3)).status).toBe(200);
    const closure = { from: at("10:20"), until: at("12:00"), reason: "resurfacing" };
    expect((await call(service.url, "POST", `/parking-lots/${LOT}/closures`, closure)).status).toBe(201);
    // The clock passes the overstay, the no-show and the closure's beginning.
    now = Date.parse(at("10:30"));
    await until("the overstay", () => got("all").find((r) => r.type === "reservation.overstaying"));
    expect((await call(service.url, "POST", `${path(overstayer)}/check-out`, undefined, c1)).status).toBe(
      200,
    );

    const received = await until("every event type", () => {
      const list = got("all");
      const issued = list.some((r) => r.type === "coupon.issued" && r.data.reservationId === overstayer);
      // A booking gets its coupon at once, a cancel revokes it (docs/domain.md): every type arrives
      // but the payment.* ones, as payments are off here (the describe below has payments on).
      const types = WEBHOOK_EVENT_TYPES.filter((t) => !t.startsWith("payment."));
      // And each message the checks below read: one type's first message may be another booking's
      // (the customer's cancel comes long before the closure's).
      const each: [string, string][] = [
        ["reservation.canceled", canceled],
        ["reservation.canceled", openEnded],
        ["coupon.revoked", canceled],
        ["reservation.no_show", missing],
        ["reservation.checked_out", overstayer],
      ];
      const arrived = each.every(([type, id]) =>
        list.some((r) => r.type === type && r.data.reservationId === id),
      );
      return issued && arrived && types.every((t) => list.some((r) => r.type === t)) ? list : undefined;
    });
    for (const r of received) expect(r.verified, r.type).toEqual([true]);
    const of = (type: string, id?: string) =>
      received.find((r) => r.type === type && (id === undefined || r.data.reservationId === id)) as Received;
    expect(of("reservation.canceled", canceled).data).toMatchObject({ reason: "customer", customerId: "C3" });
    // Payments off: a booking is RESERVED when accepted, and says so (no payment).
    expect(of("reservation.reserved", canceled).data).toMatchObject({ status: "RESERVED", customerId: "C3" });
    expect(of("reservation.reserved", canceled).data.payment).toBeUndefined();
    expect(of("reservation.canceled", openEnded).data).toMatchObject({
      reason: "closure",
      parkingLotId: LOT,
    });
    expect(of("reservation.no_show", missing).data).toMatchObject({ customerId: "C2", endsAt: at("10:00") });
    expect(of("reservation.checked_out", overstayer).data).toMatchObject({
      charges: { overstayCharge: 417 },
    });
    expect(of("lot.closure_began").data).toMatchObject({ parkingLotId: LOT, from: at("10:20") });
    expect(of("coupon.issued", overstayer).data).toMatchObject({
      reservationId: overstayer,
      customerId: "C1",
    });
    expect(of("coupon.revoked", canceled).data).toMatchObject({ reservationId: canceled, customerId: "C3" });
    for (const r of received) expect(r.timestamp).toMatch(/Z$/);
    // Log order per reservation: each one's messages arrive in the order of its facts.
    const order = received.filter(
      (r) => r.data.reservationId === overstayer && r.type.startsWith("reservation."),
    );
    expect(order.map((r) => r.type)).toEqual([
      "reservation.reserved",
      "reservation.checked_in",
      "reservation.overstaying",
      "reservation.checked_out",
    ]);
    // The overstay is sent once, however many rounds pass.
    await sleep(500);
    expect(got("all").filter((r) => r.type === "reservation.overstaying")).toHaveLength(1);
    // A dump of the document store does not reveal the signing secret.
    const dump = readFileSync(join(data.dir, "read-models.sqlite"));
    expect(dump.includes(all.secret)).toBe(false);
    expect(dump.includes(all.secret.slice(6))).toBe(false);
    const view = await call<Record<string, unknown>>(service.url, "GET", `/webhook-endpoints/${all.id}`);
    expect(view.body.secret).toBeUndefined();
    expect(view.body.status).toBe("enabled");
  });

  it("a rotated secret keeps signing beside the new one; a replay resends with the original ids", async () => {
    const endpoint = await create("rotating", ["reservation.reserved"]);
    const before = await book("R1", {});
    await until("the first message", () => got("rotating").find((r) => r.data.reservationId === before));
    const rotated = await call<{ secret: string; previousSecretExpiresAt: string }>(
      service.url,
      "POST",
      `/webhook-endpoints/${endpoint.id}/rotate-secret`,
    );
    expect(rotated.status).toBe(200);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    await controlReceiver(receiver.url, "rotating", { secrets: [endpoint.secret, rotated.body.secret] });
    const after = await book("R2", {});
    const message = await until("a message after the rotation", () =>
      got("rotating").find((r) => r.data.reservationId === after),
    );
    expect(message.signatures).toBe(2);
    expect(message.verified).toEqual([true, true]);

    const first = got("rotating");
    type Attempts = {
      items: { position: string; webhookId: string; statusCode: number; parkingLotId?: string }[];
    };
    // The attempts are recorded once their outcome is heard (the receiver has them first).
    const deliveries = await eventually(async () => {
      const answer = await call<Attempts>(
        service.url,
        "GET",
        `/webhook-endpoints/${endpoint.id}/deliveries?limit=10`,
      );
      return answer.body.items.length === 2 ? answer : undefined;
    });
    expect(deliveries.body.items.map((i) => i.statusCode)).toEqual([200, 200]);
    // Each attempt names the lot its fact concerns, for the page to show it on that lot's clock (issue 49).
    expect(deliveries.body.items.map((i) => i.parkingLotId)).toEqual([OPEN_LOT, OPEN_LOT]);
    const from = deliveries.body.items.at(-1)?.position ?? "0";
    const replay = await call<{ enqueued: number }>(
      service.url,
      "POST",
      `/webhook-endpoints/${endpoint.id}/replay`,
      {
        fromPosition: from,
      },
    );
    expect(replay.status).toBe(202);
    expect(replay.body.enqueued).toBe(2);
    const again = await until("the replayed messages", () => {
      const list = got("rotating");
      return list.length >= first.length + 2 ? list.slice(first.length) : undefined;
    });
    expect(new Set(again.map((r) => r.webhookId))).toEqual(new Set(first.map((r) => r.webhookId)));
  });

  it("an endpoint answering 500s then 410 is retried, then disabled, and says so", async () => {
    const endpoint = await create("gone", ["reservation.reserved"], { statuses: [500, 500, 503, 410] });
    await book("G1", {});
    await until("four attempts", () => (got("gone").length >= 4 ? true : undefined));
    const disabled = await eventually(
      async () => {
        const answer = await call<{ status: string; disabledReason?: string }>(
          service.url,
          "GET",
          `/webhook-endpoints/${endpoint.id}`,
        );
        return answer.body.status === "disabled" ? answer.body : undefined;
      },
      10_000,
      "the endpoint disabled",
    );
    expect(disabled.disabledReason).toMatch(/410/);
    const attempts = await call<{ items: { statusCode?: number; outcome: string; error?: string }[] }>(
      service.url,
      "GET",
      `/webhook-endpoints/${endpoint.id}/deliveries`,
    );
    expect(attempts.body.items.map((a) => a.statusCode)).toEqual([410, 503, 500, 500]);
    expect(attempts.body.items.every((a) => a.outcome === "failed" && a.error)).toBe(true);
    // Nothing more is sent to it.
    await book("G2", {});
    await sleep(500);
    expect(got("gone")).toHaveLength(4);
  });

  it("a slow endpoint does not hold up a fast one", async () => {
    await create("slow", ["reservation.reserved"], { delayMs: 3_000 });
    await create("fast", ["reservation.reserved"]);
    const booked: string[] = [];
    for (let i = 0; i < 12; i++) booked.push(await book(`S${i}`, {}));
    const fast = await until("every message at the fast endpoint", () => {
      const list = got("fast").filter((r) => booked.includes(String(r.data.reservationId)));
      return list.length === booked.length ? list : undefined;
    });
    // The slow one answers 4 at a time every 3 s: it has at most a third of them by now.
    expect(
      got("slow").filter((r) => booked.includes(String(r.data.reservationId))).length,
    ).toBeLessThanOrEqual(4);
    expect(fast).toHaveLength(12);
    await until("every message at the slow endpoint too", () =>
      got("slow").filter((r) => booked.includes(String(r.data.reservationId))).length === 12
        ? true
        : undefined,
    );
  }, 60_000);

  it("a receiver down for a while gets everything once it is back", async () => {
    await create("later", ["reservation.reserved"]);
    receiver.signal("SIGKILL");
    await receiver.exited;
    const booked: string[] = [];
    for (let i = 0; i < 5; i++) booked.push(await book(`D${i}`, {}));
    await sleep(1_500); // a few attempts fail meanwhile (connection refused)
    receiver = await startWebhookReceiver(receiverPort, record);
    for (const [name, list] of Object.entries(secrets))
      await controlReceiver(receiver.url, name, { secrets: list });
    const later = await until("every message once back", () => {
      const list = got("later").filter((r) => booked.includes(String(r.data.reservationId)));
      return new Set(list.map((r) => r.webhookId)).size === booked.length ? list : undefined;
    });
    for (const r of later) expect(r.verified).toEqual([true]);
  }, 60_000);

  it("a message queued before its customer's erasure is sent with erased in place of the customer", async () => {
    const endpoint = await create("erasure", ["reservation.reserved"]);
    receiver.signal("SIGKILL");
    await receiver.exited;
    const reservationId = await book("hooks-erased-cust", {});
    // Queued, and tried at least once while the receiver is down.
    await eventually(
      async () => {
        const attempts = await call<{ items: { outcome: string }[] }>(
          service.url,
          "GET",
          `/webhook-endpoints/${endpoint.id}/deliveries`,
        );
        return attempts.body.items.some((a) => a.outcome === "failed") ? true : undefined;
      },
      20_000,
      "a failed attempt",
    );
    const erased = await call(service.url, "POST", "/customers/hooks-erased-cust/erasure", {
      reason: "hooks",
    });
    expect(erased.status).toBe(200);
    receiver = await startWebhookReceiver(receiverPort, record);
    for (const [name, list] of Object.entries(secrets))
      await controlReceiver(receiver.url, name, { secrets: list });
    const sent = await until("the queued message, once back", () =>
      got("erasure").find((r) => r.data.reservationId === reservationId),
    );
    expect(sent.verified).toEqual([true]);
    expect(sent.data.customerId).toBe("erased");
    expect(JSON.stringify(got("erasure"))).not.toContain("hooks-erased-cust");
  }, 60_000);
});

/**
 * Integrators hear the money (issue 47), with payments on (PAYMENTS=stripe against the
 * Stripe-contract server): a booking is sent as `reservation.reserved` only once its payment is
 * authorized (after `payment.authorized`, with its status and payment in the body), a declined one
 * never (`payment.failed`, then its cancel), and a late cancel's fee and release follow as
 * `payment.captured` and `payment.released`, all in log order. The cancel's answer says the same
 * money first.
 */
describe("payment messages (payments on)", () => {
  const data = tempDataDir("parking-webhooks-pay-");
  const record = join(data.dir, "received.jsonl");
  const STRIPE_SECRET = "whsec_webhooks_payments_e2e";
  const HOUR = 3_600_000;
  const LOT_ID = "hooks-paid-1";
  const now = Math.ceil(Date.now() / HOUR) * HOUR + 24 * HOUR;
  let service: RunningService;
  let receiver: ServiceChild;
  let stripe: StripeServer;
  let endpoint: Created;

  const book = async (who: string, startsAt: number, paymentMethod: string) => {
    const answer = await call<{ reservationId: string; status: string }>(
      service.url,
      "POST",
      `/parking-lots/${LOT_ID}/reservations`,
      {
        carNumber: "12가3456",
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(startsAt + HOUR).toISOString(),
        paymentMethod,
      },
      await customerHeaders(data.dir, who),
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body.status).toBe("PENDING_PAYMENT");
    return answer.body.reservationId;
  };
  const got = () => receivedIn(record, "paid");
  const typesFor = (reservationId: string) =>
    got()
      .filter((r) => r.data.reservationId === reservationId && !r.type.startsWith("coupon."))
      .map((r) => r.type);
  /** The facts of one reservation in the lot's log, by type, in log order. */
  const logOf = async (reservationId: string) => {
    const store = service.services.eventStore;
    if (!store) throw new Error("the service has no event store");
    const types: string[] = [];
    for await (const e of store.readStream(`parkingLot-${LOT_ID}`))
      if ((e.data as { reservationId?: string }).reservationId === reservationId) types.push(e.type);
    return types;
  };

  beforeAll(async () => {
    const port = await freePort();
    receiver = await startWebhookReceiver(port, record);
    stripe = await startStripeServer({ webhookSecret: STRIPE_SECRET });
    service = await startTestService(
      data.dir,
      {
        PROCESSORS_THREAD: "main",
        WEBHOOK_ALLOW_PRIVATE: "true",
        WEBHOOK_RETRY_SCALE: "0.0002",
        LOG_LEVEL: "warn",
        PAYMENTS: "stripe",
        STRIPE_API_BASE: stripe.url,
        STRIPE_SECRET_KEY: "sk_test_webhooks_payments_e2e",
        STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
        PAYMENT_RETRY_SCALE: "0.01",
      },
      { clock: () => new Date(now) },
    );
    stripe.configureWebhooks({ url: `${service.url}/payments/webhooks/stripe`, secret: STRIPE_SECRET });
    // 4,000 KRW an hour: a late cancel's half (2,000) is above Stripe's minimum charge, so it is kept.
    const lot = { parkingLotId: LOT_ID, name: "Paid hooks", capacity: 10, hourlyRate: 4000 };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
    const terms = {
      currency: "KRW",
      deposit: 5000,
      cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
      noShowFee: 3000,
    };
    expect((await call(service.url, "PUT", `/parking-lots/${LOT_ID}/payment-terms`, terms)).status).toBe(200);
    const created = await call<Created>(service.url, "POST", "/webhook-endpoints", {
      url: `http://127.0.0.1:${port}/hooks/paid`,
      eventTypes: WEBHOOK_EVENT_TYPES,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    endpoint = created.body;
    await controlReceiver(receiver.url, "paid", { secrets: [endpoint.secret] });
  }, 60_000);
  afterAll(async () => {
    await service?.shutdown("test done", { drain: false });
    await stripe?.close();
    await killChildren();
    data.remove();
  });

  it("sends reservation.reserved only once authorized, never for a decline, and a late cancel's money in log order", async () => {
    // A late cancel: authorized, then canceled by its customer 30 minutes before its start.
    const paid = await book("PAY-1", now + 30 * 60_000, "pm_card_visa");
    const reserved = await eventually(
      async () => got().find((r) => r.type === "reservation.reserved" && r.data.reservationId === paid),
      30_000,
      "the booking reserved",
    );
    expect(reserved.data).toMatchObject({
      customerId: "PAY-1",
      status: "RESERVED",
      amount: 4000,
      payment: { state: "authorized", amount: 4000, currency: "KRW" },
    });
    const path = `/parking-lots/${LOT_ID}/reservations/${paid}`;
    const canceled = await call<Record<string, unknown>>(
      service.url,
      "DELETE",
      path,
      {},
      await customerHeaders(data.dir, "PAY-1"),
    );
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(200);
    // The answer says what the decider decided by the lot's policy: half kept, half released.
    expect(canceled.body).toMatchObject({
      status: "CANCELED",
      settlement: { currency: "KRW", fee: 2000, released: 2000, refunded: 0 },
    });
    const again = await call<Record<string, unknown>>(
      service.url,
      "DELETE",
      path,
      {},
      await customerHeaders(data.dir, "PAY-1"),
    );
    expect(again.status).toBe(200);
    expect(again.body.settlement).toBeUndefined(); // a repeat decides nothing

    // A declined card: never reserved.
    const declined = await book("PAY-2", now + 3 * HOUR, "pm_card_chargeDeclined");
    await eventually(
      async () =>
        ["payment.captured", "payment.released"].every((t) => typesFor(paid).includes(t)) &&
        typesFor(declined).includes("reservation.canceled")
          ? true
          : undefined,
      30_000,
      "the cancel's money and the decline's cancel",
    );
    for (const r of got()) expect(r.verified, r.type).toEqual([true]);
    expect(typesFor(declined)).toEqual(["payment.failed", "reservation.canceled"]);
    const failed = got().find((r) => r.type === "payment.failed" && r.data.reservationId === declined);
    expect(failed?.data).toMatchObject({ reason: "declined", code: "generic_decline" });

    // The paid booking's messages, in the order of its facts in the log.
    const heard: Record<string, string[]> = {
      PaymentAuthorized: ["payment.authorized", "reservation.reserved"],
      ReservationCanceled: ["reservation.canceled"],
      PaymentCaptured: ["payment.captured"],
      PaymentReleased: ["payment.released"],
    };
    const expected = (await logOf(paid)).flatMap((type) => heard[type] ?? []);
    expect(expected).toEqual([
      "payment.authorized",
      "reservation.reserved",
      "reservation.canceled",
      ...expected.slice(3),
    ]);
    expect(typesFor(paid)).toEqual(expected);
    const money = got().filter((r) => r.data.reservationId === paid && r.type.startsWith("payment."));
    expect(money.find((r) => r.type === "payment.captured")?.data).toMatchObject({
      amount: 2000,
      currency: "KRW",
    });
    expect(money.find((r) => r.type === "payment.released")?.data).toMatchObject({ amount: 2000 });
  }, 90_000);
});
