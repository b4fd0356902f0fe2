import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../../app/server.js";
import type { HistoryEntry, HistoryPage } from "../../schemas/history.js";
import { ANONYMOUS, customerHeaders, operatorHeaders } from "../../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir } from "../../test-support/service.js";

/**
 * An afternoon of a lot with two spots, over real HTTP with a clock the test moves: the lot fills
 * at 14:00, a third customer is refused at 14:01, an operator cancels a booking at 14:05, another
 * car checks in and out. The lot's history and each reservation's say who did what, when and why,
 * from the log alone; a customer sees only their own reservation's.
 */
const DAY = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString().slice(0, 10);
const at = (hhmm: string) => `${DAY}T${hhmm}:00.000Z`;
const LOT = "cheongdam-1";
const OPS = "ops-kim";

describe("the audit trail", () => {
  const data = tempDataDir("parking-history-");
  let now = Date.parse(at("13:50"));
  let service: RunningService;
  const ids: Record<string, string> = {};
  let position = "0";

  const as = async (who: string) =>
    who === OPS ? operatorHeaders(data.dir, OPS) : customerHeaders(data.dir, who);
  const command = async (who: string, method: string, path: string, body?: unknown) => {
    const answer = await call<{ reservationId?: string; position?: string }>(
      service.url,
      method,
      path,
      body,
      await as(who),
    );
    if (answer.body.position) position = answer.body.position;
    return answer;
  };
  const lotHistory = async (query = "") =>
    call<HistoryPage>(service.url, "GET", `/parking-lots/${LOT}/history${query}`, undefined, await as(OPS));
  /** Every page of the lot's history, following the cursor. */
  const wholeLotHistory = async (pageSize: number) => {
    const entries: HistoryEntry[] = [];
    let cursor: string | null = null;
    do {
      const page = await lotHistory(`?limit=${pageSize}${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      entries.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    return entries;
  };

  beforeAll(async () => {
    service = await startTestService(data.dir, {}, { clock: () => new Date(now) });
    const lot = { parkingLotId: LOT, name: "청담 공영주차장", capacity: 2 };
    expect((await command(OPS, "POST", "/parking-lots", lot)).status).toBe(201);
    now = Date.parse(at("14:00"));
    for (const who of ["CUST1", "CUST2"]) {
      const booked = await command(who, "POST", `/parking-lots/${LOT}/reservations`, {
        carNumber: "10더8612",
        amount: 5000,
      });
      expect(booked.status).toBe(201);
      ids[who] = String(booked.body.reservationId);
    }
    now = Date.parse(at("14:01"));
    const refused = await command("CUST3", "POST", `/parking-lots/${LOT}/reservations`, {
      carNumber: "12가3456",
      amount: 5000,
    });
    expect(refused.status).toBe(409);
    now = Date.parse(at("14:05"));
    const canceled = await command(OPS, "DELETE", `/parking-lots/${LOT}/reservations/${ids.CUST1}`, {
      reason: "car blocking the exit",
    });
    expect(canceled.status).toBe(200);
    now = Date.parse(at("14:10"));
    expect(
      (await command("CUST2", "POST", `/parking-lots/${LOT}/reservations/${ids.CUST2}/check-in`)).status,
    ).toBe(200);
    now = Date.parse(at("15:00"));
    expect(
      (await command(OPS, "POST", `/parking-lots/${LOT}/reservations/${ids.CUST2}/check-out`)).status,
    ).toBe(200);
    // The reservation's lot and position come from the read model: wait until it has the last step.
    const seen = await call(service.url, "GET", `/reservations/${ids.CUST2}?minPosition=${position}`);
    expect(seen.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  it("names who canceled what at 14:05, and why", async () => {
    const page = await lotHistory(
      `?from=${encodeURIComponent(at("14:04"))}&until=${encodeURIComponent(at("14:06"))}`,
    );
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(1);
    const [cancel] = page.body.items;
    expect(cancel).toMatchObject({
      type: "ReservationCanceled",
      at: at("14:05"),
      actor: { sub: OPS, role: "operator" },
      reason: "car blocking the exit",
      reservationId: ids.CUST1,
    });
    expect(cancel?.summary).toBe(
      `${OPS} (operator) canceled reservation ${ids.CUST1} of customer CUST1: car blocking the exit`,
    );
    expect(cancel?.correlationId).toMatch(/./);
    expect(cancel?.causationId).toMatch(/./);
  });

  it("pages the lot's facts in log order by position, the same whatever the page size", async () => {
    const whole = await wholeLotHistory(1000);
    expect(whole.map((e) => e.type)).toEqual([
      "ParkingLotRegistered",
      "ParkingReserved",
      "ParkingReserved",
      "ReservationCanceled",
      "ReservationCheckedIn",
      "ReservationCheckedOut",
    ]);
    expect(whole[0]?.actor).toEqual({ sub: OPS, role: "operator" });
    expect(await wholeLotHistory(2)).toEqual(whole);
    const positions = whole.map((e) => Number(e.position));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it("shows a reservation reserved → checked in → checked out, with its coupon, to its customer", async () => {
    const history = await eventually(async () => {
      const page = await call<HistoryPage>(
        service.url,
        "GET",
        `/reservations/${ids.CUST2}/history`,
        undefined,
        await as("CUST2"),
      );
      return page.body.items?.some((e) => e.type === "CouponIssued") ? page : undefined;
    });
    const steps = history.body.items.filter((e) => !e.type.startsWith("Coupon"));
    expect(steps.map((e) => [e.type, e.actor])).toEqual([
      ["ParkingReserved", { sub: "CUST2", role: "customer" }],
      ["ReservationCheckedIn", { sub: "CUST2", role: "customer" }],
      ["ReservationCheckedOut", { sub: OPS, role: "operator" }],
    ]);
    const coupon = history.body.items.find((e) => e.type === "CouponIssued");
    expect(coupon?.actor).toEqual({ sub: "coupon-policy", role: "system" });
    expect(coupon?.causationId).toBeTruthy();
    // Nothing of anyone else's reservation is in it.
    expect(history.body.items.every((e) => e.reservationId === ids.CUST2)).toBe(true);
  });

  it("tells the canceled customer who canceled their booking and why, a page at a time", async () => {
    const entries: HistoryEntry[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: HistoryPage } = await call<HistoryPage>(
        service.url,
        "GET",
        `/reservations/${ids.CUST1}/history?limit=1${cursor ? `&cursor=${cursor}` : ""}`,
        undefined,
        await as("CUST1"),
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(1);
      entries.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    const cancel = entries.find((e) => e.type === "ReservationCanceled");
    expect(cancel?.summary ?? "").toContain(`${OPS} (operator) canceled`);
    expect(cancel?.reason).toBe("car blocking the exit");
  });

  it("answers someone else's reservation history as not found, and the lot's only to operators", async () => {
    const other = await call(
      service.url,
      "GET",
      `/reservations/${ids.CUST2}/history`,
      undefined,
      await as("CUST3"),
    );
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain("CUST2");
    const missing = await call(
      service.url,
      "GET",
      "/reservations/nope/history",
      undefined,
      await as("CUST3"),
    );
    expect(missing.status).toBe(404);
    const customer = await call(
      service.url,
      "GET",
      `/parking-lots/${LOT}/history`,
      undefined,
      await as("CUST1"),
    );
    expect(customer.status).toBe(403);
    const anonymous = await call(service.url, "GET", `/parking-lots/${LOT}/history`, undefined, ANONYMOUS);
    expect(anonymous.status).toBe(401);
    expect((await call(service.url, "GET", "/parking-lots/nowhere/history")).status).toBe(404);
  });

  it.each([
    ["cursor=abc", "query.cursor"],
    ["cursor=99999999999999999999", "query.cursor"],
    ["from=yesterday", "query.from"],
    [`from=${encodeURIComponent(at("15:00"))}&until=${encodeURIComponent(at("14:00"))}`, "query.until"],
    ["limit=0", "query.limit"],
    ["filter[$gt]=1", "query"],
  ])("refuses a hostile query (%s) with a 400 naming it", async (query, field) => {
    const answer = await lotHistory(`?${query}`);
    expect(answer.status).toBe(400);
    const errors = (answer.body as unknown as { errors: { field: string }[] }).errors;
    expect(errors.map((e) => e.field).some((f) => f.startsWith(field))).toBe(true);
  });
});
