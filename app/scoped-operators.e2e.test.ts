import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueryOperationId } from "../read-api/operations.js";
import type { WEBHOOK_OPERATIONS } from "../read-api/webhooks/operations.js";
import type { AuthHeaders } from "../test-support/auth.js";
import { ANONYMOUS, bearer, customerHeaders, mintToken } from "../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import type { CommandOperationId } from "../write-side/http/operations.js";
import type { RunningService } from "./server.js";
import type { APP_OPERATIONS } from "./surface/app-operations.js";
import { OPERATIONS } from "./surface/operations.js";

/**
 * Every operation of the table (app/surface/operations.ts: a new operation fails this test, and the
 * typecheck, until its row here says who may call it) × every role and scope: anonymous, a
 * customer, an attendant and an operator each inside and outside their lots' grant, an admin.
 * Staff outside their lots get 404 as for a lot that does not exist; a refused request appends
 * nothing; listings, the control center and its stream hold only the caller's lots.
 */

type OperationId =
  | CommandOperationId
  | QueryOperationId
  | (typeof APP_OPERATIONS)[number]["operationId"]
  | (typeof WEBHOOK_OPERATIONS)[number]["operationId"];
const CALLERS = [
  "anonymous",
  "customer",
  "attendantIn",
  "attendantOut",
  "operatorIn",
  "operatorOut",
  "admin",
] as const;
type Caller = (typeof CALLERS)[number];

const A = "CUST-SCOPE-A";
/** The lot every lot operation is tried on; inside operatorIn's `scope-*` and attendantIn's grant. */
const LOT = "scope-lot";
/** Closed by the closure operation only (inside `scope-*`). */
const CLOSED_LOT = "scope-closed";
/** A lot no scoped caller of this test reaches. */
const FAR_LOT = "far-lot";

interface Ids {
  /** A fresh open-ended reservation of A at LOT, for an operation that changes it. */
  fresh(): Promise<string>;
  /** A fresh reservation of A at LOT, checked in (by the admin). */
  checkedIn(): Promise<string>;
  /** A's reservation that only reads touch. */
  readonly read: string;
  /** A fresh gate read at LOT sent to review (low confidence, by the admin): its event id. */
  review(): Promise<string>;
  next(): number;
}

interface Attempt {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

const HOUR = 3_600_000;
const ahead = (hours: number) => new Date(Math.ceil((Date.now() + 48 * HOUR) / HOUR) * HOUR + hours * HOUR);

/** How to call each operation, and what each caller gets. */
const ROWS: Record<
  OperationId,
  {
    readonly attempt: (caller: Caller, ids: Ids) => Promise<Attempt> | Attempt;
    readonly expect: readonly number[];
  }
> = {
  // anonymous, customer, attendantIn, attendantOut, operatorIn, operatorOut, admin
  registerParkingLot: {
    attempt: (_c, ids) => ({
      method: "POST",
      path: "/parking-lots",
      body: { parkingLotId: `scope-new-${ids.next()}`, name: "New", capacity: 3 },
    }),
    expect: [401, 403, 403, 403, 201, 403, 201],
  },
  reserveParking: {
    attempt: (caller, ids) => ({
      method: "POST",
      path: `/parking-lots/${LOT}/reservations`,
      body: {
        ...(caller === "customer" ? {} : { customerId: A }),
        carNumber: `${10 + (ids.next() % 80)}가1234`,
        amount: 1000,
      },
    }),
    expect: [401, 201, 403, 403, 201, 404, 201],
  },
  cancelReservation: {
    attempt: async (_c, ids) => ({
      method: "DELETE",
      path: `/parking-lots/${LOT}/reservations/${await ids.fresh()}`,
      body: { reason: "scope matrix" },
    }),
    expect: [401, 200, 403, 403, 200, 404, 200],
  },
  checkIn: {
    attempt: async (_c, ids) => ({
      method: "POST",
      path: `/parking-lots/${LOT}/reservations/${await ids.fresh()}/check-in`,
    }),
    expect: [401, 200, 200, 404, 200, 404, 200],
  },
  checkOut: {
    attempt: async (_c, ids) => ({
      method: "POST",
      path: `/parking-lots/${LOT}/reservations/${await ids.checkedIn()}/check-out`,
    }),
    expect: [401, 200, 200, 404, 200, 404, 200],
  },
  closeParkingLot: {
    attempt: (_c, ids) => ({
      method: "POST",
      path: `/parking-lots/${CLOSED_LOT}/closures`,
      body: {
        from: ahead(ids.next() * 3).toISOString(),
        until: ahead(ids.next() * 3 + 1).toISOString(),
        reason: "scope maintenance",
      },
    }),
    expect: [401, 403, 403, 403, 201, 404, 201],
  },
  changeCapacity: {
    attempt: () => ({ method: "PUT", path: `/parking-lots/${LOT}/capacity`, body: { capacity: 400 } }),
    expect: [401, 403, 403, 403, 200, 404, 200],
  },
  listParkingLots: {
    attempt: () => ({ method: "GET", path: "/parking-lots" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  // Public: staff of other lots see what the public sees (not 404).
  getParkingLot: {
    attempt: () => ({ method: "GET", path: `/parking-lots/${LOT}` }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  getAvailability: {
    attempt: () => ({
      method: "GET",
      path: `/parking-lots/${LOT}/availability?from=${encodeURIComponent(ahead(1).toISOString())}&until=${encodeURIComponent(ahead(2).toISOString())}`,
    }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  getParkingLotHistory: {
    attempt: () => ({ method: "GET", path: `/parking-lots/${LOT}/history?limit=5` }),
    expect: [401, 403, 403, 403, 200, 404, 200],
  },
  getLotMoney: {
    attempt: () => ({ method: "GET", path: `/parking-lots/${LOT}/money` }),
    expect: [401, 403, 403, 403, 200, 404, 200],
  },
  getTimeline: {
    attempt: () => ({ method: "GET", path: `/parking-lots/${LOT}/timeline` }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  listReservations: {
    attempt: () => ({ method: "GET", path: "/reservations" }),
    expect: [401, 200, 200, 200, 200, 200, 200],
  },
  getReservation: {
    attempt: (_c, ids) => ({ method: "GET", path: `/reservations/${ids.read}` }),
    expect: [401, 200, 200, 404, 200, 404, 200],
  },
  getReservationHistory: {
    attempt: (_c, ids) => ({ method: "GET", path: `/reservations/${ids.read}/history` }),
    expect: [401, 200, 200, 404, 200, 404, 200],
  },
  listCustomerCoupons: {
    attempt: () => ({ method: "GET", path: `/customers/${A}/coupons` }),
    expect: [401, 200, 403, 403, 200, 200, 200],
  },
  getControlCenter: {
    attempt: () => ({ method: "GET", path: "/control-center" }),
    expect: [401, 403, 403, 403, 200, 200, 200],
  },
  getSignInConfig: {
    attempt: () => ({ method: "GET", path: "/control-center/sign-in-config" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  streamControlCenterEvents: {
    attempt: () => ({ method: "GET", path: "/control-center/events" }),
    expect: [401, 403, 403, 403, 200, 200, 200],
  },
  getLandingPage: {
    attempt: () => ({ method: "GET", path: "/" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  getFavicon: {
    attempt: () => ({ method: "GET", path: "/favicon.ico" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  getLiveness: {
    attempt: () => ({ method: "GET", path: "/healthz" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  getReadiness: {
    attempt: () => ({ method: "GET", path: "/readyz" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  getMetrics: {
    attempt: () => ({ method: "GET", path: "/metrics" }),
    expect: [401, 403, 403, 403, 200, 200, 200],
  },
  getOpenApiDocument: {
    attempt: () => ({ method: "GET", path: "/openapi.json" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  getProblemType: {
    attempt: () => ({ method: "GET", path: "/problems/not-found" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  getDevIssuerKeys: {
    attempt: () => ({ method: "GET", path: "/.well-known/jwks.json" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  getDevIssuerDiscovery: {
    attempt: () => ({ method: "GET", path: "/.well-known/openid-configuration" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
  // Without a link's token: the sign-in fails (401 sign-in-failed), whoever asks.
  signIn: {
    attempt: () => ({ method: "GET", path: "/sign-in" }),
    expect: [401, 401, 401, 401, 401, 401, 401],
  },
  startSession: {
    attempt: () => ({
      method: "POST",
      path: "/sign-in/session",
      headers: { "sec-fetch-site": "same-origin" },
    }),
    expect: [401, 204, 204, 204, 204, 204, 204],
  },
  revokeSessions: {
    attempt: () => ({ method: "POST", path: "/sessions/revoke", body: { sub: "nobody-signed-in" } }),
    // Any subject's sessions (an admin's too): staff who reach every lot only.
    expect: [401, 403, 403, 403, 403, 403, 200],
  },
  recordGateEvent: {
    attempt: (_c, ids) => ({
      method: "POST",
      path: `/parking-lots/${LOT}/gate-events`,
      body: {
        eventId: `scope-gate-${ids.next()}`,
        gateId: "north",
        direction: "entry",
        plate: "00가0000",
        confidence: 0.95,
        at: new Date().toISOString(),
      },
    }),
    expect: [401, 403, 200, 404, 200, 404, 200],
  },
  listGateReviews: {
    attempt: () => ({ method: "GET", path: `/parking-lots/${LOT}/gate-reviews` }),
    // The lot's people: attendants, operators, admins (a gate credential: principal-matrix).
    expect: [401, 403, 200, 404, 200, 404, 200],
  },
  resolveGateReview: {
    attempt: async (_c, ids) => ({
      method: "POST",
      path: `/parking-lots/${LOT}/gate-reviews/${await ids.review()}/resolve`,
      body: { action: "deny" },
    }),
    expect: [401, 403, 200, 404, 200, 404, 200],
  },
  changeRate: {
    attempt: () => ({ method: "PUT", path: `/parking-lots/${LOT}/rate`, body: { hourlyRate: 2000 } }),
    expect: [401, 403, 403, 403, 200, 404, 200],
  },
  changePlace: {
    attempt: () => ({
      method: "PUT",
      path: `/parking-lots/${LOT}/place`,
      body: { location: { latitude: 37.5, longitude: 127 }, timeZone: "Asia/Seoul" },
    }),
    expect: [401, 403, 403, 403, 200, 404, 200],
  },
  changeCouponRule: {
    attempt: () => ({
      method: "PUT",
      path: `/parking-lots/${LOT}/coupon-rule`,
      body: { minStayMinutes: 15, discount: { percent: 10 } },
    }),
    expect: [401, 403, 403, 403, 200, 404, 200],
  },
  changeCustomerLimit: {
    attempt: () => ({
      method: "PUT",
      path: `/parking-lots/${LOT}/customer-limit`,
      body: { maxActivePerCustomer: 5 },
    }),
    expect: [401, 403, 403, 403, 200, 404, 200],
  },
  changeGateConfidence: {
    attempt: () => ({
      method: "PUT",
      path: `/parking-lots/${LOT}/gate-confidence`,
      body: { gateConfidenceThreshold: 0.8 },
    }),
    expect: [401, 403, 403, 403, 200, 404, 200],
  },
  changePaymentTerms: {
    attempt: () => ({
      method: "PUT",
      path: `/parking-lots/${LOT}/payment-terms`,
      body: {
        currency: "KRW",
        deposit: 5000,
        cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
        noShowFee: 3000,
      },
    }),
    expect: [401, 403, 403, 403, 200, 404, 200],
  },
  // An erasure reaches every lot: the customer themself (app/customer-erasure.e2e.test.ts), or
  // staff who reach every lot. Tried on another customer, so A's data stays for the other rows.
  eraseCustomer: {
    attempt: () => ({
      method: "POST",
      path: "/customers/CUST-SCOPE-ERASED/erasure",
      body: { reason: "scope test" },
    }),
    expect: [401, 403, 403, 403, 403, 403, 200],
  },
  // Payments are off in this service (PAYMENTS=none): nothing was captured, so a refund that
  // reaches the lot is refused as not paid; outside the lot it is the 404 of any lot operation.
  refundPayment: {
    attempt: async (_c, ids) => ({
      method: "POST",
      path: `/parking-lots/${LOT}/reservations/${await ids.fresh()}/refund`,
      body: { amount: 1000, reason: "scope refund" },
    }),
    expect: [401, 403, 403, 403, 409, 404, 409],
  },
  // Public (Stripe signs it, no bearer), and absent while payments are off: 404 for everyone.
  stripeWebhook: {
    attempt: () => ({
      method: "POST",
      path: "/payments/webhooks/stripe",
      body: { id: "evt_scope", object: "event", type: "payment_intent.created", data: { object: {} } },
      headers: { "Stripe-Signature": "t=1,v1=00" },
    }),
    expect: [404, 404, 404, 404, 404, 404, 404],
  },
  // A webhook endpoint hears every lot's facts: staff who reach every lot only.
  createWebhookEndpoint: {
    attempt: () => ({
      method: "POST",
      path: "/webhook-endpoints",
      body: { url: "https://example.com/hooks", eventTypes: ["coupon.issued"] },
    }),
    expect: [401, 403, 403, 403, 403, 403, 201],
  },
  listWebhookEndpoints: {
    attempt: () => ({ method: "GET", path: "/webhook-endpoints" }),
    expect: [401, 403, 403, 403, 403, 403, 200],
  },
  getWebhookEndpoint: {
    attempt: () => ({ method: "GET", path: "/webhook-endpoints/we_missing" }),
    expect: [401, 403, 403, 403, 403, 403, 404],
  },
  deleteWebhookEndpoint: {
    attempt: () => ({ method: "DELETE", path: "/webhook-endpoints/we_missing" }),
    expect: [401, 403, 403, 403, 403, 403, 404],
  },
  rotateWebhookSecret: {
    attempt: () => ({ method: "POST", path: "/webhook-endpoints/we_missing/rotate-secret" }),
    expect: [401, 403, 403, 403, 403, 403, 404],
  },
  listWebhookDeliveries: {
    attempt: () => ({ method: "GET", path: "/webhook-endpoints/we_missing/deliveries" }),
    expect: [401, 403, 403, 403, 403, 403, 404],
  },
  replayWebhooks: {
    attempt: () => ({
      method: "POST",
      path: "/webhook-endpoints/we_missing/replay",
      body: { fromPosition: "1" },
    }),
    expect: [401, 403, 403, 403, 403, 403, 404],
  },
  signOut: {
    attempt: () => ({ method: "POST", path: "/sign-out" }),
    expect: [200, 200, 200, 200, 200, 200, 200],
  },
};

async function send(base: string, attempt: Attempt, auth: AuthHeaders) {
  const headers: Record<string, string> = { ...auth, ...attempt.headers };
  if (headers.authorization === "") delete headers.authorization;
  if (attempt.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${base}${attempt.path}`, {
    method: attempt.method,
    headers,
    ...(attempt.body === undefined ? {} : { body: JSON.stringify(attempt.body) }),
    redirect: "manual",
  });
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
    await response.body?.cancel();
    return { status: response.status, text: "" };
  }
  return { status: response.status, text: await response.text() };
}

describe("scoped operators: every operation × every role and scope", () => {
  const data = tempDataDir("parking-scoped-");
  let service: RunningService;
  let base: string;
  const headers = {} as Record<Caller, AuthHeaders>;
  let ids: Ids;
  const head = async () => (await service.services.eventStore?.headPosition())?.commit ?? 0;

  beforeAll(async () => {
    service = await startTestService(data.dir);
    base = service.url;
    const staff = async (sub: string, role: string, lots?: string[]) =>
      bearer(
        await mintToken(data.dir, {
          sub,
          role: [role],
          ...(lots ? { lots } : {}),
        }),
      );
    headers.anonymous = ANONYMOUS;
    headers.customer = await customerHeaders(data.dir, A);
    headers.attendantIn = await staff("att-in", "attendant", [LOT]);
    headers.attendantOut = await staff("att-out", "attendant", [FAR_LOT]);
    headers.operatorIn = await staff("ops-in", "operator", ["scope-*"]);
    headers.operatorOut = await staff("ops-out", "operator", ["far-*", "elsewhere"]);
    headers.admin = await staff("root", "admin");
    for (const [id, name] of [
      [LOT, "Scoped"],
      [CLOSED_LOT, "Closed"],
      [FAR_LOT, "Far"],
    ]) {
      const registered = await call(
        base,
        "POST",
        "/parking-lots",
        { parkingLotId: id, name, capacity: 500, maxActivePerCustomer: 200 },
        headers.admin,
      );
      expect(registered.status, id).toBe(201);
    }
    let n = 0;
    const reserve = async (lot = LOT) => {
      const made = await call(
        base,
        "POST",
        `/parking-lots/${lot}/reservations`,
        { carNumber: `${10 + (++n % 80)}더${1000 + n}`, amount: 1000 },
        headers.customer,
      );
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      return String(made.body.reservationId);
    };
    const read = await reserve();
    await reserve(FAR_LOT);
    ids = {
      read,
      fresh: () => reserve(),
      checkedIn: async () => {
        const id = await reserve();
        const done = await call(
          base,
          "POST",
          `/parking-lots/${LOT}/reservations/${id}/check-in`,
          undefined,
          headers.admin,
        );
        expect(done.status).toBe(200);
        return id;
      },
      review: async () => {
        const eventId = `scope-review-${++n}`;
        const body = { eventId, gateId: "north", direction: "entry", plate: "00가0000", confidence: 0.1 };
        const sent = await call(
          base,
          "POST",
          `/parking-lots/${LOT}/gate-events`,
          { ...body, at: new Date().toISOString() },
          headers.admin,
        );
        expect(sent.body).toMatchObject({ decision: "review" });
        return eventId;
      },
      next: () => ++n,
    };
    // Reads see what was written (the listings below read the projections).
    await eventually(async () => {
      const { body } = await call<{ items: unknown[] }>(
        base,
        "GET",
        `/reservations?customerId=${A}`,
        undefined,
        headers.admin,
      );
      return body.items.length >= 2 ? true : undefined;
    });
  });
  afterAll(async () => {
    await service.shutdown("test done");
    data.remove();
  });

  it("has a row for every operation of the table, and no other", () => {
    expect(Object.keys(ROWS).sort()).toEqual(OPERATIONS.map((o) => o.operationId).sort());
  });

  /** Every processor (projections and reactors) has caught up: nothing more is about to be appended. */
  const settled = () =>
    eventually(async () => {
      const { body } = await call<{ projections: Array<{ lag: number | null }> }>(
        base,
        "GET",
        "/control-center",
        undefined,
        headers.admin,
      );
      return body.projections.every((p) => p.lag === 0) ? true : undefined;
    });

  it("every operation answers every caller as its row says, and nothing refused appends to the log", async () => {
    const wrong: string[] = [];
    const each = async (refused: boolean) => {
      // A refused attempt needs no reservation or gate read of its own: A's read one serves (nothing is appended).
      const reuse: Ids = {
        ...ids,
        fresh: async () => ids.read,
        checkedIn: async () => ids.read,
        // Refused before any route runs: no review of its own is needed (none is made).
        review: async () => "scope-review-refused",
      };
      for (const operation of OPERATIONS) {
        const row = ROWS[operation.operationId as OperationId];
        for (const [i, caller] of CALLERS.entries()) {
          const expected = row.expect[i] as number;
          if (expected >= 400 !== refused) continue;
          const attempt = await row.attempt(caller, refused ? reuse : ids);
          const { status, text } = await send(base, attempt, headers[caller]);
          if (status !== expected)
            wrong.push(
              `${operation.operationId} as ${caller}: ${status} (expected ${expected}) ${text.slice(0, 160)}`,
            );
          if (expected === 404 && status === 404)
            expect(JSON.parse(text).type, `${operation.operationId} as ${caller}`).toMatch(/not-found$/);
        }
      }
    };
    await settled();
    const before = await head();
    await each(true);
    expect(await head(), "a refused request appended").toBe(before);
    await each(false);
    expect(wrong).toEqual([]);
  });

  it("listings, the control center and a lot's public view hold only the caller's lots", async () => {
    const lotsOf = async (caller: Caller) => {
      const { body } = await call<{ items: { parkingLotId: string }[] }>(
        base,
        "GET",
        "/reservations?limit=200",
        undefined,
        headers[caller],
      );
      return new Set(body.items.map((r) => r.parkingLotId));
    };
    expect([...(await lotsOf("operatorIn"))]).toEqual([LOT]);
    expect([...(await lotsOf("attendantIn"))]).toEqual([LOT]);
    expect([...(await lotsOf("operatorOut"))]).toEqual([FAR_LOT]);
    expect([...(await lotsOf("admin"))].sort()).toEqual([FAR_LOT, LOT].sort());
    const outside = await call(
      base,
      "GET",
      `/reservations?parkingLotId=${LOT}`,
      undefined,
      headers.operatorOut,
    );
    expect(outside.status).toBe(404);

    const centerOf = async (caller: Caller) => {
      const { body } = await call<{
        parkingLots: { parkingLotId: string }[];
        totals: { parkingLots: number };
      }>(base, "GET", "/control-center", undefined, headers[caller]);
      return body;
    };
    const inside = await centerOf("operatorIn");
    expect(inside.parkingLots.map((l) => l.parkingLotId).every((id) => id.startsWith("scope-"))).toBe(true);
    expect(inside.totals.parkingLots).toBe(inside.parkingLots.length);
    const far = await centerOf("operatorOut");
    expect(far.parkingLots.map((l) => l.parkingLotId)).toEqual([FAR_LOT]);
    expect(far.totals.parkingLots).toBe(1);
    expect((await centerOf("admin")).totals.parkingLots).toBeGreaterThanOrEqual(3);

    // The closures' reasons are the lot's staff's: another lot's operator sees the public view.
    const closedForStaff = await call<{ closures?: { reason?: string }[] }>(
      base,
      "GET",
      `/parking-lots/${CLOSED_LOT}`,
      undefined,
      headers.operatorIn,
    );
    expect(closedForStaff.body.closures?.[0]?.reason).toBe("scope maintenance");
    const closedForOthers = await call<{ closures?: { reason?: string }[] }>(
      base,
      "GET",
      `/parking-lots/${CLOSED_LOT}`,
      undefined,
      headers.operatorOut,
    );
    expect(closedForOthers.body.closures?.length).toBeGreaterThan(0);
    expect(closedForOthers.body.closures?.[0]?.reason).toBeUndefined();
  });

  it("the live-update stream sends each operator only their lots", async () => {
    const firstEvent = async (caller: Caller) => {
      const controller = new AbortController();
      const response = await fetch(`${base}/control-center/events`, {
        headers: { ...headers[caller], accept: "text/event-stream" },
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      let text = "";
      while (!/^data: .*$/m.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      controller.abort();
      const data = /^data: (.*)$/m.exec(text)?.[1] ?? "{}";
      return JSON.parse(data) as { parkingLots: { parkingLotId: string }[] };
    };
    expect((await firstEvent("operatorOut")).parkingLots.map((l) => l.parkingLotId)).toEqual([FAR_LOT]);
    const admin = (await firstEvent("admin")).parkingLots.map((l) => l.parkingLotId);
    expect(admin).toContain(FAR_LOT);
    expect(admin).toContain(LOT);
  });

  it("issue 46: a customer's coupons and a plate search's pages and cursors hold nothing of lots outside the grant", async () => {
    type Page = { items: { parkingLotId: string }[]; nextCursor: string | null };
    // A stay of A on a lot of each operator's grant earns a coupon there (no minimum stay).
    const stay = async (lot: string, carNumber: string) => {
      const registered = await call(
        base,
        "POST",
        "/parking-lots",
        { parkingLotId: lot, name: lot, capacity: 5, couponRule: { minStayMinutes: 0 } },
        headers.admin,
      );
      expect(registered.status).toBe(201);
      const made = await call(
        base,
        "POST",
        `/parking-lots/${lot}/reservations`,
        { customerId: A, carNumber, amount: 1000 },
        headers.admin,
      );
      expect(made.status).toBe(201);
      for (const step of ["check-in", "check-out"]) {
        const done = await call(
          base,
          "POST",
          `/parking-lots/${lot}/reservations/${made.body.reservationId}/${step}`,
          undefined,
          headers.admin,
        );
        expect(done.status, step).toBe(200);
      }
    };
    await stay("scope-coupons", "55허5005");
    await stay("far-coupons", "77허7007");
    // The plate again on far-coupons: two matches there, none in operatorIn's lots.
    const again = await call(
      base,
      "POST",
      "/parking-lots/far-coupons/reservations",
      { customerId: A, carNumber: "77허7007", amount: 1000 },
      headers.admin,
    );
    expect(again.status).toBe(201);
    const lotsOf = (page: Page) => [...new Set(page.items.map((c) => c.parkingLotId))].sort();
    const coupons = async (auth: AuthHeaders) =>
      (await call<Page>(base, "GET", `/customers/${A}/coupons?limit=200`, undefined, auth)).body;
    await eventually(async () => {
      const all = lotsOf(await coupons(headers.admin));
      return all.includes("scope-coupons") && all.includes("far-coupons") ? true : undefined;
    });
    // Every booking gets its coupon (the seed's flow): A's bookings elsewhere in this file too, so
    // each operator sees those of the lots they are granted, and none of another's.
    const seenIn = lotsOf(await coupons(headers.operatorIn));
    expect(seenIn).toContain("scope-coupons");
    expect(seenIn.every((lot) => lot.startsWith("scope-"))).toBe(true);
    const seenOut = lotsOf(await coupons(headers.operatorOut));
    expect(seenOut).toContain("far-coupons");
    expect(seenOut.every((lot) => lot.startsWith("far-") || lot === "elsewhere")).toBe(true);
    // A grant that covers no lot (a prefix no lot has; a token without any grant): nothing.
    const nothing = bearer(await mintToken(data.dir, { sub: "ops-z", role: ["operator"], lots: ["Z-*"] }));
    const noGrant = bearer(await mintToken(data.dir, { sub: "ops-none", role: ["operator"] }));
    type Totals = { couponsIssued: number; couponsRevoked: number };
    const totals = async (auth: AuthHeaders) =>
      (await call<{ totals: Totals }>(base, "GET", "/control-center", undefined, auth)).body.totals;
    for (const auth of [nothing, noGrant]) {
      expect(await coupons(auth)).toEqual({ items: [], nextCursor: null });
      const center = await call<{ parkingLots: unknown[] }>(base, "GET", "/control-center", undefined, auth);
      expect(center.body.parkingLots).toEqual([]);
      // Not even a count of other lots' coupons.
      expect(await totals(auth)).toMatchObject({ couponsIssued: 0, couponsRevoked: 0 });
    }
    // A scoped operator counts the coupons of their lots: fewer than every lot's (far-coupons' are
    // not theirs), at least the one of scope-coupons.
    await eventually(async () => ((await totals(headers.admin)).couponsIssued >= 3 ? true : undefined));
    const mine = await totals(headers.operatorIn);
    expect(mine.couponsIssued).toBeGreaterThanOrEqual(1);
    expect(mine.couponsIssued).toBeLessThan((await totals(headers.admin)).couponsIssued);

    await eventually(async () => {
      const { body } = await call<Page>(
        base,
        "GET",
        "/reservations?carNumber=7007&limit=1",
        undefined,
        headers.admin,
      );
      return body.nextCursor !== null ? true : undefined;
    });
    const search = await call<Page>(
      base,
      "GET",
      "/reservations?carNumber=7007&limit=1",
      undefined,
      headers.operatorIn,
    );
    expect(search.body).toEqual({ items: [], nextCursor: null });
  });

  it("issue 46: a lot outside the grant is 404 parking-lot-not-found, saying only it is not among the caller's", async () => {
    // Anyone may see LOT: "does not exist" would be false.
    for (const path of [`/parking-lots/${LOT}/money`, `/reservations?parkingLotId=${LOT}`]) {
      const outside = await call(base, "GET", path, undefined, headers.operatorOut);
      expect(outside.status, path).toBe(404);
      expect(outside.body.type).toBe("/problems/parking-lot-not-found");
      expect(outside.body.detail, path).toBe(`No parking lot ${LOT} is among your lots.`);
    }
  });

  it("registering: an operator only a lot id their grant covers, naming it", async () => {
    const nameless = await call(
      base,
      "POST",
      "/parking-lots",
      { name: "No id", capacity: 2 },
      headers.operatorIn,
    );
    expect(nameless.status).toBe(403);
    const foreign = await call(
      base,
      "POST",
      "/parking-lots",
      { parkingLotId: "other-1", name: "Other", capacity: 2 },
      headers.operatorIn,
    );
    expect(foreign.status).toBe(403);
    expect(String(foreign.body.detail)).toContain("outside the lots");
  });
});
