import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import type { ParkingLotDetail, TimelineView } from "../schemas/read-models.js";
import { ANONYMOUS, customerHeaders, operatorHeaders } from "../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";

/**
 * Issue 33's reproductions over real HTTP, with a clock the test moves: what the service shows is
 * what it decides (the quote, the timeline, free now and the next hours agree with the booking), a
 * cancellation a closure causes is stamped when it is decided, `?status=` lists exactly what reads
 * the status, and a retried check-out answers what the first did.
 */
const DAY = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString().slice(0, 10);
const at = (hhmm: string) => `${DAY}T${hhmm}:00.000Z`;

describe("what the service shows is what it decides (issue 33)", () => {
  const data = tempDataDir("parking-one-rule-");
  let now = Date.parse(at("09:00"));
  let service: RunningService;
  let position = "0";

  beforeAll(async () => {
    service = await startTestService(data.dir, {}, { clock: () => new Date(now) });
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  const register = async (parkingLotId: string, capacity: number) => {
    const lot = { parkingLotId, name: `lot ${parkingLotId}`, capacity, hourlyRate: 1000 };
    const answer = await call<{ position: string }>(service.url, "POST", "/parking-lots", lot);
    expect(answer.status).toBe(201);
    position = answer.body.position;
  };
  const reserve = async (lot: string, who: string, window?: [string, string]) => {
    const body = {
      carNumber: "10더8612",
      ...(window ? { startsAt: at(window[0]), endsAt: at(window[1]) } : {}),
    };
    const answer = await call<{ reservationId: string; position: string }>(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations`,
      body,
      await customerHeaders(data.dir, who),
    );
    if (answer.status === 201) position = answer.body.position;
    return answer;
  };
  const step = async (lot: string, id: string, action: string, headers: Record<string, string> = {}) => {
    const answer = await call<{ status: string; overstayCharge?: number; position: string }>(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations/${id}/${action}`,
      undefined,
      { ...(await operatorHeaders(data.dir)), ...headers },
    );
    expect(answer.status).toBe(200);
    position = answer.body.position;
    return answer.body;
  };
  const get = async <T>(path: string) => {
    const answer = await call<T>(
      service.url,
      "GET",
      `${path}${path.includes("?") ? "&" : "?"}minPosition=${position}`,
    );
    expect(answer.status).toBe(200);
    return answer.body;
  };

  it("a car checked in within its window holds its spot over its window only: the quote, the booking, the timeline and the next hours agree", async () => {
    now = Date.parse(at("09:00"));
    await register("one", 1);
    const inside = await reserve("one", "early", ["09:00", "09:15"]);
    expect(inside.status).toBe(201);
    await step("one", inside.body.reservationId, "check-in");
    const quote = await call<{ availableSpots: number }>(
      service.url,
      "GET",
      `/parking-lots/one/availability?from=${encodeURIComponent(at("14:00"))}&until=${encodeURIComponent(at("15:00"))}&minPosition=${position}`,
      undefined,
      ANONYMOUS,
    );
    expect(quote.body.availableSpots).toBe(1);
    expect((await reserve("one", "later", ["14:00", "15:00"])).status).toBe(201);
    const timeline = await get<TimelineView>(
      `/parking-lots/one/timeline?from=${encodeURIComponent(at("09:00"))}&until=${encodeURIComponent(at("21:00"))}&step=60`,
    );
    expect(timeline.slots.map((s) => s.held)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    // Nobody overstays: the car's window has not ended.
    expect(timeline.slots.every((s) => s.overstaying === 0)).toBe(true);
    const detail = await get<ParkingLotDetail>("/parking-lots/one");
    expect(detail.freeNow).toBe(0);
    expect(detail.nextHours.map((h) => h.availableSpots)).toEqual([0, 1, 1, 1, 1, 0]);
    // Once the car is past its window it overstays, and from then on holds its spot until it leaves.
    now = Date.parse(at("09:20"));
    const overstaying = await get<TimelineView>(
      `/parking-lots/one/timeline?from=${encodeURIComponent(at("09:00"))}&until=${encodeURIComponent(at("12:00"))}&step=60`,
    );
    expect(overstaying.slots.map((s) => [s.held, s.overstaying])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  });

  it("a closure that began in the past cancels an open-ended booking as of when it is decided, after its cause", async () => {
    now = Date.parse(at("06:00"));
    await register("closing", 2);
    const open = await reserve("closing", "night");
    expect(open.status).toBe(201);
    now = Date.parse(at("09:00"));
    const closure = await call<{ canceledReservations: string[]; position: string }>(
      service.url,
      "POST",
      "/parking-lots/closing/closures",
      { from: at("07:00"), until: at("12:00"), reason: "flooded" },
      await operatorHeaders(data.dir),
    );
    expect(closure.status).toBe(201);
    position = closure.body.position;
    const reservation = await get<{ status: string; reservedAt: string; canceledAt?: string }>(
      `/reservations/${open.body.reservationId}`,
    );
    expect(reservation).toMatchObject({ status: "CANCELED", canceledAt: at("09:00") });
  });

  it("?status= lists an open-ended booking whose closure has begun under CANCELED, never under RESERVED", async () => {
    now = Date.parse(at("09:00"));
    await register("soon", 2);
    const open = await reserve("soon", "stay");
    expect(open.status).toBe(201);
    const closure = await call<{ position: string }>(
      service.url,
      "POST",
      "/parking-lots/soon/closures",
      { from: at("09:30"), until: at("12:00"), reason: "works" },
      await operatorHeaders(data.dir),
    );
    position = closure.body.position;
    // The closure begins: the booking reads CANCELED at once, whether or not the scheduler has
    // recorded it yet, and every list agrees.
    now = Date.parse(at("09:31"));
    const ids = async (status: string) =>
      (
        await get<{ items: { reservationId: string; status: string }[] }>(
          `/reservations?parkingLotId=soon&status=${status}`,
        )
      ).items;
    for (let round = 0; round < 2; round++) {
      expect((await get<{ status: string }>(`/reservations/${open.body.reservationId}`)).status).toBe(
        "CANCELED",
      );
      expect((await ids("RESERVED")).map((r) => r.reservationId)).toEqual([]);
      expect((await ids("CANCELED")).map((r) => r.reservationId)).toEqual([open.body.reservationId]);
    }
  });

  it("a retried check-out of an overstaying car answers the same overstay charge, with or without the same Idempotency-Key", async () => {
    now = Date.parse(at("09:00"));
    await register("late", 2);
    const booked = await reserve("late", "slow", ["09:00", "09:30"]);
    expect(booked.status).toBe(201);
    const id = booked.body.reservationId;
    await step("late", id, "check-in");
    now = Date.parse(at("10:12"));
    const key = { "idempotency-key": "check-out-1" };
    const first = await step("late", id, "check-out", key);
    expect(first).toMatchObject({ status: "COMPLETED", overstayCharge: 700 });
    now = Date.parse(at("10:20"));
    expect(await step("late", id, "check-out", key)).toMatchObject({
      status: "COMPLETED",
      overstayCharge: 700,
    });
    expect(await step("late", id, "check-out")).toMatchObject({ status: "COMPLETED", overstayCharge: 700 });
  });

  it("the control center's totals are the sum of its lots' views, as each lot's decider counts them", async () => {
    now = Date.parse(at("09:00"));
    await register("sum-a", 2);
    await register("sum-b", 1);
    const early = await reserve("sum-a", "early", ["09:00", "09:30"]);
    await reserve("sum-a", "later", ["11:00", "12:00"]);
    await reserve("sum-b", "open");
    await step("sum-a", early.body.reservationId, "check-in");
    type Lot = { activeReservations: number; availableSpots: number; capacity: number };
    type Center = { totals: Lot & { parkingLots: number }; parkingLots: Lot[] };
    // Within its window, overstaying past it, and while the later window holds its spot.
    for (const moment of ["09:10", "10:00", "11:30"]) {
      now = Date.parse(at(moment));
      const answer = await call<Center>(
        service.url,
        "GET",
        `/control-center?limit=100&minPosition=${position}`,
        undefined,
        await operatorHeaders(data.dir),
      );
      expect(answer.status).toBe(200);
      const { totals, parkingLots } = answer.body;
      const sum = (field: keyof Lot) => parkingLots.reduce((n, lot) => n + lot[field], 0);
      expect(totals.parkingLots, moment).toBe(parkingLots.length);
      expect(totals.capacity, moment).toBe(sum("capacity"));
      expect(totals.activeReservations, moment).toBe(sum("activeReservations"));
      expect(totals.availableSpots, moment).toBe(sum("availableSpots"));
    }
  });
});
