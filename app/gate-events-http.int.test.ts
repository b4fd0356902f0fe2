import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, mintToken } from "../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * Hunt (gates) over HTTP, one in-process service: SPEC "Qualities": bad input gets a clear 4xx
 * problem, never a 500, never a stray event; "Identity and access": an attendant or operator of
 * the lot only; "Places, clocks and gates".
 */
let service: RunningService;
let data: { dir: string; remove: () => void };
let base: string;
const headers: Record<string, Record<string, string>> = {};
const LOT = "HUNT-1";
const OTHER = "HUNT-2";

beforeAll(async () => {
  data = tempDataDir("gate-events-http-");
  service = await startTestService(data.dir);
  base = service.url;
  const token = async (name: string, claims: Parameters<typeof mintToken>[1]) => {
    headers[name] = bearer(await mintToken(data.dir, claims));
  };
  await token("admin", { sub: "ops-admin", role: "admin" });
  await token("attendant", { sub: "att-1", role: "attendant", lots: [LOT] });
  await token("gate", { sub: "gate-1", role: "gate", lots: [LOT] });
  await token("otherOperator", { sub: "ops-2", role: "operator", lots: [OTHER] });
  await token("customer", { sub: "CUST1", role: "customer" });
  for (const id of [LOT, OTHER]) {
    const made = await call(
      base,
      "POST",
      "/parking-lots",
      { parkingLotId: id, name: id, capacity: 100, hourlyRate: 3000, maxActivePerCustomer: 100 },
      headers.admin,
    );
    expect(made.status).toBe(201);
  }
});
afterAll(async () => {
  await service?.shutdown("test done");
  data?.remove();
});

let n = 0;
const gateRead = (over: Record<string, unknown> = {}) => ({
  eventId: `cam-${++n}`,
  gateId: "north",
  direction: "entry",
  plate: "77가7777",
  confidence: 0.95,
  at: new Date().toISOString(),
  ...over,
});
const lotEventCount = async () => {
  const { body } = await call<{ totalReservations?: number; activeReservations?: number }>(
    base,
    "GET",
    `/parking-lots/${LOT}`,
    undefined,
    headers.admin,
  );
  return body;
};

describe("who may post a gate read", () => {
  it("the lot's attendant and gate credential: 200; a customer: 403; an operator of other lots: 404 like a missing lot", async () => {
    const post = (who: string, lot = LOT) =>
      call(base, "POST", `/parking-lots/${lot}/gate-events`, gateRead({ confidence: 0.1 }), headers[who]);
    expect((await post("attendant")).status).toBe(200);
    expect((await post("gate")).status).toBe(200);
    const customer = await post("customer");
    expect(customer.status).toBe(403);
    expect(customer.headers.get("content-type")).toMatch(/application\/problem\+json/);
    const outside = await post("otherOperator");
    const missing = await post("otherOperator", "HUNT-NOPE");
    expect(outside.status).toBe(404);
    expect(missing.status).toBe(404);
    const strip = (b: Record<string, unknown>) =>
      JSON.stringify(b)
        .replaceAll(LOT, "?")
        .replaceAll("HUNT-NOPE", "?")
        .replace(/"instance":"[^"]*"/, "");
    expect(strip(outside.body)).toBe(strip(missing.body));
  });
});

describe("a camera's `at` never makes a 500", () => {
  for (const at of ["2016-12-31T23:59:60Z", "9999-12-31T23:59:59-01:00"]) {
    it(`at ${at}: a 4xx problem (or a decision), and nothing appended on a refusal`, async () => {
      const before = await lotEventCount();
      const answer = await call(
        base,
        "POST",
        `/parking-lots/${LOT}/gate-events`,
        gateRead({ at }),
        headers.gate,
      );
      expect({ status: answer.status, type: (answer.body as { type?: string }).type }).not.toMatchObject({
        status: 500,
      });
      if (answer.status >= 400) {
        expect(answer.headers.get("content-type")).toMatch(/application\/problem\+json/);
        await new Promise((r) => setTimeout(r, 300));
        expect(await lotEventCount()).toEqual(before);
      }
    });
  }
});

describe("a plate with many bookings", () => {
  it("a doubtful read of a plate booked 21 times answers review, not 500", async () => {
    const plate = "88나8888";
    const day = 86_400_000;
    const t0 = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
    for (let i = 0; i < 21; i++) {
      const startsAt = new Date(t0 + (i + 1) * day).toISOString();
      const endsAt = new Date(t0 + (i + 1) * day + 3_600_000).toISOString();
      const booked = await call(
        base,
        "POST",
        `/parking-lots/${LOT}/reservations`,
        { carNumber: plate, startsAt, endsAt, customerId: "commuter-1" },
        headers.admin,
      );
      expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    }
    const answer = await call(
      base,
      "POST",
      `/parking-lots/${LOT}/gate-events`,
      gateRead({ plate, confidence: 0.5 }),
      headers.gate,
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  });
});

describe("a plate fragment finds every plate that holds it", () => {
  it("`?carNumber=9-` (one character once the hyphen is ignored) finds a plate ending in 9, or is refused", async () => {
    const booked = await call(
      base,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { carNumber: "55다5559", customerId: "frag-1" },
      headers.admin,
    );
    expect(booked.status).toBe(201);
    const query = `/reservations?parkingLotId=${LOT}&carNumber=${encodeURIComponent("9-")}`;
    const answer = await eventually(async () => {
      const a = await call<{ items?: { carNumber: string }[] }>(base, "GET", query, undefined, headers.admin);
      // Wait until the projection has the booking (found by a two-character fragment).
      const seen = await call<{ items?: unknown[] }>(
        base,
        "GET",
        `/reservations?parkingLotId=${LOT}&carNumber=5559`,
        undefined,
        headers.admin,
      );
      return (seen.body.items?.length ?? 0) > 0 ? a : undefined;
    });
    if (answer.status === 200) expect(answer.body.items?.map((r) => r.carNumber)).toContain("55다5559");
    else expect(answer.status).toBe(400);
  });
});
