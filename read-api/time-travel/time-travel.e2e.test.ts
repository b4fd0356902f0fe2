import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../../app/server.js";
import type { AsOfStamp } from "../../schemas/as-of.js";
import type { HistoryPage } from "../../schemas/history.js";
import type { ControlCenterView, ParkingLotDetail, ReservationView } from "../../schemas/read-models.js";
import { ANONYMOUS, customerHeaders, operatorHeaders } from "../../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../../test-support/service.js";

/**
 * "The app said the lot was full at 14:02: was it?" Over real HTTP with a clock the test moves: a
 * lot with two spots fills at 14:00, a third customer is refused at 14:01, an operator cancels a
 * booking at 14:05. At 14:10 the refused customer asks the lot as of 14:02 and sees it full, though
 * a spot is free now; the lot's history says who canceled what at 14:05 and why.
 */
const DAY = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString().slice(0, 10);
const at = (hhmm: string) => `${DAY}T${hhmm}:00.000Z`;
const LOT = "apgujeong-1";
const OPS = "ops-lee";

type Lot = ParkingLotDetail & { asOf?: AsOfStamp };

describe("time travel", () => {
  const data = tempDataDir("parking-as-of-");
  let now = Date.parse(at("13:50"));
  let service: RunningService;
  const ids: Record<string, string> = {};
  const positions: Record<string, string> = {};

  const as = async (who: string) =>
    who === OPS ? operatorHeaders(data.dir, OPS) : customerHeaders(data.dir, who);
  const get = async <T>(who: string, path: string) =>
    call<T>(service.url, "GET", path, undefined, who === "anonymous" ? ANONYMOUS : await as(who));
  const asOf = (moment: string) => `asOf=${encodeURIComponent(moment)}`;

  beforeAll(async () => {
    service = await startTestService(data.dir, {}, { clock: () => new Date(now) });
    const lot = { parkingLotId: LOT, name: "압구정 공영주차장", capacity: 2 };
    const registered = await call(service.url, "POST", "/parking-lots", lot, await as(OPS));
    expect(registered.status).toBe(201);
    now = Date.parse(at("14:00"));
    for (const who of ["CUST1", "CUST2"]) {
      const booked = await call<{ reservationId: string; position: string }>(
        service.url,
        "POST",
        `/parking-lots/${LOT}/reservations`,
        { carNumber: "10더8612", amount: 5000 },
        await as(who),
      );
      expect(booked.status).toBe(201);
      ids[who] = booked.body.reservationId;
      positions[who] = booked.body.position;
    }
    now = Date.parse(at("14:01"));
    const refused = await call(
      service.url,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { carNumber: "12가3456", amount: 5000 },
      await as("CUST3"),
    );
    expect(refused.status).toBe(409);
    now = Date.parse(at("14:05"));
    const canceled = await call<{ position: string }>(
      service.url,
      "DELETE",
      `/parking-lots/${LOT}/reservations/${ids.CUST1}`,
      { reason: "lot-closed" },
      await as(OPS),
    );
    expect(canceled.status).toBe(200);
    positions.cancel = canceled.body.position;
    now = Date.parse(at("14:10"));
    // The live views have the cancellation (the reservation's lot is looked up in them).
    expect((await get("CUST1", `/reservations/${ids.CUST1}?minPosition=${positions.cancel}`)).status).toBe(
      200,
    );
  }, 60_000);
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  it("shows the refused customer the lot full as of 14:02, and who freed a spot at 14:05 and why", async () => {
    const then = await get<Lot>("CUST3", `/parking-lots/${LOT}?${asOf(at("14:02"))}`);
    expect(then.status).toBe(200);
    expect(then.body).toMatchObject({ availableSpots: 0, freeNow: 0, activeReservations: 2 });
    expect(then.body.asOf).toEqual({ position: positions.CUST2, at: at("14:02") });
    expect(then.body.nextHours[0]?.from).toBe(at("14:00"));
    const live = await get<Lot>("CUST3", `/parking-lots/${LOT}?minPosition=${positions.cancel}`);
    expect(live.body).toMatchObject({ availableSpots: 1, activeReservations: 1 });
    expect(live.body.asOf).toBeUndefined();

    const history = await get<HistoryPage>(
      OPS,
      `/parking-lots/${LOT}/history?from=${encodeURIComponent(at("14:02"))}`,
    );
    expect(history.body.items.map((e) => [e.at, e.type, e.actor, e.reason, e.reservationId])).toEqual([
      [at("14:05"), "ReservationCanceled", { sub: OPS, role: "operator" }, "lot-closed", ids.CUST1],
    ]);
    expect(history.body.items[0]?.summary).toBe(
      `${OPS} (operator) canceled reservation ${ids.CUST1} of customer CUST1: lot-closed`,
    );
  });

  it("answers as of a log position, as of the moment of its last fact", async () => {
    const first = await get<Lot>(OPS, `/parking-lots/${LOT}?asOf=${positions.CUST1}`);
    expect(first.body).toMatchObject({ availableSpots: 1, activeReservations: 1 });
    expect(first.body.asOf).toEqual({ position: positions.CUST1, at: at("14:00") });
    const after = await get<Lot>(OPS, `/parking-lots/${LOT}?asOf=${positions.cancel}`);
    expect(after.body).toMatchObject({ availableSpots: 1, canceledReservations: 1 });
    const before = await get(OPS, `/parking-lots/${LOT}?${asOf(at("13:00"))}`);
    expect(before.status).toBe(404);
  });

  it("counts what time travel keeps in memory in /metrics", async () => {
    expect((await get<Lot>(OPS, `/parking-lots/${LOT}?asOf=${positions.CUST1}`)).status).toBe(200);
    const metrics = await (await fetch(`${service.url}/metrics`, { headers: await as(OPS) })).text();
    const kept = (kind: string) =>
      Number(
        new RegExp(`^parking_time_travel_checkpoints\\{kind="${kind}"\\} (\\d+)$`, "m").exec(metrics)?.[1],
      );
    // Each kind is reported: the lots' states kept (lots-at.ts).
    for (const kind of ["bytes", "state_bytes"]) expect(kept(kind), kind).toBeGreaterThanOrEqual(0);
  });

  it("shows the control center as of 14:02 to operators only", async () => {
    const center = await get<ControlCenterView & { asOf?: AsOfStamp }>(
      OPS,
      `/control-center?${asOf(at("14:02"))}`,
    );
    expect(center.status).toBe(200);
    expect(center.body.parkingLots.find((l) => l.parkingLotId === LOT)).toMatchObject({
      availableSpots: 0,
      activeReservations: 2,
    });
    expect(center.body.totals).toMatchObject({
      availableSpots: 0,
      totalReservations: 2,
      canceledReservations: 0,
    });
    expect(center.body.asOf?.at).toBe(at("14:02"));
    expect((await get("CUST3", `/control-center?${asOf(at("14:02"))}`)).status).toBe(403);
    expect((await get("anonymous", `/parking-lots/${LOT}?${asOf(at("14:02"))}`)).status).toBe(401);
  });

  it("shows a customer their own reservation as it was, and nobody else's", async () => {
    const then = await get<ReservationView>("CUST1", `/reservations/${ids.CUST1}?${asOf(at("14:02"))}`);
    expect(then.status).toBe(200);
    expect(then.body).toMatchObject({ reservationId: ids.CUST1, status: "RESERVED" });
    const later = await get<ReservationView>("CUST1", `/reservations/${ids.CUST1}?${asOf(at("14:06"))}`);
    expect(later.body).toMatchObject({ status: "CANCELED", cancelReason: "lot-closed" });
    expect((await get("CUST2", `/reservations/${ids.CUST1}?${asOf(at("14:02"))}`)).status).toBe(404);
    // Before it was booked, it did not exist.
    expect((await get("CUST1", `/reservations/${ids.CUST1}?${asOf(at("13:55"))}`)).status).toBe(404);
  });

  it.each([
    ["tomorrow"],
    [`${DAY}T25:00:00Z`],
    ["2026-02-30T10:00:00Z"],
    ["2026-11-23T10:00:00"],
    ["99999999999999999"],
    ["1999-12-31T23:59:59Z"],
    ["2999-01-01T00:00:00Z"],
    ["$gt"],
  ])("refuses asOf=%s with a 400 naming it", async (moment) => {
    const answer = await get<{ errors: { field: string }[] }>(OPS, `/parking-lots/${LOT}?${asOf(moment)}`);
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e) => e.field)).toContain("query.asOf");
  });
});
