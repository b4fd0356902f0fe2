import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";

/**
 * What the lot's page reads (issue 33 item 5), over HTTP with a clock the test moves: an
 * overstaying car's minutes and charge so far (the decider's price, equal to what its check-out then
 * charges), and the lot's timeline and reservations as they were at a moment of its past (`asOf`).
 */

const LOT = { parkingLotId: "reads-1", name: "읽기 주차장", capacity: 2, hourlyRate: 1200 };
const MINUTE = 60_000;
const data = tempDataDir("parking-lot-page-reads-");
let now = Math.ceil(Date.now() / (15 * MINUTE)) * 15 * MINUTE + MINUTE;
let service: RunningService;
const iso = (at: number) => new Date(at).toISOString();

interface Reservation {
  reservationId: string;
  status: string;
  overstay?: { minutes: number; chargeSoFar: number };
  overstayCharge?: number;
}

beforeAll(async () => {
  service = await startTestService(data.dir, { PROCESSORS_THREAD: "main" }, { clock: () => new Date(now) });
  expect((await call(service.url, "POST", "/parking-lots", LOT)).status).toBe(201);
});

afterAll(async () => {
  await service?.shutdown("test done", { drain: false });
  data.remove();
});

const reserve = async (startsAt: number, endsAt: number) => {
  const answer = await call<{ reservationId: string; position: string }>(
    service.url,
    "POST",
    `/parking-lots/${LOT.parkingLotId}/reservations`,
    { customerId: "CUST1", carNumber: "12가3456", startsAt: iso(startsAt), endsAt: iso(endsAt) },
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body;
};

describe("the reads behind the lot's page", () => {
  it("an overstaying car reads its minutes past the window and the charge a check-out now would make", async () => {
    const start = now + 5 * MINUTE;
    const booked = await reserve(start, start + 30 * MINUTE);
    now = start + MINUTE;
    const checkIn = await call(
      service.url,
      "POST",
      `/parking-lots/${LOT.parkingLotId}/reservations/${booked.reservationId}/check-in`,
    );
    expect(checkIn.status).toBe(200);
    const path = `/reservations/${booked.reservationId}`;
    const inWindow = await call<Reservation>(service.url, "GET", path);
    expect(inWindow.body.status).toBe("CHECKED_IN");
    expect(inWindow.body.overstay).toBeUndefined();

    now = start + 30 * MINUTE + 25 * MINUTE + 30_000; // 25.5 minutes past its end
    const over = await call<Reservation>(service.url, "GET", path);
    expect(over.body.status).toBe("OVERSTAYING");
    expect(over.body.overstay).toEqual({ minutes: 25, chargeSoFar: 510 }); // 25.5 min at 1,200 an hour
    const listed = await call<{ items: Reservation[] }>(
      service.url,
      "GET",
      `/reservations?parkingLotId=${LOT.parkingLotId}&status=OVERSTAYING`,
    );
    expect(listed.body.items.map((r) => r.overstay)).toEqual([{ minutes: 25, chargeSoFar: 510 }]);

    const out = await call<{ overstayCharge?: number }>(
      service.url,
      "POST",
      `/parking-lots/${LOT.parkingLotId}/reservations/${booked.reservationId}/check-out`,
    );
    expect(out.body.overstayCharge).toBe(over.body.overstay?.chargeSoFar);
    const done = await call<Reservation>(service.url, "GET", path);
    expect(done.body.status).toBe("COMPLETED");
    expect(done.body.overstay).toBeUndefined();
  });

  it("the timeline and the lot's reservations as they were at a moment of the past (asOf)", async () => {
    const before = now;
    now += MINUTE;
    const later = now + 2 * 60 * MINUTE;
    const booked = await reserve(later, later + 60 * MINUTE);
    now += MINUTE;

    const slotAt = (view: { slots: { from: string; held: number }[] }) =>
      view.slots.find((s) => Date.parse(s.from) <= later && later < Date.parse(s.from) + 15 * MINUTE)?.held;
    const range = `from=${encodeURIComponent(iso(before))}&until=${encodeURIComponent(iso(before + 24 * 60 * MINUTE))}`;
    const live = await call<{ slots: { from: string; held: number }[]; asOf?: unknown }>(
      service.url,
      "GET",
      `/parking-lots/${LOT.parkingLotId}/timeline?${range}`,
    );
    expect(slotAt(live.body)).toBe(1);
    expect(live.body.asOf).toBeUndefined();
    const then = await call<{ slots: { from: string; held: number }[]; now: string; asOf?: { at: string } }>(
      service.url,
      "GET",
      `/parking-lots/${LOT.parkingLotId}/timeline?${range}&asOf=${encodeURIComponent(iso(before))}`,
    );
    expect(then.status, JSON.stringify(then.body)).toBe(200);
    expect(slotAt(then.body)).toBe(0);
    expect(then.body.now).toBe(iso(before));
    expect(then.body.asOf?.at).toBe(iso(before));

    const listAt = async (at?: number) =>
      call<{ items: Reservation[]; asOf?: { at: string } }>(
        service.url,
        "GET",
        `/reservations?parkingLotId=${LOT.parkingLotId}${at === undefined ? "" : `&asOf=${encodeURIComponent(iso(at))}`}`,
      );
    const nowList = await listAt();
    expect(nowList.body.items.map((r) => r.reservationId)).toContain(booked.reservationId);
    // A second before the first car's check-out (stamped at `before`): it was still overstaying.
    const thenList = await listAt(before - 1000);
    expect(thenList.status).toBe(200);
    expect(thenList.body.items.map((r) => r.reservationId)).not.toContain(booked.reservationId);
    expect(thenList.body.items.map((r) => [r.status, r.overstay?.minutes])).toEqual([["OVERSTAYING", 25]]);
    expect(thenList.body.asOf?.at).toBe(iso(before - 1000));

    const unscoped = await call<{ errors: { field: string }[] }>(
      service.url,
      "GET",
      `/reservations?asOf=${encodeURIComponent(iso(before))}`,
    );
    expect(unscoped.status).toBe(400);
    expect(unscoped.body.errors.map((e) => e.field)).toEqual(["query.asOf"]);
  });
});
