import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, mintToken } from "../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * Hunt (money) over HTTP, one in-process service on a clock the test moves: a stay long enough at
 * the highest rate (1,000,000 an hour: 100 hours reach the most one amount holds) is refused at the
 * check-out with 409 `stay-price-too-high` and at the gate's exit with `deny`, appending nothing;
 * before, both were a 500 on every try (the check-out's event failed its schema), the car stuck.
 */
let service: RunningService;
let data: { dir: string; remove: () => void };
let base: string;
let now = Date.now();
const headers: Record<string, Record<string, string>> = {};
const LOT = "PRICEY-1";
const HOUR = 3_600_000;

beforeAll(async () => {
  data = tempDataDir("stay-price-http-");
  service = await startTestService(data.dir, {}, { clock: () => new Date(now) });
  base = service.url;
  headers.admin = bearer(await mintToken(data.dir, { sub: "ops-admin", role: "admin" }));
  headers.customer = bearer(await mintToken(data.dir, { sub: "CUST-P", role: "customer" }));
  const made = await call(
    base,
    "POST",
    "/parking-lots",
    { parkingLotId: LOT, name: LOT, capacity: 10, hourlyRate: 1_000_000 },
    headers.admin,
  );
  expect(made.status).toBe(201);
});
afterAll(async () => {
  await service?.shutdown("test done");
  data?.remove();
});

const lotHistory = async () =>
  (
    await call<{ position: string }>(
      base,
      "GET",
      `/parking-lots/${LOT}/history?limit=100`,
      undefined,
      headers.admin,
    )
  ).body;

describe("a stay that would cost more than one amount holds", () => {
  it("check-out: 409 stay-price-too-high naming the price, nothing appended; an operator's cancel ends the stay", async () => {
    const booked = await call<{ reservationId: string }>(
      base,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { carNumber: "12가3456" },
      headers.customer,
    );
    expect(booked.status).toBe(201);
    const path = `/parking-lots/${LOT}/reservations/${booked.body.reservationId}`;
    expect((await call(base, "POST", `${path}/check-in`, undefined, headers.customer)).status).toBe(200);
    now += 100 * HOUR + 60_000;
    const before = await lotHistory();
    const refused = await call<Record<string, unknown>>(
      base,
      "POST",
      `${path}/check-out`,
      undefined,
      headers.customer,
    );
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({
      type: "/problems/stay-price-too-high",
      price: 100_016_667,
      maximum: 100_000_000,
    });
    expect(await lotHistory()).toEqual(before);
    // An operator ends the stay by canceling it.
    const canceled = await call(base, "DELETE", path, { reason: "settled at the lot" }, headers.admin);
    expect(canceled.status).toBe(200);
  });

  it("gate exit: deny with the refusal's code, recorded (a retry answers it again), not a 500", async () => {
    const read = (eventId: string, direction: "entry" | "exit") =>
      call<Record<string, unknown>>(
        base,
        "POST",
        `/parking-lots/${LOT}/gate-events`,
        {
          eventId,
          gateId: "north",
          direction,
          plate: "77가7777",
          confidence: 0.99,
          at: new Date(now).toISOString(),
        },
        headers.admin,
      );
    expect((await read("in-1", "entry")).body).toMatchObject({ decision: "open", reason: "DriveUp" });
    now += 101 * HOUR;
    const denied = await read("out-1", "exit");
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({ decision: "deny", reason: "StayPriceTooHigh" });
    const again = await read("out-1", "exit");
    expect(again.body).toMatchObject({ decision: "deny", reason: "StayPriceTooHigh", replayed: true });
  });
});
