import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { PROCESSOR_NAMES } from "../projections/processors.js";
import { customerHeaders } from "../test-support/auth.js";
import { plateFor } from "../test-support/seed.js";
import {
  call,
  eventually,
  type JsonResponse,
  startTestService,
  tempDataDir,
} from "../test-support/service.js";

/**
 * The query API over real HTTP on the all-in-one service (embedded stores): the walk-through a
 * new user does first, paging, bad input and the problems it earns.
 */

const RYW_TIMEOUT_MS = 1_000;

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
}

interface Reservation {
  reservationId: string;
  parkingLotId: string;
  customerId: string;
  carNumber: string;
  amount: number;
  status: "RESERVED" | "CANCELED";
  coupon?: {
    couponId: string;
    status: "ISSUED" | "REVOKED" | "REDEEMED";
    issuedAt: string;
    revokedAt?: string;
    redeemedFor?: string;
  };
}

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

interface ProjectionStatus {
  name: string;
  state: string;
  position: string | null;
  headPosition: string | null;
  lag: number | null;
}

interface ControlCenter {
  totals: Record<string, number>;
  parkingLots: { parkingLotId: string; capacity: number; availableSpots: number }[];
  parkingLotsNextCursor: string | null;
  projections: ProjectionStatus[];
}

function expectProblem(response: JsonResponse, status: number, type: string): Problem {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  const problem = response.body as unknown as Problem;
  expect(problem.type).toBe(`/problems/${type}`);
  expect(problem.status).toBe(status);
  expect(problem.title).toEqual(expect.any(String));
  return problem;
}

async function startService(): Promise<{ service: RunningService; dir: string; remove: () => void }> {
  const data = tempDataDir("parking-query-api-");
  const service = await startTestService(data.dir, { READ_YOUR_WRITES_TIMEOUT_MS: String(RYW_TIMEOUT_MS) });
  return { service, dir: data.dir, remove: data.remove };
}

describe("query API: the first session of a new user", () => {
  let env: { service: RunningService; dir: string; remove: () => void };
  let base: string;
  /** Customer CUST1's token: the operator registers lots, the customer books, reads and cancels. */
  let cust1: Record<string, string>;
  beforeAll(async () => {
    env = await startService();
    base = env.service.url;
    cust1 = await customerHeaders(env.dir, "CUST1");
  });
  afterAll(async () => {
    await env.service.shutdown("test done");
    env.remove();
  });

  it("the seed's flow: a lot with 5 spots and a full one; reserve, see 4 left and a coupon issued; cancel, see 5 and the coupon revoked; a stay keeps its coupon", async () => {
    // Any stay on this lot keeps its coupon (its couponRule), so the test need not wait 15 minutes.
    const couponRule = { minStayMinutes: 0 };
    expect(
      (
        await call(base, "POST", "/parking-lots", {
          parkingLotId: "1",
          name: "강남 1주차장",
          capacity: 5,
          couponRule,
        })
      ).status,
    ).toBe(201);
    expect(
      (await call(base, "POST", "/parking-lots", { parkingLotId: "full", name: "만차 주차장", capacity: 0 }))
        .status,
    ).toBe(201);

    // The full lot refuses, with a problem document whose type is documented.
    const refused = await call(
      base,
      "POST",
      "/parking-lots/full/reservations",
      { carNumber: "10더8612", amount: 5000 },
      cust1,
    );
    expectProblem(refused, 409, "parking-lot-full");
    const docs = await call(base, "GET", String(refused.body.type));
    expect(docs.status).toBe(200);

    const reserved = await call<{ reservationId: string; position: string; status: string }>(
      base,
      "POST",
      "/parking-lots/1/reservations",
      { carNumber: "10더8612", amount: 5000 },
      { ...cust1, "Idempotency-Key": "order-1" },
    );
    expect(reserved.status).toBe(201);
    expect(reserved.body.status).toBe("RESERVED");
    const { reservationId, position } = reserved.body;
    expect(reserved.headers.get("location")).toBe(`/reservations/${reservationId}`);

    // Read-your-writes: one query, no polling.
    const lot = await call(base, "GET", `/parking-lots/1?minPosition=${position}`);
    expect(lot.status).toBe(200);
    expect(lot.body).toMatchObject({
      parkingLotId: "1",
      name: "강남 1주차장",
      capacity: 5,
      availableSpots: 4,
      activeReservations: 1,
      totalReservations: 1,
      canceledReservations: 0,
    });
    const full = await call(base, "GET", `/parking-lots/full?minPosition=${position}`);
    expect(full.body).toMatchObject({ capacity: 0, availableSpots: 0, totalReservations: 0 });

    const mine = await call<Reservation>(
      base,
      "GET",
      `/reservations/${reservationId}?minPosition=${position}`,
      undefined,
      cust1,
    );
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({
      reservationId,
      parkingLotId: "1",
      customerId: "CUST1",
      carNumber: "10더8612",
      amount: 5000,
      status: "RESERVED",
    });
    // The seed's flow (issue 47): the booking makes CUST1 a coupon recipient at once; the policy is
    // asynchronous, so the coupon shows once it has acted (예약됨, then 쿠폰발행됨).
    const booked = await eventually(async () => {
      const r = await call<Reservation>(base, "GET", `/reservations/${reservationId}`, undefined, cust1);
      return r.body.coupon?.status === "ISSUED" ? r.body : undefined;
    });
    expect(booked).toMatchObject({ status: "RESERVED", coupon: { issuedAt: expect.any(String) } });
    const listed = await call<Page<Record<string, unknown>>>(
      base,
      "GET",
      "/customers/CUST1/coupons",
      undefined,
      cust1,
    );
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        couponId: booked.coupon?.couponId,
        reservationId,
        parkingLotId: "1",
        customerId: "CUST1",
        status: "ISSUED",
      }),
    ]);
    const recipients = await eventually(async () => {
      const c = await call<ControlCenter>(base, "GET", "/control-center");
      return c.body.totals.couponsIssued === 1 ? c.body.totals : undefined;
    });
    expect(recipients).toMatchObject({ couponsIssued: 1, couponsRevoked: 0 });

    const canceled = await call<{ status: string; position: string }>(
      base,
      "DELETE",
      `/parking-lots/1/reservations/${reservationId}`,
      undefined,
      cust1,
    );
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe("CANCELED");
    const back = await call(base, "GET", `/parking-lots/1?minPosition=${canceled.body.position}`);
    expect(back.body).toMatchObject({
      availableSpots: 5,
      activeReservations: 0,
      totalReservations: 1,
      canceledReservations: 1,
    });
    // Canceling the booking takes the coupon back (쿠폰회수됨), on the reservation and in the list.
    const revoked = await eventually(async () => {
      const r = await call<Reservation>(base, "GET", `/reservations/${reservationId}`, undefined, cust1);
      return r.body.coupon?.status === "REVOKED" ? r.body : undefined;
    });
    expect(revoked).toMatchObject({ status: "CANCELED", coupon: { couponId: booked.coupon?.couponId } });
    const afterCancel = await call<Page<Record<string, unknown>>>(
      base,
      "GET",
      "/customers/CUST1/coupons",
      undefined,
      cust1,
    );
    expect(afterCancel.body.items.map((c) => [c.reservationId, c.status])).toEqual([
      [reservationId, "REVOKED"],
    ]);

    // A stay that meets the lot's rule (any length here) keeps the coupon its booking got.
    const stay = await call<{ reservationId: string }>(
      base,
      "POST",
      "/parking-lots/1/reservations",
      { carNumber: "10더8612", amount: 5000 },
      cust1,
    );
    expect(stay.status).toBe(201);
    const stayPath = `/parking-lots/1/reservations/${stay.body.reservationId}`;
    expect((await call(base, "POST", `${stayPath}/check-in`, undefined, cust1)).status).toBe(200);
    expect((await call(base, "POST", `${stayPath}/check-out`, undefined, cust1)).status).toBe(200);
    const issued = await eventually(async () => {
      const r = await call<Reservation>(
        base,
        "GET",
        `/reservations/${stay.body.reservationId}`,
        undefined,
        cust1,
      );
      return r.body.coupon?.status === "ISSUED" ? r.body : undefined;
    });
    expect(issued).toMatchObject({ status: "COMPLETED", coupon: { issuedAt: expect.any(String) } });

    const coupons = await eventually(async () => {
      const c = await call<Page<Record<string, unknown>>>(
        base,
        "GET",
        "/customers/CUST1/coupons",
        undefined,
        cust1,
      );
      return c.body.items.length === 2 ? c : undefined;
    });
    expect(coupons.status).toBe(200);
    expect(coupons.body.items).toHaveLength(2);
    expect(coupons.body.items[0]).toMatchObject({
      couponId: issued.coupon?.couponId,
      reservationId: stay.body.reservationId,
      parkingLotId: "1",
      customerId: "CUST1",
      status: "ISSUED",
      issuedAt: expect.any(String),
    });
    expect((await call<Page<unknown>>(base, "GET", "/customers/CUST2/coupons")).body).toEqual({
      items: [],
      nextCursor: null,
    });

    // The control center: both lots, the totals, every projection with its position and lag.
    const center = await eventually(async () => {
      const c = await call<ControlCenter>(base, "GET", "/control-center");
      return c.body.projections.every((p) => p.lag === 0) && c.body.totals.couponsIssued === 2
        ? c
        : undefined;
    });
    expect(center.status).toBe(200);
    expect(center.body.totals).toEqual({
      parkingLots: 2,
      capacity: 5,
      availableSpots: 5,
      activeReservations: 0,
      totalReservations: 2,
      canceledReservations: 1,
      couponsIssued: 2,
      couponsRevoked: 1,
    });
    expect(center.body.parkingLotsNextCursor).toBeNull();
    expect(center.body.parkingLots.map((l) => [l.parkingLotId, l.capacity, l.availableSpots]).sort()).toEqual(
      [
        ["1", 5, 5],
        ["full", 0, 0],
      ],
    );
    expect(center.body.projections.map((p) => p.name).sort()).toEqual([...PROCESSOR_NAMES].sort());
    for (const p of center.body.projections) {
      expect(p, p.name).toMatchObject({ state: "running", lag: 0 });
      expect(p.position, p.name).toMatch(/^[0-9]+$/);
      expect(p.headPosition, p.name).toBe(p.position);
    }
  });

  it("a coupon is spent once, by its customer, for the lot's discount; it comes back when that booking is canceled; nothing refused appends", async () => {
    const cust3 = await customerHeaders(env.dir, "CUST3");
    const cust4 = await customerHeaders(env.dir, "CUST4");
    const register = await call(base, "POST", "/parking-lots", {
      parkingLotId: "discount",
      name: "할인 주차장",
      capacity: 5,
      couponRule: { minStayMinutes: 0, discount: { amount: 1000 } },
    });
    expect(register.status).toBe(201);
    const plain = { parkingLotId: "plain", name: "일반 주차장", capacity: 5 };
    expect((await call(base, "POST", "/parking-lots", plain)).status).toBe(201);
    const book = (body: Record<string, unknown>, headers: Record<string, string>, lot = "discount") =>
      call<Record<string, unknown>>(base, "POST", `/parking-lots/${lot}/reservations`, body, headers);
    // Two bookings, two coupons; the second booking is canceled, so its coupon is revoked.
    const first = await book({ carNumber: "10더8612", amount: 5000 }, cust3);
    const second = await book({ carNumber: "10더8613", amount: 5000 }, cust3);
    expect(
      (
        await call(
          base,
          "DELETE",
          `/parking-lots/discount/reservations/${second.body.reservationId}`,
          undefined,
          cust3,
        )
      ).status,
    ).toBe(200);
    const coupons = await eventually(async () => {
      const c = await call<Page<{ couponId: string; reservationId: string; status: string }>>(
        base,
        "GET",
        "/customers/CUST3/coupons",
        undefined,
        cust3,
      );
      const byReservation = new Map(c.body.items.map((x) => [x.reservationId, x]));
      const kept = byReservation.get(String(first.body.reservationId));
      const lost = byReservation.get(String(second.body.reservationId));
      return kept?.status === "ISSUED" && lost?.status === "REVOKED" ? { kept, lost } : undefined;
    });
    const headBefore = async () =>
      (await call<ControlCenter>(base, "GET", "/control-center")).body.projections[0]?.headPosition;

    // Refused, each naming couponId, appending nothing: another's coupon, a revoked one, a lot without a discount.
    const before = await headBefore();
    const others = expectProblem(
      await book({ carNumber: "11가1111", amount: 5000, couponId: coupons.kept.couponId }, cust4),
      400,
      "coupon-not-found",
    );
    expect(others).toMatchObject({ couponId: coupons.kept.couponId, errors: [{ field: "body.couponId" }] });
    const gone = expectProblem(
      await book({ carNumber: "11가1111", amount: 5000, couponId: coupons.lost.couponId }, cust3),
      409,
      "coupon-not-spendable",
    );
    expect(gone).toMatchObject({ couponId: coupons.lost.couponId, couponStatus: "REVOKED" });
    expectProblem(
      await book({ carNumber: "11가1111", amount: 5000, couponId: "no-such-coupon" }, cust3),
      400,
      "coupon-not-found",
    );
    // Issue 71: pending until its own stay earns it (the lot's minimum stay is 0: its check-in).
    const pending = expectProblem(
      await book({ carNumber: "11가1111", amount: 5000, couponId: coupons.kept.couponId }, cust3),
      409,
      "coupon-not-spendable",
    );
    expect(pending).toMatchObject({ couponId: coupons.kept.couponId, couponStatus: "PENDING" });
    expect(await headBefore()).toBe(before);
    const checkIn = `/parking-lots/discount/reservations/${first.body.reservationId}/check-in`;
    expect((await call(base, "POST", checkIn, undefined, cust3)).status).toBe(200);
    await eventually(async () => {
      const c = await call<Page<{ reservationId: string; spendable: boolean }>>(
        base,
        "GET",
        "/customers/CUST3/coupons",
        undefined,
        cust3,
      );
      return c.body.items.find((x) => x.reservationId === first.body.reservationId)?.spendable || undefined;
    });
    const earned = await headBefore();
    expectProblem(
      await book({ carNumber: "11가1111", amount: 5000, couponId: coupons.kept.couponId }, cust3, "plain"),
      409,
      "coupon-not-accepted",
    );
    expect(await headBefore()).toBe(earned);

    // Spent: the booking is priced 1,000 less, and the coupon is REDEEMED for it, once.
    const spent = await book(
      { carNumber: "12가3456", amount: 5000, couponId: coupons.kept.couponId },
      { ...cust3, "Idempotency-Key": "spend-1" },
    );
    expect(spent.status, JSON.stringify(spent.body)).toBe(201);
    expect(spent.body).toMatchObject({ amount: 4000, status: "RESERVED" });
    const retried = await book(
      { carNumber: "12가3456", amount: 5000, couponId: coupons.kept.couponId },
      { ...cust3, "Idempotency-Key": "spend-1" },
    );
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ reservationId: spent.body.reservationId, amount: 4000 });
    const twice = expectProblem(
      await book({ carNumber: "12가3457", amount: 5000, couponId: coupons.kept.couponId }, cust3),
      409,
      "coupon-not-spendable",
    );
    expect(twice).toMatchObject({ couponStatus: "REDEEMED" });
    const redeemed = await eventually(async () => {
      const r = await call<Reservation>(
        base,
        "GET",
        `/reservations/${first.body.reservationId}`,
        undefined,
        cust3,
      );
      return r.body.coupon?.status === "REDEEMED" ? r.body.coupon : undefined;
    });
    expect(redeemed).toMatchObject({
      couponId: coupons.kept.couponId,
      redeemedFor: spent.body.reservationId,
    });

    // The booking it was spent on is canceled before it starts (never checked in): ISSUED again.
    expect(
      (
        await call(
          base,
          "DELETE",
          `/parking-lots/discount/reservations/${spent.body.reservationId}`,
          undefined,
          cust3,
        )
      ).status,
    ).toBe(200);
    const back = await eventually(async () => {
      const c = await call<Page<{ couponId: string; status: string }>>(
        base,
        "GET",
        "/customers/CUST3/coupons",
        undefined,
        cust3,
      );
      const coupon = c.body.items.find((x) => x.couponId === coupons.kept.couponId);
      return coupon?.status === "ISSUED" ? coupon : undefined;
    });
    expect(back).not.toHaveProperty("redeemedFor");
  });

  it("GET /problems/parking-lot-full documents the problem type", async () => {
    const doc = await call(base, "GET", "/problems/parking-lot-full");
    expect(doc.status).toBe(200);
    expect(doc.body).toMatchObject({
      type: "/problems/parking-lot-full",
      status: 409,
      title: expect.any(String),
      help: expect.any(String),
    });
    expectProblem(await call(base, "GET", "/problems/no-such-problem"), 404, "not-found");
  });
});

describe("query API: paging over /reservations", () => {
  let env: { service: RunningService; dir: string; remove: () => void };
  let base: string;
  /** Every reservation made, with the position of its ParkingReserved event. */
  const made: { reservationId: string; parkingLotId: string; customerId: string; position: number }[] = [];
  const canceled = new Set<string>();
  const LOTS = ["north", "south", "east"];
  const CUSTOMERS = ["C1", "C2", "C3", "C4"];

  beforeAll(async () => {
    env = await startService();
    base = env.service.url;
    for (const lot of LOTS)
      await call(base, "POST", "/parking-lots", {
        parkingLotId: lot,
        name: lot,
        capacity: 100,
        maxActivePerCustomer: 100,
        couponRule: { minStayMinutes: 0 }, // every stay earns a coupon (paged below)
      });
    // Sequential, so that the order of positions is known without guessing: 23 per lot, interleaved.
    for (let i = 0; i < 69; i++) {
      const parkingLotId = LOTS[i % LOTS.length] as string;
      const customerId = CUSTOMERS[(i * 7) % CUSTOMERS.length] as string;
      const r = await call<{ reservationId: string; position: string }>(
        base,
        "POST",
        `/parking-lots/${parkingLotId}/reservations`,
        { customerId, carNumber: plateFor(i), amount: 1000 + i },
      );
      expect(r.status).toBe(201);
      made.push({
        reservationId: r.body.reservationId,
        parkingLotId,
        customerId,
        position: Number(r.body.position),
      });
    }
    let last = "0";
    for (const r of made.filter((_, i) => i % 4 === 1)) {
      const c = await call<{ position: string }>(
        base,
        "DELETE",
        `/parking-lots/${r.parkingLotId}/reservations/${r.reservationId}`,
        { reason: "desk cancellation" },
      );
      expect(c.status).toBe(200);
      canceled.add(r.reservationId);
      last = c.body.position;
    }
    expect((await call(base, "GET", `/reservations?limit=1&minPosition=${last}`)).status).toBe(200);
  });
  afterAll(async () => {
    await env.service.shutdown("test done");
    env.remove();
  });

  /** Follows nextCursor to the end; every page at most `limit` long. */
  async function allPages(query: Record<string, string>, limit: number): Promise<Reservation[]> {
    const out: Reservation[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 200; page++) {
      const params: URLSearchParams = new URLSearchParams({
        ...query,
        limit: String(limit),
        ...(cursor ? { cursor } : {}),
      });
      const r: JsonResponse<Page<Reservation>> = await call(base, "GET", `/reservations?${params}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(limit);
      out.push(...r.body.items);
      cursor = r.body.nextCursor;
      if (cursor === null) return out;
      expect(r.body.items).toHaveLength(limit);
    }
    throw new Error("more than 200 pages");
  }

  const statusOf = (id: string) => (canceled.has(id) ? "CANCELED" : "RESERVED");
  const expectedIds = (query: Record<string, string>) =>
    made
      .filter((r) => !query.parkingLotId || r.parkingLotId === query.parkingLotId)
      .filter((r) => !query.customerId || r.customerId === query.customerId)
      .filter((r) => !query.status || statusOf(r.reservationId) === query.status)
      .sort((a, b) => b.position - a.position)
      .map((r) => r.reservationId);

  const FILTERS: Record<string, string>[] = [
    {},
    { parkingLotId: "north" },
    { parkingLotId: "east" },
    { customerId: "C2" },
    { status: "RESERVED" },
    { status: "CANCELED" },
    { parkingLotId: "south", status: "CANCELED" },
    { customerId: "C3", status: "RESERVED" },
    { parkingLotId: "north", customerId: "C1" },
    { parkingLotId: "east", customerId: "C4", status: "RESERVED" },
    { parkingLotId: "nowhere" },
  ];

  it("returns every matching reservation exactly once, newest first, for every filter and page size", async () => {
    for (const query of FILTERS) {
      const expected = expectedIds(query);
      for (const limit of [1, 7, 50, 1000]) {
        if (limit === 1 && expected.length > 30) continue; // one-by-one only where it is cheap
        const items = await allPages(query, limit);
        expect(
          items.map((r) => r.reservationId),
          `${JSON.stringify(query)} limit ${limit}`,
        ).toEqual(expected);
        for (const r of items) {
          if (query.parkingLotId) expect(r.parkingLotId).toBe(query.parkingLotId);
          if (query.customerId) expect(r.customerId).toBe(query.customerId);
          expect(r.status).toBe(statusOf(r.reservationId));
        }
      }
    }
    // The filters partition as they should.
    expect(expectedIds({ status: "RESERVED" }).length + expectedIds({ status: "CANCELED" }).length).toBe(69);
    expect(expectedIds({ status: "CANCELED" })).toHaveLength(canceled.size);
  });

  it("keeps pages stable while new reservations arrive: a cursor never skips or repeats", async () => {
    const expected = expectedIds({ parkingLotId: "north" });
    const first = await call<Page<Reservation>>(base, "GET", "/reservations?parkingLotId=north&limit=5");
    const newer = await call<{ reservationId: string; position: string }>(
      base,
      "POST",
      "/parking-lots/north/reservations",
      {
        customerId: "C9",
        carNumber: "99가9999",
        amount: 1,
      },
    );
    expect(newer.status).toBe(201);
    // The newcomer is first on a fresh first page…
    const fresh = await call<Page<Reservation>>(
      base,
      "GET",
      `/reservations?parkingLotId=north&limit=5&minPosition=${newer.body.position}`,
    );
    expect(fresh.body.items[0]?.reservationId).toBe(newer.body.reservationId);
    // …and does not disturb the paging that started before it.
    const rest: Reservation[] = [];
    let cursor = first.body.nextCursor;
    for (let i = 0; cursor && i < 100; i++) {
      const r = await call<Page<Reservation>>(
        base,
        "GET",
        `/reservations?parkingLotId=north&limit=5&cursor=${cursor}`,
      );
      rest.push(...r.body.items);
      cursor = r.body.nextCursor;
    }
    expect([...first.body.items, ...rest].map((r) => r.reservationId)).toEqual(expected);
    made.push({
      reservationId: newer.body.reservationId,
      parkingLotId: "north",
      customerId: "C9",
      position: Number(newer.body.position),
    });
  });

  it("pages /parking-lots by id and /customers/{id}/coupons newest first", async () => {
    const lots: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r: JsonResponse<Page<{ parkingLotId: string }>> = await call(
        base,
        "GET",
        `/parking-lots?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      lots.push(...r.body.items.map((l) => l.parkingLotId));
      cursor = r.body.nextCursor;
      if (!cursor) break;
    }
    expect(lots).toEqual([...LOTS].sort());

    // Each of C2's bookings got a coupon (a cancel revoked it); those still booked stay (check in,
    // check out) and keep theirs.
    const booked = made.filter((r) => r.customerId === "C2");
    const mine = booked.filter((r) => !canceled.has(r.reservationId));
    for (const r of mine)
      for (const step of ["check-in", "check-out"])
        expect(
          (
            await call(
              base,
              "POST",
              `/parking-lots/${r.parkingLotId}/reservations/${r.reservationId}/${step}`,
            )
          ).status,
        ).toBe(200);
    const coupons = await eventually(async () => {
      const r = await call<Page<{ reservationId: string; status: string }>>(
        base,
        "GET",
        "/customers/C2/coupons?limit=1000",
      );
      const settled = r.body.items.every(
        (c) => c.status === (canceled.has(c.reservationId) ? "REVOKED" : "ISSUED"),
      );
      return r.body.items.length === booked.length && settled ? r.body.items : undefined;
    });
    const pagedIds: string[] = [];
    cursor = null;
    for (let i = 0; i < 100; i++) {
      const r: JsonResponse<Page<{ reservationId: string }>> = await call(
        base,
        "GET",
        `/customers/C2/coupons?limit=4${cursor ? `&cursor=${cursor}` : ""}`,
      );
      pagedIds.push(...r.body.items.map((c) => c.reservationId));
      cursor = r.body.nextCursor;
      if (!cursor) break;
    }
    expect(pagedIds).toEqual(coupons.map((c) => c.reservationId));
    expect(new Set(pagedIds)).toEqual(new Set(booked.map((r) => r.reservationId)));
  });
});

describe("query API: bad input and unknown ids get clear problems", () => {
  let env: { service: RunningService; remove: () => void };
  let base: string;
  let reservationId: string;
  beforeAll(async () => {
    env = await startService();
    base = env.service.url;
    await call(base, "POST", "/parking-lots", { parkingLotId: "1", name: "강남 1주차장", capacity: 5 });
    const r = await call<{ reservationId: string; position: string }>(
      base,
      "POST",
      "/parking-lots/1/reservations",
      {
        customerId: "CUST1",
        carNumber: "10더8612",
        amount: 5000,
      },
    );
    reservationId = r.body.reservationId;
    expect(
      (await call(base, "GET", `/reservations/${reservationId}?minPosition=${r.body.position}`)).status,
    ).toBe(200);
  });
  afterAll(async () => {
    await env.service.shutdown("test done");
    env.remove();
  });

  const BAD: [path: string, field: string][] = [
    ["/reservations?foo=1", "query.foo"],
    ["/reservations?limit=0", "query.limit"],
    ["/reservations?limit=abc", "query.limit"],
    ["/reservations?limit=1001", "query.limit"],
    ["/reservations?limit=-1", "query.limit"],
    ["/reservations?limit=1.5", "query.limit"],
    ["/reservations?limit=%2B5", "query.limit"],
    ["/reservations?limit=1e2", "query.limit"],
    ["/reservations?limit=&status=RESERVED", "query.limit"],
    ["/reservations?limit=5&limit=6", "query.limit"],
    ["/reservations?status=foo", "query.status"],
    ["/reservations?status=reserved", "query.status"],
    ["/reservations?status=RESERVED&status=CANCELED", "query.status"],
    ["/reservations?cursor=-1", "query.cursor"],
    ["/reservations?cursor=abc", "query.cursor"],
    ["/reservations?customerId%5B%24ne%5D=x", "query.customerId[$ne]"],
    ["/reservations?customerId[$ne]=x", "query.customerId[$ne]"],
    ["/reservations?parkingLotId=%24gt", "query.parkingLotId"],
    ["/reservations?customerId=", "query.customerId"],
    ["/reservations?minPosition=abc", "query.minPosition"],
    ["/reservations?minPosition=-5", "query.minPosition"],
    ["/parking-lots?limit=0", "query.limit"],
    ["/parking-lots?sort=name", "query.sort"],
    ["/parking-lots/1?foo=bar", "query.foo"],
    ["/parking-lots/1?minPosition=1.5", "query.minPosition"],
    ["/parking-lots/%24where", "path.parkingLotId"],
    ["/reservations/x?minPosition=abc", "query.minPosition"],
    ["/customers/CUST1/coupons?limit=abc", "query.limit"],
    ["/customers/CUST1/coupons?cursor=-1", "query.cursor"],
    ["/customers/a%20b/coupons", "path.customerId"],
    ["/customers/%01x/coupons", "path.customerId"],
  ];

  it.each(BAD)("GET %s → 400 naming %s", async (path, field) => {
    const problem = expectProblem(await call(base, "GET", path), 400, "validation");
    expect(problem.errors?.map((e) => e.field)).toContain(field);
    for (const e of problem.errors ?? []) expect(e.message).toEqual(expect.any(String));
  });

  it("a timeline's hints say what to do: a + in a query time is %2B, step is in minutes", async () => {
    const plus = expectProblem(
      await call(base, "GET", "/parking-lots/1/timeline?from=2026-11-23T10:00:00+09:00"),
      400,
      "validation",
    );
    expect(plus.errors).toContainEqual(
      expect.objectContaining({
        field: "query.from",
        message:
          "has a space where its offset's + should be: in a query string write + as %2B (2026-11-23T10:00:00%2B09:00)",
      }),
    );
    const step = expectProblem(await call(base, "GET", "/parking-lots/1/timeline?step=1"), 400, "validation");
    // Issue 69: the keyword and the bound beside the words, for a page to word it in its language.
    expect(step.errors).toContainEqual({
      field: "query.step",
      message: "must be at least 5. Minutes per step, 5–60 (default 15).",
      code: "minimum",
      limit: 5,
    });
  });

  it("a minPosition beyond any representable position is refused, not silently ignored", async () => {
    // 17+ digits pass the schema's pattern but are no safe integer: answering without waiting
    // would claim a position that was never reached.
    for (const path of [
      "/parking-lots/1?minPosition=99999999999999999",
      "/reservations?minPosition=99999999999999999999",
    ]) {
      const response = await call(base, "GET", path);
      expect(response.status, `${path}: ${JSON.stringify(response.body)}`).toBe(400);
      expect((response.body as unknown as Problem).errors?.map((e) => e.field)).toContain(
        "query.minPosition",
      );
    }
  });

  it("unknown ids → 404 problems", async () => {
    expectProblem(await call(base, "GET", "/parking-lots/nope"), 404, "parking-lot-not-found");
    expectProblem(await call(base, "GET", "/reservations/nope"), 404, "reservation-not-found");
    expectProblem(await call(base, "GET", "/nowhere"), 404, "not-found");
    const problem = expectProblem(
      await call(base, "GET", "/parking-lots/nope?minPosition=1"),
      404,
      "parking-lot-not-found",
    );
    expect(problem.detail).toContain("nope");
  });

  it("ignores a GET's body: a malformed or oversized one is not read, so a query never answers its problems", async () => {
    // fetch sends no body with GET; node:http does.
    const get = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const request = httpRequest(
          `${base}/parking-lots?limit=1`,
          {
            method: "GET",
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on("error", reject);
        request.end(body);
      });
    expect(await get('{"not": json')).toBe(200);
    expect(await get(`"${"x".repeat(64 * 1024)}"`)).toBe(200);
  });

  it("minPosition beyond the head of the log → 400 at once, naming minPosition (no wait for a position no command answered)", async () => {
    const future = "9000000000000";
    const paths = [
      `/parking-lots/1?minPosition=${future}`,
      `/parking-lots?minPosition=${future}`,
      `/reservations?parkingLotId=1&minPosition=${future}`,
      `/reservations/${reservationId}?minPosition=${future}`,
      `/customers/CUST1/coupons?minPosition=${future}`,
    ];
    const responses = await Promise.all(paths.map((p) => call(base, "GET", p)));
    for (const [i, response] of responses.entries()) {
      const problem = expectProblem(response, 400, "validation");
      expect(problem.errors?.[0]?.field, paths[i]).toBe("query.minPosition");
      expect(problem.detail).toContain(future);
    }
    // And the service is fine afterwards.
    expect((await call(base, "GET", `/reservations/${reservationId}`)).status).toBe(200);
  });
});

describe("query API: a service with an empty log", () => {
  it("reports each projection running at lag 0 (not stopped, not an unknown lag) while the event store answers", async () => {
    const data = tempDataDir();
    const service = await startTestService(data.dir);
    try {
      const center = await eventually(async () => {
        const answer = await call<{
          projections: { name: string; state: string; lag: number | null; headPosition: string | null }[];
        }>(service.url, "GET", "/control-center");
        // Each processor takes its lease as it starts.
        return answer.body.projections.every((p) => p.state === "running") ? answer : undefined;
      });
      expect(center.status).toBe(200);
      expect(center.body.projections.length).toBeGreaterThan(0);
      for (const projection of center.body.projections) {
        // A fresh processor has no checkpoint yet, but it holds its lease and works.
        expect(projection).toMatchObject({ state: "running", lag: 0, headPosition: null });
      }
    } finally {
      await service.shutdown("test done");
      data.remove();
    }
  });
});

describe("query API: a lot's place and time zone, and finding a spot near a point (issue 49)", () => {
  let env: { service: RunningService; dir: string; remove: () => void };
  let base: string;
  let position = "0";
  const GANGNAM = { latitude: 37.4979, longitude: 127.0276 };
  /** A point `meters` north of Gangnam station (a degree of latitude is about 111.3 km). */
  const north = (meters: number) => ({
    latitude: GANGNAM.latitude + meters / 111_319.5,
    longitude: GANGNAM.longitude,
  });
  const day = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString().slice(0, 10);
  const FROM = `${day}T10:00:00.000Z`;
  const UNTIL = `${day}T12:00:00.000Z`;
  const search = (extra = "") =>
    `/parking-lots?near=${GANGNAM.latitude},${GANGNAM.longitude}&radiusMeters=1000&from=${encodeURIComponent(FROM)}&until=${encodeURIComponent(UNTIL)}${extra}`;
  const register = async (body: Record<string, unknown>) => {
    const answer = await call<{ position: string; timeZone: string }>(base, "POST", "/parking-lots", body);
    if (answer.status === 201) position = answer.body.position;
    return answer;
  };
  type Found = { parkingLotId: string; distanceMeters: number; price: number | null; timeZone: string };
  const ANON = { authorization: "" };

  beforeAll(async () => {
    env = await startService();
    base = env.service.url;
    const at = (id: string, name: string, meters: number, rest: Record<string, unknown>) =>
      register({ parkingLotId: id, name, capacity: 3, location: north(meters), ...rest });
    const near = await at("near-100", "강남역 A", 100, {
      hourlyRate: 3000,
      timeZone: "asia/seoul",
      address: "서울특별시 강남구 강남대로 396",
    });
    expect(near.status).toBe(201);
    expect(near.body.timeZone).toBe("Asia/Seoul");
    expect(
      (await at("cheap-600", "강남역 B", 600, { hourlyRate: 1000, timeZone: "Asia/Seoul" })).status,
    ).toBe(201);
    expect((await at("far-9k", "먼 주차장", 9_000, { hourlyRate: 500, timeZone: "Asia/Seoul" })).status).toBe(
      201,
    );
    expect((await at("full-300", "가득 찬 주차장", 300, { hourlyRate: 2000, capacity: 1 })).status).toBe(201);
    // A link (the runtime's list may leave it out) is an IANA name all the same.
    expect((await at("calcutta", "Kolkata lot", 20_000, { timeZone: "Asia/Calcutta" })).status).toBe(201);
    expect(
      (await register({ parkingLotId: "no-place", name: "옛 주차장", capacity: 2, hourlyRate: 2500 })).status,
    ).toBe(201);
    const booked = await call<{ position: string }>(
      base,
      "POST",
      "/parking-lots/full-300/reservations",
      { carNumber: "10더8612", startsAt: FROM, endsAt: UNTIL },
      await customerHeaders(env.dir, "CUST1"),
    );
    expect(booked.status).toBe(201);
    position = booked.body.position;
  });
  afterAll(async () => {
    await env.service.shutdown("test done");
    env.remove();
  });

  it("registration takes a place and a zone; a lot without them reads UTC with no place; a bad zone is a 400 naming timeZone", async () => {
    const lot = await call<Record<string, unknown>>(
      base,
      "GET",
      `/parking-lots/near-100?minPosition=${position}`,
      undefined,
      ANON,
    );
    expect(lot.body).toMatchObject({
      location: north(100),
      address: "서울특별시 강남구 강남대로 396",
      timeZone: "Asia/Seoul",
    });
    expect(lot.body.point).toBeUndefined();
    const old = await call<Record<string, unknown>>(base, "GET", "/parking-lots/no-place", undefined, ANON);
    expect(old.body.timeZone).toBe("UTC");
    expect(old.body.location).toBeUndefined();
    const listed = await call<Page<Record<string, unknown>>>(
      base,
      "GET",
      "/parking-lots?limit=100",
      undefined,
      ANON,
    );
    expect(listed.body.items.find((l) => l.parkingLotId === "calcutta")).toMatchObject({
      timeZone: new Intl.DateTimeFormat("en", { timeZone: "Asia/Calcutta" }).resolvedOptions().timeZone,
    });
    for (const timeZone of ["Mars/Olympus_Mons", "+09:00", "KST+9"]) {
      const bad = await call(base, "POST", "/parking-lots", { name: "잘못된 시간대", capacity: 1, timeZone });
      const problem = expectProblem(bad, 400, "validation");
      expect(problem.errors?.map((e) => e.field).join(" ")).toContain("timeZone");
    }
    const badPoint = await call(base, "POST", "/parking-lots", {
      name: "x",
      capacity: 1,
      location: { latitude: 91, longitude: 0 },
    });
    expect(
      expectProblem(badPoint, 400, "validation")
        .errors?.map((e) => e.field)
        .join(" "),
    ).toContain("latitude");
  });

  it("an operator sets a lot's place; the same place again changes nothing; the audit trail says it once", async () => {
    const place = { location: north(800), address: "테헤란로 1", timeZone: "Asia/Seoul" };
    const byCustomer = await call(
      base,
      "PUT",
      "/parking-lots/no-place/place",
      place,
      await customerHeaders(env.dir, "CUST1"),
    );
    expect(byCustomer.status).toBe(403);
    const bad = await call(base, "PUT", "/parking-lots/no-place/place", {
      ...place,
      timeZone: "Asia/Nowhere",
    });
    expect(
      expectProblem(bad, 400, "validation")
        .errors?.map((e) => e.field)
        .join(" "),
    ).toContain("timeZone");
    const changed = await call<{ position: string; timeZone: string }>(
      base,
      "PUT",
      "/parking-lots/no-place/place",
      place,
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ ...place, parkingLotId: "no-place" });
    position = changed.body.position;
    expect((await call(base, "PUT", "/parking-lots/no-place/place", place)).status).toBe(200);
    expect((await call(base, "PUT", "/parking-lots/nowhere/place", place)).status).toBe(404);
    const lot = await call<Record<string, unknown>>(
      base,
      "GET",
      `/parking-lots/no-place?minPosition=${position}`,
      undefined,
      ANON,
    );
    expect(lot.body).toMatchObject(place);
    const history = await call<{ items: { type: string; summary: string }[] }>(
      base,
      "GET",
      "/parking-lots/no-place/history?limit=50",
    );
    const moves = history.body.items.filter((item) => item.type === "ParkingLotPlaceChanged");
    expect(moves).toHaveLength(1);
    expect(moves[0]?.summary).toContain("moved lot no-place to");
    expect(moves[0]?.summary).toContain("in time zone Asia/Seoul (before: no place in time zone UTC)");
  });

  it("finds the lots within the radius with a spot for the window, nearest first: a far and a full lot left out", async () => {
    const found = await call<Page<Found>>(
      base,
      "GET",
      `${search()}&minPosition=${position}`,
      undefined,
      ANON,
    );
    expect(found.status, JSON.stringify(found.body)).toBe(200);
    expect(found.body.items.map((l) => l.parkingLotId)).toEqual(["near-100", "cheap-600", "no-place"]);
    expect(found.body.items.map((l) => l.distanceMeters)).toEqual([100, 600, 800]);
    // Two hours at the lot's rate: the availability quote's amount.
    expect(found.body.items.map((l) => l.price)).toEqual([6000, 2000, 5000]);
    expect(found.body.nextCursor).toBeNull();
    const quote = await call<{ amount: number }>(
      base,
      "GET",
      `/parking-lots/cheap-600/availability?from=${encodeURIComponent(FROM)}&until=${encodeURIComponent(UNTIL)}`,
      undefined,
      ANON,
    );
    expect(quote.body.amount).toBe(2000);
    // The full lot has a spot outside the window.
    const later = search()
      .replace(encodeURIComponent(FROM), encodeURIComponent(`${day}T13:00:00.000Z`))
      .replace(encodeURIComponent(UNTIL), encodeURIComponent(`${day}T14:00:00.000Z`));
    const open = await call<Page<Found>>(base, "GET", later, undefined, ANON);
    expect(open.body.items.map((l) => l.parkingLotId)).toContain("full-300");
  });

  it("sorts by the window's price, and pages by an opaque cursor: every lot once", async () => {
    const cheapest = await call<Page<Found>>(base, "GET", search("&sort=price"), undefined, ANON);
    expect(cheapest.body.items.map((l) => l.parkingLotId)).toEqual(["cheap-600", "no-place", "near-100"]);
    for (const sort of ["distance", "price"]) {
      const seen: string[] = [];
      let cursor: string | null = "";
      for (let page = 0; page < 10 && cursor !== null; page++) {
        const answer: JsonResponse<Page<Found>> = await call<Page<Found>>(
          base,
          "GET",
          search(`&sort=${sort}&limit=1${cursor ? `&cursor=${cursor}` : ""}`),
          undefined,
          ANON,
        );
        expect(answer.status).toBe(200);
        seen.push(...answer.body.items.map((l) => l.parkingLotId));
        cursor = answer.body.nextCursor;
      }
      expect(seen).toEqual(
        sort === "price" ? ["cheap-600", "no-place", "near-100"] : ["near-100", "cheap-600", "no-place"],
      );
    }
  });

  it.each([
    [
      `/parking-lots?near=91,0&radiusMeters=100&from=${encodeURIComponent(FROM)}&until=${encodeURIComponent(UNTIL)}`,
      "query.near",
    ],
    [
      `/parking-lots?near=37.5,127&from=${encodeURIComponent(FROM)}&until=${encodeURIComponent(UNTIL)}`,
      "query",
    ],
    [
      `/parking-lots?near=37.5,127&radiusMeters=60000&from=${encodeURIComponent(FROM)}&until=${encodeURIComponent(UNTIL)}`,
      "query.radiusMeters",
    ],
    [
      "/parking-lots?near=37.5,127&radiusMeters=100&from=2020-01-01T00:00:00Z&until=2020-01-01T01:00:00Z",
      "query.from",
    ],
    ["/parking-lots?radiusMeters=100", "query"],
    [
      `/parking-lots?near=37.5,127&radiusMeters=100&from=${encodeURIComponent(FROM)}&until=${encodeURIComponent(UNTIL)}&cursor=bm9wZQ`,
      "query.cursor",
    ],
    // A forged cursor (a negative distance) is refused as one the search never answered.
    [
      `/parking-lots?near=37.5,127&radiusMeters=100&from=${encodeURIComponent(FROM)}&until=${encodeURIComponent(UNTIL)}&cursor=eyJkIjotNSwiaSI6IngifQ`,
      "query.cursor",
    ],
  ])("GET %s → 400 naming %s", async (path, field) => {
    const problem = expectProblem(await call(base, "GET", path, undefined, ANON), 400, "validation");
    expect(problem.errors?.map((e) => e.field).join(" ")).toContain(field);
  });
});
