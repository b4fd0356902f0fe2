import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedEvent } from "../event-store/port.js";
import type { ControlCenterView, ParkingLotDetail, ReservationView } from "../schemas/read-models.js";
import { ANONYMOUS, customerHeaders } from "../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * The lot follows the cars and the clock, over real HTTP with a clock the test moves (the service's
 * one clock: its commands, its queries and its scheduler, which runs in the request thread here so
 * that it reads the same clock):
 * - a car checked in and past its window is OVERSTAYING, holds its spot (0 free, a new window
 *   refused), puts a later booking at risk, and is charged the overstay when it checks out;
 * - a window never checked in is NO_SHOW at once, recorded by the scheduler within seconds, and
 *   loses the coupon its booking got;
 * - an open-ended booking survives a closure's creation, is told when it must leave, and is canceled
 *   when the closure begins, while a checked-in car is listed instead;
 * - a customer cannot cancel once checked in; an operator can;
 * - coupon farming with past, 1 ms or unpriced windows, or by reserve → check-in → check-out at
 *   once for one minor unit, keeps nothing (a booking's coupon is revoked by a stay shorter than
 *   15 minutes, or a no-show).
 */
const DAY = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString().slice(0, 10);
const at = (hhmm: string, days = 0) =>
  new Date(Date.parse(`${DAY}T${hhmm}:00.000Z`) + days * 24 * 3_600_000).toISOString();
const PRICED = "gangnam-1"; // capacity 1, 1,000 an hour
const PLAIN = "gangnam-2"; // capacity 2, no rate: the client names its price
const CLOSING = "gangnam-3"; // capacity 4, closed for two hours next week

describe("the lot follows the cars and the clock", () => {
  const data = tempDataDir("parking-cars-clock-");
  let now = Date.parse(at("09:00"));
  let service: RunningService;
  let position = "0";
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    service = await startTestService(data.dir, { PROCESSORS_THREAD: "main" }, { clock: () => new Date(now) });
    const lots = [
      { parkingLotId: PRICED, name: "강남 1주차장", capacity: 1, hourlyRate: 1000 },
      { parkingLotId: PLAIN, name: "강남 2주차장", capacity: 2 },
      { parkingLotId: CLOSING, name: "강남 3주차장", capacity: 4 },
    ];
    for (const lot of lots) expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
  });
  afterAll(async () => {
    await service?.shutdown("test done", { drain: false });
    data.remove();
  });

  const as = (who: string) => customerHeaders(data.dir, who);
  const book = async (who: string, lot: string, body: Record<string, unknown>) => {
    const answer = await call<{
      reservationId: string;
      position: string;
      amount: number;
      mustLeaveBy?: string;
    }>(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations`,
      { carNumber: "10더8612", ...body },
      await as(who),
    );
    if (answer.status === 201) {
      ids[who] = answer.body.reservationId;
      position = answer.body.position;
    }
    return answer;
  };
  const step = async (who: string, lot: string, action: "check-in" | "check-out", by?: string) => {
    const answer = await call<{ position: string; status: string; overstayCharge?: number }>(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations/${ids[who]}/${action}`,
      undefined,
      by === "operator" ? {} : await as(who),
    );
    if (answer.status === 200) position = answer.body.position;
    return answer;
  };
  const reservation = async (who: string) =>
    (await call<ReservationView>(service.url, "GET", `/reservations/${ids[who]}?minPosition=${position}`))
      .body;
  const lot = async (id: string, headers: Record<string, string> = ANONYMOUS) =>
    (
      await call<ParkingLotDetail>(
        service.url,
        "GET",
        `/parking-lots/${id}?minPosition=${position}`,
        undefined,
        headers,
      )
    ).body;
  const lotEvents = async (id: string): Promise<RecordedEvent[]> => {
    const events: RecordedEvent[] = [];
    const store = service.services.eventStore;
    if (!store) throw new Error("the service has no event store");
    for await (const event of store.readStream(`parkingLot-${id}`)) events.push(event);
    return events;
  };
  /** Waits (bounded) for what the scheduler and the coupon policy do within seconds. */
  const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });

  it("09:00: books a window on the priced lot at its quote, and one that an overstay will put at risk", async () => {
    const first = await book("A", PRICED, { startsAt: at("10:00"), endsAt: at("11:00") });
    expect(first.status).toBe(201);
    expect(first.body.amount).toBe(1000);
    expect((await book("C", PRICED, { startsAt: at("12:30"), endsAt: at("13:30") })).status).toBe(201);
    // A window on the lot without a rate, never to be used.
    expect(
      (await book("D", PLAIN, { startsAt: at("10:00"), endsAt: at("11:00"), amount: 1000 })).status,
    ).toBe(201);
  });

  it("refuses coupon farming: past windows, 1 ms windows, and a price on an open-ended stay of a priced lot", async () => {
    const tries = [
      { startsAt: at("08:00"), endsAt: at("08:30"), amount: 1 }, // over already
      { startsAt: at("08:50"), endsAt: at("09:10"), amount: 1 }, // started 10 minutes ago
      { startsAt: at("10:00"), endsAt: new Date(Date.parse(at("10:00")) + 1).toISOString(), amount: 1 },
      { startsAt: at("10:00"), endsAt: at("10:14"), amount: 1 }, // shorter than 15 minutes
      { startsAt: at("09:00"), endsAt: at("09:10"), amount: 1 }, // ends within 15 minutes
    ];
    for (let i = 0; i < 100; i++) {
      const answer = await book("farmer", PLAIN, tries[i % tries.length] as Record<string, unknown>);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    }
    const priced = await book("farmer", PRICED, { amount: 1 });
    expect(priced.status).toBe(400);
    expect(JSON.stringify(priced.body)).toMatch(/priced at check-out/);
    // The availability quote refuses exactly the same windows, with the same problem type.
    const quote = await call(
      service.url,
      "GET",
      `/parking-lots/${PLAIN}/availability?from=${encodeURIComponent(at("08:00"))}&until=${encodeURIComponent(at("08:30"))}`,
      undefined,
      ANONYMOUS,
    );
    expect(quote.status).toBe(400);
    expect(quote.body).toMatchObject({ type: "/problems/validation" });
    // Valid but cheap windows are booked (with a coupon, lost with the no-show at 11:10).
    const cheap = await book("farmer", PLAIN, { startsAt: at("10:00"), endsAt: at("10:15"), amount: 1 });
    expect(cheap.status).toBe(201);
    // Reserve → check in → check out at once, for one minor unit: a stay of 0 minutes keeps nothing.
    for (let i = 0; i < 3; i++) {
      expect((await book("quick", CLOSING, { amount: 1 })).status).toBe(201);
      expect((await step("quick", CLOSING, "check-in")).status).toBe(200);
      expect((await step("quick", CLOSING, "check-out")).status).toBe(200);
    }
    const checkOuts = (await lotEvents(CLOSING)).filter((e) => e.type === "ReservationCheckedOut");
    expect(checkOuts.map((e) => (e.data as { couponEarned?: boolean }).couponEarned)).toEqual([
      false,
      false,
      false,
    ]);
    // Each booking got its coupon, and each too-short stay took it back.
    await eventually(async () => {
      const coupons = await call<{ items: { status: string }[] }>(
        service.url,
        "GET",
        "/customers/quick/coupons",
      );
      return coupons.body.items.map((c) => c.status).join();
    }).toBe("REVOKED,REVOKED,REVOKED");
  });

  it("an open-ended booking survives a closure created for next week and learns when it must leave", async () => {
    expect((await book("E", CLOSING, { amount: 500 })).status).toBe(201);
    expect((await book("F", CLOSING, { amount: 500 })).status).toBe(201);
    expect((await step("F", CLOSING, "check-in")).status).toBe(200);
    const closure = await call<{ position: string; canceledReservations: string[] }>(
      service.url,
      "POST",
      `/parking-lots/${CLOSING}/closures`,
      { from: at("10:00", 7), until: at("12:00", 7), reason: "도장 공사" },
    );
    expect(closure.status).toBe(201);
    expect(closure.body.canceledReservations).toEqual([]);
    position = closure.body.position;
    const e = await reservation("E");
    expect(e.status).toBe("RESERVED");
    expect(e.mustLeaveBy).toBe(at("10:00", 7));
    // A booking made now is accepted and told when the lot closes.
    const g = await book("G", CLOSING, { amount: 500 });
    expect(g.status).toBe(201);
    expect(g.body.mustLeaveBy).toBe(at("10:00", 7));
    // The public view shows when, not the operators' words.
    const closures = (await lot(CLOSING)).closures ?? [];
    expect(closures).toEqual([expect.objectContaining({ from: at("10:00", 7), until: at("12:00", 7) })]);
    expect(closures[0]).not.toHaveProperty("reason");
    expect((await lot(CLOSING, {})).closures?.[0]?.reason).toBe("도장 공사");
  });

  it("10:05: the car checks in; its customer can no longer cancel", async () => {
    now = Date.parse(at("10:05"));
    expect((await step("A", PRICED, "check-in")).status).toBe(200);
    const cancel = await call(
      service.url,
      "DELETE",
      `/parking-lots/${PRICED}/reservations/${ids.A}`,
      undefined,
      await as("A"),
    );
    expect(cancel.status).toBe(409);
    expect(cancel.body).toMatchObject({ type: "/problems/reservation-checked-in" });
    expect(JSON.stringify(cancel.body)).toMatch(/check out instead/);
  });

  it("11:10: the car is OVERSTAYING and holds its spot; a new window is refused; a later booking is at risk", async () => {
    now = Date.parse(at("11:10"));
    expect((await reservation("A")).status).toBe("OVERSTAYING");
    const priced = await lot(PRICED);
    expect([priced.availableSpots, priced.freeNow, priced.activeReservations]).toEqual([0, 0, 1]);
    const refused = await book("B", PRICED, { startsAt: at("11:10"), endsAt: at("12:00") });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ type: "/problems/parking-lot-full" });
    const listed = await call<{ items: ReservationView[] }>(
      service.url,
      "GET",
      `/reservations?parkingLotId=${PRICED}&status=OVERSTAYING`,
    );
    expect(listed.body.items.map((r) => r.reservationId)).toEqual([ids.A]);
    const center = (
      await call<ControlCenterView>(service.url, "GET", `/control-center?minPosition=${position}`)
    ).body;
    const row = center.parkingLots.find((l) => l.parkingLotId === PRICED);
    expect(row?.presence.overstaying).toBe(1);
    expect(row?.atRisk.map((r) => r.reservationId)).toEqual([ids.C]);
  });

  it("11:10: the unused window is NO_SHOW at once, recorded once within seconds, its coupon revoked", async () => {
    expect((await reservation("D")).status).toBe("NO_SHOW");
    await eventually(async () => (await reservation("D")).coupon?.status).toBe("REVOKED");
    const recorded = async () =>
      (await lotEvents(PLAIN)).filter((e) => e.type === "ReservationNoShow").length;
    await eventually(recorded).toBe(2); // the scheduler records both within seconds
    const noShows = (await lotEvents(PLAIN)).filter((e) => e.type === "ReservationNoShow");
    expect(noShows.map((e) => (e.data as { reservationId: string }).reservationId).sort()).toEqual(
      [ids.D, ids.farmer].sort(),
    );
    expect(noShows[0]?.metadata).toMatchObject({ actor: { sub: "scheduler", role: "system" } });
    // Farming earned nothing that survives.
    await eventually(async () => {
      const coupons = await call<{ items: { status: string }[] }>(
        service.url,
        "GET",
        "/customers/farmer/coupons",
      );
      return coupons.body.items.filter((c) => c.status === "ISSUED").length;
    }).toBe(0);
  });

  it("11:40: the car checks out and is charged the overstay; 11:45–12:30 is then accepted", async () => {
    now = Date.parse(at("11:40"));
    const out = await step("A", PRICED, "check-out");
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ status: "COMPLETED", overstayCharge: 667 }); // 40 min at 1,000/h, rounded up
    expect(await reservation("A")).toMatchObject({ status: "COMPLETED", overstayCharge: 667, amount: 1000 });
    expect((await book("B", PRICED, { startsAt: at("11:45"), endsAt: at("12:30") })).status).toBe(201);
  });

  it("an operator cancels a checked-in car, with a reason, which frees its spot", async () => {
    expect((await book("H", CLOSING, { amount: 500 })).status).toBe(201);
    expect((await step("H", CLOSING, "check-in")).status).toBe(200);
    const before = (await lot(CLOSING)).availableSpots;
    const cancel = await call<{ position: string }>(
      service.url,
      "DELETE",
      `/parking-lots/${CLOSING}/reservations/${ids.H}`,
      { reason: "차량 견인" },
    );
    expect(cancel.status).toBe(200);
    position = cancel.body.position;
    expect((await reservation("H")).status).toBe("CANCELED");
    expect((await lot(CLOSING)).availableSpots).toBe(before + 1);
  });

  it("next week, when the closure begins: open-ended bookings are canceled, the car in the lot is listed", async () => {
    now = Date.parse(at("10:00", 7)) + 5_000;
    // The clock says so at once...
    expect((await reservation("E")).status).toBe("CANCELED");
    // ...and the scheduler records it within seconds: canceled as lot-closed, its coupon revoked.
    for (const who of ["E", "G"]) {
      await eventually(async () => {
        const r = await reservation(who);
        return [r.status, r.cancelReason, r.coupon?.status];
      }).toEqual(["CANCELED", "lot-closed", "REVOKED"]);
    }
    expect((await reservation("F")).status).toBe("CHECKED_IN");
    const began = (await lotEvents(CLOSING)).filter((e) => e.type === "ParkingLotClosureBegan");
    expect(began).toHaveLength(1);
    expect(began[0]?.data).toMatchObject({ carsInLot: [ids.F] });
    const seen = await lot(CLOSING, {});
    expect(seen.closures?.[0]?.carsInLot).toEqual([ids.F]);
    expect(seen.closedUntil).toBe(at("12:00", 7));
  });
});
