import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../../app/server.js";
import { bearer, mintToken } from "../../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../../test-support/service.js";

/**
 * An operator's closure retried after a lost answer (a timeout, a dropped connection) with the same
 * Idempotency-Key closes the lot once: the retry answers 200 with the first closure's id and appends
 * nothing; the same key over another window is a 422; the key is the lot's, so another operator's
 * retry finds it and another lot's same key is another closure. Before, every request closed the lot
 * again (the closure id was fresh each time), so a retry listed the same closure twice and spent
 * one more of the lot's pending closures.
 */
let service: RunningService;
let data: { dir: string; remove: () => void };
const NOW = Date.parse("2026-11-28T03:00:00.000Z");
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
let ops: Record<string, string>;
let other: Record<string, string>;
let customer: Record<string, string>;

beforeAll(async () => {
  data = tempDataDir("closure-retries-");
  service = await startTestService(data.dir, {}, { clock: () => new Date(NOW) });
  ops = bearer(await mintToken(data.dir, { sub: "ops-1", role: "operator" }));
  other = bearer(await mintToken(data.dir, { sub: "ops-2", role: "operator" }));
  customer = bearer(await mintToken(data.dir, { sub: "CUST-C", role: "customer" }));
  for (const lot of ["CL-1", "CL-2"]) {
    const made = await call(
      service.url,
      "POST",
      "/parking-lots",
      { parkingLotId: lot, name: lot, capacity: 5 },
      ops,
    );
    expect(made.status).toBe(201);
  }
});
afterAll(async () => {
  await service?.shutdown("test done");
  data?.remove();
});

const close = (lot: string, from: number, until: number, who: Record<string, string>, key?: string) =>
  call<{ closureId: string; canceledReservations: string[]; position: string }>(
    service.url,
    "POST",
    `/parking-lots/${lot}/closures`,
    { from: iso(from), until: iso(until), reason: "repaving" },
    { ...who, ...(key === undefined ? {} : { "idempotency-key": key }) },
  );
const factsOf = async (lot: string) =>
  (
    await call<{ items: unknown[] }>(
      service.url,
      "GET",
      `/parking-lots/${lot}/history?limit=1000`,
      undefined,
      ops,
    )
  ).body.items.length;
const closuresOf = async (lot: string, position: string) =>
  (
    await call<{ closures: { closureId: string }[] }>(
      service.url,
      "GET",
      `/parking-lots/${lot}?minPosition=${position}`,
      undefined,
      ops,
    )
  ).body.closures.map((c) => c.closureId);

describe("a closure retried with its Idempotency-Key", () => {
  it("closes once: the retry (another operator's too) answers 200 with the first closure, nothing appended", async () => {
    const booked = await call<{ reservationId: string }>(
      service.url,
      "POST",
      "/parking-lots/CL-1/reservations",
      { carNumber: "12가3456", amount: 5000, startsAt: iso(NOW + 2 * HOUR), endsAt: iso(NOW + 3 * HOUR) },
      customer,
    );
    expect(booked.status).toBe(201);
    const first = await close("CL-1", NOW + HOUR, NOW + 5 * HOUR, ops, "close-1");
    expect(first.status).toBe(201);
    expect(first.body.canceledReservations).toEqual([booked.body.reservationId]);
    const facts = await factsOf("CL-1");
    for (const who of [ops, other]) {
      const again = await close("CL-1", NOW + HOUR, NOW + 5 * HOUR, who, "close-1");
      expect(again.status).toBe(200);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(again.body).toMatchObject({ closureId: first.body.closureId, canceledReservations: [] });
    }
    expect(await factsOf("CL-1")).toBe(facts);
    expect(await closuresOf("CL-1", first.body.position)).toEqual([first.body.closureId]);
  });

  it("the same key over another window is a 422 idempotency-key-reused, nothing appended", async () => {
    const first = await close("CL-1", NOW + 10 * HOUR, NOW + 11 * HOUR, ops, "close-2");
    expect(first.status).toBe(201);
    const facts = await factsOf("CL-1");
    const changed = await close("CL-1", NOW + 10 * HOUR, NOW + 12 * HOUR, ops, "close-2");
    expect(changed.status).toBe(422);
    expect(changed.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(changed.body).toMatchObject({ type: expect.stringMatching(/idempotency-key-reused$/) });
    expect(await factsOf("CL-1")).toBe(facts);
  });

  it("the key is the lot's: another lot's same key is another closure; without a key each request closes again", async () => {
    const one = await close("CL-1", NOW + 20 * HOUR, NOW + 21 * HOUR, ops, "close-3");
    const two = await close("CL-2", NOW + 20 * HOUR, NOW + 21 * HOUR, ops, "close-3");
    expect([one.status, two.status]).toEqual([201, 201]);
    expect(two.body.closureId).not.toBe(one.body.closureId);
    const a = await close("CL-2", NOW + 30 * HOUR, NOW + 31 * HOUR, ops);
    const b = await close("CL-2", NOW + 30 * HOUR, NOW + 31 * HOUR, ops);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.closureId).not.toBe(a.body.closureId);
  });
});
