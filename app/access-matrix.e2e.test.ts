import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedEvent } from "../event-store/port.js";
import { openActor, openPersonalFields } from "../schemas/personal-data.js";
import {
  ANONYMOUS,
  type AuthHeaders,
  bearer,
  customerHeaders,
  forgeToken,
  hmacWithPublicKeyToken,
  mintToken,
  operatorHeaders,
  tamperedToken,
  unknownKeyToken,
  unsignedToken,
} from "../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * Every endpoint × every kind of caller over real HTTP, against the documented access table
 * (docs/api.md "Who may call what"): the status each gets, that a refused request appends nothing,
 * and that customer B can neither read nor cancel customer A's reservation.
 */

/** One request, any content type (metrics and docs are not JSON). */
async function send(
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: AuthHeaders,
): Promise<{ status: number; headers: Headers; text: string }> {
  const sent: Record<string, string> = { ...headers };
  if (sent.authorization === "") delete sent.authorization;
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...sent, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    redirect: "manual",
  });
  // A live-update stream never ends by itself: its status and headers are the answer.
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
    await response.body?.cancel();
    return { status: response.status, headers: response.headers, text: "" };
  }
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const A = "CUST-A";
const B = "CUST-B";
const LOT = "matrix-lot";
/** A lot that only the closure endpoint touches, so closing it cancels none of the others' bookings. */
const CLOSED_LOT = "matrix-closed";
const HOUR = 3_600_000;
/** A window on a whole hour, `days` ahead: always in the future, never past the lead-time bound. */
function windowAhead(days: number, hours: number): { from: string; until: string } {
  const start = Math.ceil((Date.now() + days * 24 * HOUR) / HOUR) * HOUR;
  return { from: new Date(start).toISOString(), until: new Date(start + hours * HOUR).toISOString() };
}

type Caller =
  | "anonymous"
  | "customerA"
  | "customerB"
  | "operator"
  | "expired"
  | "wrongIssuer"
  | "wrongAudience"
  | "algNone"
  | "tampered"
  | "unknownKey"
  | "hmacConfusion"
  | "notYetValid";
const VALID: readonly Caller[] = ["anonymous", "customerA", "customerB", "operator"];
const BAD: readonly Caller[] = [
  "expired",
  "wrongIssuer",
  "wrongAudience",
  "algNone",
  "tampered",
  "unknownKey",
  "hmacConfusion",
  "notYetValid",
];

interface Endpoint {
  readonly name: string;
  readonly request: (caller: Caller, ids: Ids) => { method: string; path: string; body?: unknown };
  /** Status per valid caller; every bad token gets 401. */
  readonly expect: Readonly<Record<"anonymous" | "customerA" | "customerB" | "operator", number>>;
}

interface Ids {
  /** Customer A's reservation (made in set-up). */
  readonly reservationOfA: string;
  /** Two more of A's reservations, one for A and one for the operator to check in and out. */
  readonly toCheckIn: { readonly byA: string; readonly byOperator: string };
  readonly counter: () => number;
}

const ENDPOINTS: readonly Endpoint[] = [
  {
    name: "GET /parking-lots",
    request: () => ({ method: "GET", path: "/parking-lots" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /parking-lots/{id}",
    request: () => ({ method: "GET", path: `/parking-lots/${LOT}` }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "POST /parking-lots",
    request: (_c, ids) => ({
      method: "POST",
      path: "/parking-lots",
      body: { parkingLotId: `matrix-new-${ids.counter()}`, name: "New lot", capacity: 2 },
    }),
    expect: { anonymous: 401, customerA: 403, customerB: 403, operator: 201 },
  },
  {
    name: "POST /parking-lots/{id}/reservations",
    request: (caller, ids) => ({
      method: "POST",
      path: `/parking-lots/${LOT}/reservations`,
      body: {
        ...(caller === "customerA" || caller === "customerB" ? {} : { customerId: A }),
        carNumber: `${10 + (ids.counter() % 80)}가1234`,
        amount: 1000,
      },
    }),
    expect: { anonymous: 401, customerA: 201, customerB: 201, operator: 201 },
  },
  {
    name: "DELETE /parking-lots/{id}/reservations/{A's}",
    request: (_c, ids) => ({
      method: "DELETE",
      path: `/parking-lots/${LOT}/reservations/${ids.reservationOfA}`,
      body: { reason: "matrix" },
    }),
    // B gets 404, as for a reservation that does not exist.
    expect: { anonymous: 401, customerA: 200, customerB: 404, operator: 200 },
  },
  ...(["check-in", "check-out"] as const).map(
    (step): Endpoint => ({
      name: `POST /parking-lots/{id}/reservations/{A's}/${step}`,
      request: (caller, ids) => ({
        method: "POST",
        path: `/parking-lots/${LOT}/reservations/${caller === "operator" ? ids.toCheckIn.byOperator : ids.toCheckIn.byA}/${step}`,
      }),
      // B gets 404 for A's reservation, as for one that does not exist.
      expect: { anonymous: 401, customerA: 200, customerB: 404, operator: 200 },
    }),
  ),
  {
    name: "POST /parking-lots/{id}/closures",
    request: () => ({
      method: "POST",
      path: `/parking-lots/${CLOSED_LOT}/closures`,
      body: { ...windowAhead(2, 2), reason: "matrix maintenance" },
    }),
    expect: { anonymous: 401, customerA: 403, customerB: 403, operator: 201 },
  },
  {
    name: "PUT /parking-lots/{id}/capacity",
    request: () => ({ method: "PUT", path: `/parking-lots/${LOT}/capacity`, body: { capacity: 600 } }),
    expect: { anonymous: 401, customerA: 403, customerB: 403, operator: 200 },
  },
  {
    name: "GET /parking-lots/{id}/availability",
    request: () => {
      const { from, until } = windowAhead(1, 2);
      return {
        method: "GET",
        path: `/parking-lots/${LOT}/availability?from=${encodeURIComponent(from)}&until=${encodeURIComponent(until)}`,
      };
    },
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /parking-lots/{id}/timeline",
    request: () => ({ method: "GET", path: `/parking-lots/${LOT}/timeline` }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /reservations",
    request: () => ({ method: "GET", path: "/reservations" }),
    expect: { anonymous: 401, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /reservations?customerId=A",
    request: () => ({ method: "GET", path: `/reservations?customerId=${A}` }),
    expect: { anonymous: 401, customerA: 200, customerB: 403, operator: 200 },
  },
  {
    name: "GET /reservations/{A's}",
    request: (_c, ids) => ({ method: "GET", path: `/reservations/${ids.reservationOfA}` }),
    expect: { anonymous: 401, customerA: 200, customerB: 404, operator: 200 },
  },
  {
    name: "GET /parking-lots/{id}/history",
    request: () => ({ method: "GET", path: `/parking-lots/${LOT}/history?limit=5` }),
    expect: { anonymous: 401, customerA: 403, customerB: 403, operator: 200 },
  },
  {
    name: "GET /reservations/{A's}/history",
    request: (_c, ids) => ({ method: "GET", path: `/reservations/${ids.reservationOfA}/history` }),
    // B gets 404, as for a reservation that does not exist: another customer's history reveals nothing.
    expect: { anonymous: 401, customerA: 200, customerB: 404, operator: 200 },
  },
  {
    name: "GET /customers/A/coupons",
    request: () => ({ method: "GET", path: `/customers/${A}/coupons` }),
    expect: { anonymous: 401, customerA: 200, customerB: 403, operator: 200 },
  },
  {
    name: "GET /control-center",
    request: () => ({ method: "GET", path: "/control-center" }),
    expect: { anonymous: 401, customerA: 403, customerB: 403, operator: 200 },
  },
  {
    name: "GET /control-center/events",
    request: () => ({ method: "GET", path: "/control-center/events" }),
    expect: { anonymous: 401, customerA: 403, customerB: 403, operator: 200 },
  },
  {
    name: "GET /control-center/sign-in-config",
    request: () => ({ method: "GET", path: "/control-center/sign-in-config" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET / (landing page)",
    request: () => ({ method: "GET", path: "/" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "POST /sign-out",
    request: () => ({ method: "POST", path: "/sign-out" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "POST /sessions/revoke",
    request: () => ({ method: "POST", path: "/sessions/revoke", body: { sub: "nobody-signed-in" } }),
    expect: { anonymous: 401, customerA: 403, customerB: 403, operator: 200 },
  },
  {
    name: "GET /metrics",
    request: () => ({ method: "GET", path: "/metrics" }),
    expect: { anonymous: 401, customerA: 403, customerB: 403, operator: 200 },
  },
  {
    name: "GET /healthz",
    request: () => ({ method: "GET", path: "/healthz" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /readyz",
    request: () => ({ method: "GET", path: "/readyz" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /openapi.json",
    request: () => ({ method: "GET", path: "/openapi.json" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /docs/",
    request: () => ({ method: "GET", path: "/docs/" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /problems/{name}",
    request: () => ({ method: "GET", path: "/problems/unauthorized" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /.well-known/jwks.json",
    request: () => ({ method: "GET", path: "/.well-known/jwks.json" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /.well-known/openid-configuration",
    request: () => ({ method: "GET", path: "/.well-known/openid-configuration" }),
    expect: { anonymous: 200, customerA: 200, customerB: 200, operator: 200 },
  },
  {
    name: "GET /no-such-route",
    request: () => ({ method: "GET", path: "/no-such-route" }),
    // Unlisted routes are operator-only: nobody learns what exists by probing.
    expect: { anonymous: 401, customerA: 403, customerB: 403, operator: 404 },
  },
];

describe("access matrix over real HTTP: every endpoint × every kind of caller", () => {
  const data = tempDataDir("parking-access-");
  let service: RunningService;
  let base: string;
  const headers = {} as Record<Caller, AuthHeaders>;
  let ids: Ids;

  const head = async () => (await service.services.eventStore?.headPosition())?.commit ?? 0;
  const settled = () =>
    eventually(async () => {
      const { body } = await call<{ projections: Array<{ lag: number | null }> }>(
        base,
        "GET",
        "/control-center",
      );
      return body.projections.every((p) => p.lag === 0) ? true : undefined;
    });

  beforeAll(async () => {
    service = await startTestService(data.dir);
    base = service.url;
    const customerA = await customerHeaders(data.dir, A);
    headers.anonymous = ANONYMOUS;
    headers.customerA = customerA;
    headers.customerB = await customerHeaders(data.dir, B);
    headers.operator = await operatorHeaders(data.dir);
    headers.expired = bearer(
      await forgeToken(data.dir, { sub: "ops-x", roles: ["operator"], expiresIn: -120 }),
    );
    headers.notYetValid = bearer(
      await forgeToken(data.dir, { sub: "ops-x", roles: ["operator"], notBefore: 600 }),
    );
    headers.wrongIssuer = bearer(
      await forgeToken(data.dir, { sub: "ops-x", roles: ["operator"], issuer: "https://evil.example" }),
    );
    headers.wrongAudience = bearer(
      await mintToken(data.dir, { sub: "ops-x", role: "operator", audience: "another-api" }),
    );
    headers.algNone = bearer(unsignedToken("ops-x", ["operator"]));
    headers.tampered = bearer(tamperedToken(customerA.authorization.slice(7), { roles: ["operator"] }));
    headers.unknownKey = bearer(await unknownKeyToken("ops-x", ["operator"]));
    headers.hmacConfusion = bearer(await hmacWithPublicKeyToken(data.dir, "ops-x", ["operator"]));

    expect(
      (
        await call(base, "POST", "/parking-lots", {
          parkingLotId: LOT,
          name: "Matrix",
          capacity: 500,
          maxActivePerCustomer: 20,
          couponRule: { minStayMinutes: 0 }, // the stay below earns a coupon at once
        })
      ).status,
    ).toBe(201);
    expect(
      (await call(base, "POST", "/parking-lots", { parkingLotId: CLOSED_LOT, name: "Closed", capacity: 5 }))
        .status,
    ).toBe(201);
    const reserved = await call(
      base,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { carNumber: "10더8612", amount: 5000 },
      customerA,
    );
    expect(reserved.status).toBe(201);
    // A stay of A's (in and out) earns a coupon: the coupon policy acts, as a system actor.
    const stayed = await call(
      base,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { carNumber: "13더1313", amount: 5000 },
      customerA,
    );
    for (const step of ["check-in", "check-out"]) {
      const path = `/parking-lots/${LOT}/reservations/${stayed.body.reservationId}/${step}`;
      expect((await call(base, "POST", path, undefined, customerA)).status).toBe(200);
    }
    const toCheckIn = async (carNumber: string) => {
      const made = await call(
        base,
        "POST",
        `/parking-lots/${LOT}/reservations`,
        { carNumber, amount: 2000 },
        customerA,
      );
      expect(made.status).toBe(201);
      return made.body.reservationId as string;
    };
    let n = 0;
    ids = {
      reservationOfA: reserved.body.reservationId as string,
      toCheckIn: { byA: await toCheckIn("11더1111"), byOperator: await toCheckIn("12더1212") },
      counter: () => ++n,
    };
    await call(
      base,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { carNumber: "22더2222", amount: 5000 },
      headers.customerB,
    );
    await settled();
  });
  afterAll(async () => {
    await service.shutdown("test done");
    data.remove();
  });

  it("every refused request gets its documented 401/403/404 and appends nothing to the log", async () => {
    const before = await head();
    const seen: string[] = [];
    for (const endpoint of ENDPOINTS) {
      for (const caller of [...VALID, ...BAD]) {
        const expected = BAD.includes(caller) ? 401 : endpoint.expect[caller as keyof Endpoint["expect"]];
        if (expected < 400) continue;
        const { method, path, body } = endpoint.request(caller, ids);
        const response = await send(base, method, path, body, headers[caller]);
        seen.push(`${endpoint.name} as ${caller}: ${response.status}`);
        expect(response.status, `${endpoint.name} as ${caller}`).toBe(expected);
        expect(response.headers.get("content-type"), `${endpoint.name} as ${caller}`).toContain(
          "application/problem+json",
        );
        if (expected === 401) {
          const challenge = response.headers.get("www-authenticate") ?? "";
          expect(challenge, `${endpoint.name} as ${caller}`).toMatch(/^Bearer realm="parking-reservations"/);
          if (BAD.includes(caller)) expect(challenge).toContain('error="invalid_token"');
        }
      }
    }
    expect(seen.length).toBeGreaterThan(150);
    // Nothing refused wrote anything (and nothing else was running: the log had settled).
    expect(await head()).toBe(before);
    // B's attempts left A's reservation as it was.
    const a = await call(base, "GET", `/reservations/${ids.reservationOfA}`, undefined, headers.customerA);
    expect(a.body.status).toBe("RESERVED");
  });

  it("every allowed request gets its documented 2xx", async () => {
    for (const endpoint of ENDPOINTS) {
      for (const caller of VALID) {
        const expected = endpoint.expect[caller as keyof Endpoint["expect"]];
        if (expected >= 400) continue;
        const { method, path, body } = endpoint.request(caller, ids);
        const response = await send(base, method, path, body, headers[caller]);
        expect(response.status, `${endpoint.name} as ${caller}: ${response.text.slice(0, 300)}`).toBe(
          expected,
        );
      }
    }
  });

  it("the served document says of every endpoint who may call it, as the matrix finds (security, x-roles)", async () => {
    type Documented = { security?: unknown; "x-roles"?: string[] };
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Documented>>;
    };
    const templates = Object.keys(document.paths).sort(
      (a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0),
    );
    const documented = (method: string, path: string) => {
      const template = templates.find((t) => new RegExp(`^${t.replace(/\{\w+\}/g, "[^/]+")}$`).test(path));
      return template ? document.paths[template]?.[method.toLowerCase()] : undefined;
    };
    const compared: string[] = [];
    for (const endpoint of ENDPOINTS) {
      const { method, path } = endpoint.request("operator", ids);
      const operation = documented(method, path.split("?")[0] ?? path);
      if (!operation) continue;
      const { anonymous, customerA, operator } = endpoint.expect;
      if (anonymous !== 401) {
        expect(operation.security, endpoint.name).toEqual([]);
        expect(operation["x-roles"], endpoint.name).toBeUndefined();
      } else {
        // Operators and admins alike here (app/scoped-operators.e2e.test.ts tells them, and attendants, apart).
        const roles = [
          ...(customerA === 403 ? [] : ["customer"]),
          ...(operator === 403 ? [] : ["operator", "admin"]),
        ];
        const documented = (operation["x-roles"] ?? []).filter((role) => role !== "attendant");
        expect(documented, endpoint.name).toEqual(roles);
        expect(
          (operation.security as { bearerAuth: string[] }[]).filter((s) => s.bearerAuth[0] !== "attendant"),
          endpoint.name,
        ).toEqual(roles.map((role) => ({ bearerAuth: [role] })));
      }
      compared.push(endpoint.name);
    }
    // All but GET /docs/ (Swagger UI, not an operation) and the unlisted route.
    expect(compared).toHaveLength(ENDPOINTS.length - 2);
  });

  it("every kind of caller gets OPTIONS' Allow and a wrong method's 405 on a documented path, and nothing is appended", async () => {
    const before = await head();
    for (const caller of VALID) {
      const options = await send(base, "OPTIONS", "/parking-lots", undefined, headers[caller]);
      expect(options.status, `OPTIONS as ${caller}`).toBe(204);
      expect(options.headers.get("allow")?.split(", ").sort(), `OPTIONS as ${caller}`).toEqual([
        "GET",
        "POST",
      ]);
      for (const [method, path, allow] of [
        ["PUT", "/parking-lots", "GET, POST"],
        ["DELETE", `/parking-lots/${LOT}`, "GET"],
        ["PATCH", `/parking-lots/${LOT}/capacity`, "PUT"],
      ] as const) {
        const wrong = await send(base, method, path, { capacity: 1 }, headers[caller]);
        expect(wrong.status, `${method} ${path} as ${caller}`).toBe(405);
        expect(
          wrong.headers.get("allow")?.split(", ").sort().join(", "),
          `${method} ${path} as ${caller}`,
        ).toBe(allow.split(", ").sort().join(", "));
        expect(JSON.parse(wrong.text)).toMatchObject({ type: "/problems/method-not-allowed", status: 405 });
      }
    }
    expect(await head()).toBe(before);
  });

  it("a customer's listing holds only their own reservations; an operator's holds everyone's", async () => {
    await settled();
    const customersIn = async (caller: Caller) => {
      const { body } = await call<{ items: Array<{ customerId: string }> }>(
        base,
        "GET",
        "/reservations?limit=200",
        undefined,
        headers[caller],
      );
      return new Set(body.items.map((r) => r.customerId));
    };
    expect([...(await customersIn("customerB"))]).toEqual([B]);
    expect([...(await customersIn("customerA"))]).toEqual([A]);
    expect([...(await customersIn("operator"))].sort()).toEqual([A, B]);
  });

  it("records who acted in each event's metadata, never the token", async () => {
    // The log holds a customer's id sealed under their key (issue 36): read it as the service does.
    const events: RecordedEvent[] = [];
    for await (const e of service.services.eventStore!.readAll({ maxCount: 50 }))
      events.push({
        ...e,
        data: openPersonalFields(e.data),
        metadata: openActor(e.metadata),
      } as RecordedEvent);
    const reservedByA = events.find(
      (e) => e.type === "ParkingReserved" && (e.data as { customerId: string }).customerId === A,
    );
    expect(reservedByA?.metadata.actor).toEqual({ sub: A, role: "customer" });
    const registered = events.find((e) => e.type === "ParkingLotRegistered");
    expect(registered?.metadata.actor).toEqual({ sub: "ops-test", role: "operator" });
    const coupon = events.find((e) => e.type === "CouponIssued");
    expect(coupon?.metadata.actor).toEqual({ sub: "coupon-policy", role: "system" });
    expect(JSON.stringify(events.map((e) => e.metadata))).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
    const raw: RecordedEvent[] = [];
    for await (const e of service.services.eventStore!.readAll({ maxCount: 50 })) raw.push(e);
    expect(JSON.stringify(raw)).not.toContain(A);
  });

  it("a customer books only for themselves; an operator must name the customer and give a cancel reason", async () => {
    const before = await head();
    const forOther = await call(
      base,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { customerId: B, carNumber: "10더8612", amount: 1000 },
      headers.customerA,
    );
    expect(forOther.status).toBe(403);
    const noCustomer = await call(
      base,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { carNumber: "10더8612", amount: 1000 },
      headers.operator,
    );
    expect(noCustomer.status).toBe(400);
    expect(noCustomer.body.errors).toEqual([expect.objectContaining({ field: "body.customerId" })]);
    const noReason = await call(
      base,
      "DELETE",
      `/parking-lots/${LOT}/reservations/${ids.reservationOfA}`,
      undefined,
      headers.operator,
    );
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors).toEqual([expect.objectContaining({ field: "body.reason" })]);
    const wrongScheme = await call(base, "GET", "/reservations", undefined, {
      authorization: "Basic b3BzOm9wcw==",
    });
    expect(wrongScheme.status).toBe(401);
    expect(wrongScheme.headers.get("www-authenticate")).toContain('error="invalid_request"');
    expect(await head()).toBe(before);
  });

  it("Idempotency-Key ids are per customer and unpredictable; a reused key with another body is 422 revealing nothing", async () => {
    const body = { carNumber: "33더3333", amount: 3000 };
    const key = { "Idempotency-Key": "same-key-for-both" };
    const byA = await call(base, "POST", `/parking-lots/${LOT}/reservations`, body, {
      ...headers.customerA,
      ...key,
    });
    const byB = await call(base, "POST", `/parking-lots/${LOT}/reservations`, body, {
      ...headers.customerB,
      ...key,
    });
    expect(byA.status).toBe(201);
    expect(byB.status).toBe(201);
    expect(byA.body.reservationId).not.toBe(byB.body.reservationId);
    expect(byA.body.reservationId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const retry = await call(base, "POST", `/parking-lots/${LOT}/reservations`, body, {
      ...headers.customerA,
      ...key,
    });
    expect(retry.status).toBe(200);
    expect(retry.body.reservationId).toBe(byA.body.reservationId);
    // The operator booking for A with A's key is the same booking (same lot, customer and key).
    const desk = await call(
      base,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { ...body, customerId: A },
      { ...headers.operator, ...key },
    );
    expect(desk.body.reservationId).toBe(byA.body.reservationId);
    const reused = await call(
      base,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { ...body, amount: 1 },
      { ...headers.customerA, ...key },
    );
    expect(reused.status).toBe(422);
    expect(JSON.stringify(reused.body)).not.toContain(String(byA.body.reservationId));
  });
});
