import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../../app/server.js";
import { type ApiSpec, answered, refused, startApiSpec } from "../../client/api-spec.js";
import type { RecordedEvent } from "../../event-store/port.js";
import { CURRENT_SCHEMA_VERSION } from "../../schemas/events.js";
import { openPersonalFields } from "../../schemas/personal-data.js";
import { bearer, customerHeaders, mintToken, operatorHeaders } from "../../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir } from "../../test-support/service.js";
import { gateStream } from "../gate-events.js";
import { lotStreamsSince } from "../lot-streams.js";

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

describe("command API over real HTTP (embedded stores)", () => {
  /** The service in this process, and a typed client per caller (client/api-spec.ts). */
  let spec: ApiSpec;
  const data = { dir: "" };
  let service: RunningService;
  let base: string;

  beforeAll(async () => {
    spec = await startApiSpec();
    service = spec.service;
    data.dir = spec.dataDir;
    base = spec.url;
  });
  afterAll(async () => {
    await spec.stop();
  });

  /** The lot's events, every period's (issue 48: a small LOT_PERIOD_EVENTS makes the suite cross periods). */
  const lotEvents = async (lotId: string) => {
    const store = service.services.eventStore!;
    const streams = await lotStreamsSince(store, lotId, Number.NEGATIVE_INFINITY);
    return (await Promise.all(streams.map((stream) => collect(store.readStream(stream))))).flat();
  };
  /** Position of the last event in any lot stream (the coupon policy appends to coupon streams on its own). */
  const lastLotEvent = async () =>
    (
      await collect(
        service.services.eventStore!.readAll({
          direction: "backwards",
          maxCount: 1,
          filter: { streamPrefixes: ["parkingLot-"] },
        }),
      )
    )[0]?.position;

  it("registers a lot: 201, Location, position; the same registration again is a harmless 200", async () => {
    // Given no lot gangnam-1, when the operator registers it:
    const body = { parkingLotId: "gangnam-1", name: "강남 1주차장", capacity: 5 };
    const created = await spec.operator.POST("/parking-lots", { body });
    // then it is created where Location says, at a position of the log.
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get("location")).toBe("/parking-lots/gangnam-1");
    expect(created.data).toMatchObject({ parkingLotId: "gangnam-1", name: "강남 1주차장", capacity: 5 });
    expect(answered(created, 201).position).toMatch(/^[0-9]+$/);
    // When the same registration is sent again, nothing changes;
    expect((await spec.operator.POST("/parking-lots", { body })).response.status).toBe(200);
    // when another one takes its id, it is refused,
    const taken = await spec.operator.POST("/parking-lots", {
      body: { parkingLotId: "gangnam-1", name: "other", capacity: 9 },
    });
    expect(taken.response.status).toBe(409);
    expect(taken.response.headers.get("content-type")).toContain("application/problem+json");
    expect(refused(taken, 409, "parking-lot-id-taken").type).toBe("/problems/parking-lot-id-taken");
    // and the lot's stream holds the one registration.
    expect(await lotEvents("gangnam-1")).toHaveLength(1);
  });

  it("generates a lot id when none is given", async () => {
    const created = await spec.operator.POST("/parking-lots", {
      body: { name: "Lot without id", capacity: 1 },
    });
    expect(created.response.status).toBe(201);
    expect(answered(created, 201).parkingLotId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("a customer books for themselves; their booking names them, another customer's id is 403, no token is 401", async () => {
    // Given a lot,
    await spec.operator.POST("/parking-lots", {
      body: { parkingLotId: "spec-1", name: "Spec", capacity: 2 },
    });
    const customer = await spec.customer("CUST-SPEC");
    const path = "/parking-lots/{parkingLotId}/reservations" as const;
    const params = { path: { parkingLotId: "spec-1" } };
    // when the customer books without naming anyone, the booking is theirs;
    const booked = await customer.POST(path, { params, body: { carNumber: "12가3456", amount: 5000 } });
    expect(answered(booked, 201)).toMatchObject({ customerId: "CUST-SPEC", status: "RESERVED" });
    // when they name another customer, it is refused; and without a token, it is refused too.
    const forOther = await customer.POST(path, {
      params,
      body: { customerId: "SOMEONE-ELSE", carNumber: "12가3457", amount: 5000 },
    });
    refused(forOther, 403, "forbidden");
    refused(
      await spec.anonymous.POST(path, { params, body: { carNumber: "12가3458", amount: 5000 } }),
      401,
      "unauthorized",
    );
    // Then the lot holds only the customer's own booking.
    expect((await lotEvents("spec-1")).filter((e) => e.type === "ParkingReserved")).toHaveLength(1);
  });

  it("200 concurrent reservations on a lot of 50: exactly 50 succeed, 150 get 409, the stream holds 50 ParkingReserved", async () => {
    await call(base, "POST", "/parking-lots", { parkingLotId: "rush", name: "Rush hour", capacity: 50 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        call(base, "POST", "/parking-lots/rush/reservations", {
          customerId: `C${i}`,
          carNumber: `${10 + (i % 89)}더${1000 + i}`,
          amount: 5000,
        }),
      ),
    );
    const byStatus: Record<number, number> = {};
    for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    expect(byStatus).toEqual({ 201: 50, 409: 150 });
    for (const r of results.filter((r) => r.status === 409))
      expect(r.body.type).toBe("/problems/parking-lot-full");
    const events = await lotEvents("rush");
    expect(events.filter((e) => e.type === "ParkingReserved")).toHaveLength(50);
    expect(new Set(results.filter((r) => r.status === 201).map((r) => r.body.reservationId)).size).toBe(50);
  });

  /** Instants of a day after tomorrow, so every window starts in the future whatever the run's time. */
  const dayAfterTomorrow = (minutes: number) => {
    const day = new Date(Date.now() + 2 * 24 * 3_600_000);
    day.setUTCHours(8, 0, 0, 0);
    return new Date(day.getTime() + minutes * 60_000).toISOString();
  };
  const raceWindows = async (lotId: string, windowOf: (i: number) => [string, string]) => {
    await call(base, "POST", "/parking-lots", { parkingLotId: lotId, name: "Race of windows", capacity: 50 });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const [startsAt, endsAt] = windowOf(i);
        return call(base, "POST", `/parking-lots/${lotId}/reservations`, {
          customerId: `W${i}`,
          carNumber: `${10 + (i % 89)}더${1000 + i}`,
          amount: 5000,
          startsAt,
          endsAt,
        });
      }),
    );
    const byStatus: Record<number, number> = {};
    for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const reserved = (await lotEvents(lotId)).filter((e) => e.type === "ParkingReserved");
    return { byStatus, reserved: reserved.length };
  };

  it("200 concurrent windowed reservations that all overlap, on a lot of 50: exactly 50 succeed", async () => {
    // Every window covers 10:00–10:30; they start and end at different times around it.
    const { byStatus, reserved } = await raceWindows("rush-windows", (i) => [
      dayAfterTomorrow(120 - (i % 60)),
      dayAfterTomorrow(150 + (i % 45)),
    ]);
    expect(byStatus).toEqual({ 201: 50, 409: 150 });
    expect(reserved).toBe(50);
  });

  it("200 concurrent windowed reservations that never overlap more than 50 at once: all 200 succeed", async () => {
    // Four rounds of 50 back-to-back windows: 08:00–09:00, 09:00–10:00, 10:00–11:00, 11:00–12:00.
    const { byStatus, reserved } = await raceWindows("shifts", (i) => {
      const shift = Math.floor(i / 50);
      return [dayAfterTomorrow(shift * 60), dayAfterTomorrow(shift * 60 + 60)];
    });
    expect(byStatus).toEqual({ 201: 200 });
    expect(reserved).toBe(200);
  });

  it("Idempotency-Key: a retry returns the same reservation and books nothing new", async () => {
    await call(base, "POST", "/parking-lots", { parkingLotId: "idem", name: "Idempotent", capacity: 3 });
    const body = { customerId: "CUST1", carNumber: "10더8612", amount: 5000 };
    const first = await call(base, "POST", "/parking-lots/idem/reservations", body, {
      "Idempotency-Key": "order-42",
    });
    const retries = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(base, "POST", "/parking-lots/idem/reservations", body, { "Idempotency-Key": "order-42" }),
      ),
    );
    expect(first.status).toBe(201);
    for (const retry of retries) {
      expect(retry.status).toBe(200);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(retry.body.reservationId).toBe(first.body.reservationId);
    }
    const reused = await call(
      base,
      "POST",
      "/parking-lots/idem/reservations",
      { ...body, amount: 1 },
      { "Idempotency-Key": "order-42" },
    );
    expect(reused.status).toBe(422);
    expect(reused.body.type).toBe("/problems/idempotency-key-reused");
    expect((await lotEvents("idem")).filter((e) => e.type === "ParkingReserved")).toHaveLength(1);
  });

  it("cancels once; canceling again changes nothing; unknown reservations and lots are 404", async () => {
    await call(base, "POST", "/parking-lots", { parkingLotId: "cancel-lot", name: "Cancel", capacity: 1 });
    const reserved = await call(base, "POST", "/parking-lots/cancel-lot/reservations", {
      customerId: "C1",
      carNumber: "12가3456",
      amount: 1000,
    });
    const id = reserved.body.reservationId as string;
    const full = await call(base, "POST", "/parking-lots/cancel-lot/reservations", {
      customerId: "C2",
      carNumber: "12가3457",
      amount: 1000,
    });
    expect(full.status).toBe(409);
    // The customer cancels their own reservation (no reason needed); an operator must give one.
    const canceled = await call(
      base,
      "DELETE",
      `/parking-lots/cancel-lot/reservations/${id}`,
      undefined,
      await customerHeaders(data.dir, "C1"),
    );
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ reservationId: id, status: "CANCELED" });
    const twice = await call(base, "DELETE", `/parking-lots/cancel-lot/reservations/${id}`, {
      reason: "again",
    });
    expect(twice.status).toBe(200);
    expect((await lotEvents("cancel-lot")).filter((e) => e.type === "ReservationCanceled")).toHaveLength(1);
    const freed = await call(base, "POST", "/parking-lots/cancel-lot/reservations", {
      customerId: "C2",
      carNumber: "12가3457",
      amount: 1000,
    });
    expect(freed.status).toBe(201);

    const unknownReservation = await call(base, "DELETE", "/parking-lots/cancel-lot/reservations/nope", {
      reason: "desk",
    });
    expect(unknownReservation.status).toBe(404);
    expect(unknownReservation.body.type).toBe("/problems/reservation-not-found");
    const unknownLot = await call(base, "POST", "/parking-lots/nowhere/reservations", {
      customerId: "C1",
      carNumber: "12가3456",
      amount: 1,
    });
    expect(unknownLot.status).toBe(404);
    expect(unknownLot.body.type).toBe("/problems/parking-lot-not-found");
    expect(await lotEvents("nowhere")).toHaveLength(0);
  });

  it("gates (issue 49): a booked plate opens the entry and the exit with its price; a repeat answers alike and appends nothing; no booking is denied; a doubtful read or an exit with no stay goes to review", async () => {
    await call(base, "POST", "/parking-lots", { parkingLotId: "gate-1", name: "Gated", capacity: 3 });
    const booked = await call(base, "POST", "/parking-lots/gate-1/reservations", {
      customerId: "G1",
      carNumber: "34 나 2222",
      amount: 5000,
    });
    expect(booked.status).toBe(201);
    const reservationId = booked.body.reservationId;
    let seq = 0;
    const gate = (over: Record<string, unknown>) =>
      call(base, "POST", "/parking-lots/gate-1/gate-events", {
        eventId: `cam-${++seq}`,
        gateId: "north",
        direction: "entry",
        plate: "34나2222",
        confidence: 0.95,
        at: new Date().toISOString(),
        ...over,
      });
    const readGateStream = (eventId: string) =>
      collect(service.services.eventStore!.readStream(gateStream("gate-1", eventId)));
    // A low-confidence read of the booked plate: an attendant looks; the lot is untouched.
    const doubtful = await gate({ confidence: 0.5 });
    expect(doubtful.status).toBe(200);
    expect(doubtful.body).toMatchObject({
      decision: "review",
      reason: "LowConfidence",
      candidates: [reservationId],
    });
    expect((await lotEvents("gate-1")).map((e) => e.type)).toEqual([
      "ParkingLotRegistered",
      "ParkingReserved",
    ]);
    // The booked plate, written otherwise, at the entry: checked in.
    const entry = await gate({ eventId: "cam-in" });
    expect(entry.body).toEqual({
      eventId: "cam-in",
      decision: "open",
      reason: "CheckedIn",
      reservationId,
      position: expect.stringMatching(/^[0-9]+$/),
    });
    const afterEntry = await lotEvents("gate-1");
    expect(afterEntry.at(-1)?.type).toBe("ReservationCheckedIn");
    // The camera retries the same event: the same answer, nothing appended anywhere.
    const again = await gate({ eventId: "cam-in", confidence: 0.99 });
    expect(again.body).toEqual({ ...entry.body, replayed: true });
    expect(await lotEvents("gate-1")).toHaveLength(afterEntry.length);
    expect(await readGateStream("cam-in")).toHaveLength(1);
    // The reservation's audit trail shows the gate's read (the reservation-events index finds it).
    const history = await eventually(async () => {
      const page = await call<{ items: { type: string; summary: string }[] }>(
        base,
        "GET",
        `/reservations/${reservationId}/history`,
      );
      return page.body.items?.some((item) => item.type === "GateEventRecorded") ? page.body.items : undefined;
    });
    expect(history.find((item) => item.type === "GateEventRecorded")?.summary).toContain("gate north");
    // A plate with no booking, on a lot without an hourly rate to price a drive-up: denied with the reason.
    expect((await gate({ plate: "99허9999" })).body).toMatchObject({
      decision: "deny",
      reason: "NoHourlyRate",
    });
    // The exit: checked out, with what the stay cost.
    const exit = await gate({ eventId: "cam-out", direction: "exit", plate: "34-나-2222" });
    expect(exit.body).toEqual({
      eventId: "cam-out",
      decision: "open",
      reason: "CheckedOut",
      reservationId,
      price: 5000,
      position: expect.stringMatching(/^[0-9]+$/),
    });
    expect((await lotEvents("gate-1")).at(-1)?.type).toBe("ReservationCheckedOut");
    // The same car read at the exit again, as a new event: no stay left, an attendant looks.
    expect((await gate({ direction: "exit" })).body).toMatchObject({ decision: "review", reason: "NoStay" });
    // A customer may not send gate events.
    const byCustomer = await call(
      base,
      "POST",
      "/parking-lots/gate-1/gate-events",
      {
        eventId: "cam-x",
        gateId: "north",
        direction: "entry",
        plate: "34나2222",
        confidence: 1,
        at: new Date().toISOString(),
      },
      await customerHeaders(data.dir, "G1"),
    );
    expect(byCustomer.status).toBe(403);
  });

  it("gate reviews (issue 49): a doubtful read is listed for the lot's attendants, resolved open checks the car in and leaves the list; a second resolve is 409; another lot's attendant 404; a gate credential 403", async () => {
    await call(base, "POST", "/parking-lots", { parkingLotId: "gate-rv", name: "Reviewed", capacity: 3 });
    const booked = await call(base, "POST", "/parking-lots/gate-rv/reservations", {
      customerId: "GRV1",
      carNumber: "56 다 7890",
      amount: 4000,
    });
    expect(booked.status).toBe(201);
    const reservationId = booked.body.reservationId;
    const attendant = (lots: string[]) =>
      mintToken(data.dir, { sub: `att-${lots.join("-")}`, role: "attendant", lots }).then(bearer);
    const ours = await attendant(["gate-rv"]);
    const theirs = await attendant(["gate-1"]);
    const read = await call(base, "POST", "/parking-lots/gate-rv/gate-events", {
      eventId: "rev-1",
      gateId: "south",
      direction: "entry",
      plate: "56다7890",
      confidence: 0.3,
      at: "2026-11-26T09:00:00+09:00",
    });
    expect(read.body).toMatchObject({ decision: "review", reason: "LowConfidence" });
    // Listed for the lot's attendant, with what the read said (no plate: the read holds none), and
    // each candidate booking by plate and customer, as the attendant tells them apart (issue 69).
    const listed = await eventually(async () => {
      const page = await call<{ items: unknown[] }>(
        base,
        "GET",
        "/parking-lots/gate-rv/gate-reviews",
        undefined,
        ours,
      );
      return page.body.items?.length ? page.body : undefined;
    });
    expect(listed).toEqual({
      items: [
        {
          eventId: "rev-1",
          parkingLotId: "gate-rv",
          gateId: "south",
          direction: "entry",
          confidence: 0.3,
          at: "2026-11-26T00:00:00.000Z",
          reason: "LowConfidence",
          candidates: [reservationId],
          candidateBookings: [{ reservationId, carNumber: "56 다 7890", customerId: "GRV1" }],
        },
      ],
      nextCursor: null,
    });
    const resolve = (body: unknown, headers = ours) =>
      call(base, "POST", "/parking-lots/gate-rv/gate-reviews/rev-1/resolve", body, headers);
    // Another lot's attendant neither sees nor settles it (not among their lots); a gate credential is refused.
    expect((await call(base, "GET", "/parking-lots/gate-rv/gate-reviews", undefined, theirs)).status).toBe(
      404,
    );
    expect((await resolve({ action: "deny" }, theirs)).status).toBe(404);
    const gateCredential = bearer(
      await mintToken(data.dir, { sub: "gate-rv-cam", role: "gate", lots: ["gate-rv"] }),
    );
    expect((await resolve({ action: "deny" }, gateCredential)).status).toBe(403);
    // Open without naming the booking: 400, nothing appended.
    const bare = await resolve({ action: "open" });
    expect(bare.status).toBe(400);
    expect(bare.body.errors).toEqual([expect.objectContaining({ field: "body.reservationId" })]);
    // A booking the lot refuses to check in: its problem, nothing appended.
    const stranger = await resolve({ action: "open", reservationId: "no-such-booking" });
    expect(stranger.status).toBe(404);
    expect(stranger.body.type).toBe("/problems/reservation-not-found");
    const readStream = () => collect(service.services.eventStore!.readStream(gateStream("gate-rv", "rev-1")));
    expect(await readStream()).toHaveLength(1);
    // The attendant matches the car to the booking: checked in through the lot's own check-in.
    const opened = await resolve({ action: "open", reservationId });
    expect(opened.status).toBe(200);
    expect(opened.body).toEqual({
      eventId: "rev-1",
      action: "open",
      reservationId,
      position: expect.stringMatching(/^[0-9]+$/),
    });
    expect((await lotEvents("gate-rv")).at(-1)?.type).toBe("ReservationCheckedIn");
    expect((await readStream()).map((e) => e.type)).toEqual(["GateEventRecorded", "GateReviewResolved"]);
    // A second resolve (another attendant, a double click): 409, nothing appended.
    const second = await resolve({ action: "deny" });
    expect(second.status).toBe(409);
    expect(second.body.type).toBe("/problems/gate-review-resolved");
    expect(await readStream()).toHaveLength(2);
    // The list drops it.
    await eventually(async () => {
      const page = await call<{ items: unknown[] }>(
        base,
        "GET",
        "/parking-lots/gate-rv/gate-reviews",
        undefined,
        ours,
      );
      return page.body.items?.length === 0 ? true : undefined;
    });
    // Two attendants settling one read at once: one 200, one 409, one resolution recorded.
    const racing = await call(base, "POST", "/parking-lots/gate-rv/gate-events", {
      eventId: "rev-2",
      gateId: "south",
      direction: "exit",
      plate: "56다7890",
      confidence: 0.2,
      at: new Date().toISOString(),
    });
    expect(racing.body).toMatchObject({ decision: "review" });
    const both = await Promise.all(
      [ours, await attendant(["gate-rv", "gate-1"])].map((headers) =>
        call(base, "POST", "/parking-lots/gate-rv/gate-reviews/rev-2/resolve", { action: "deny" }, headers),
      ),
    );
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(
      (await collect(service.services.eventStore!.readStream(gateStream("gate-rv", "rev-2")))).map(
        (e) => e.type,
      ),
    ).toEqual(["GateEventRecorded", "GateReviewResolved"]);
    // A read the gate decided has no review to resolve.
    const decided = await call(base, "POST", "/parking-lots/gate-rv/gate-reviews/no-such-read/resolve", {
      action: "deny",
    });
    expect(decided.status).toBe(404);
    expect(decided.body.type).toBe("/problems/gate-review-not-found");
  });

  it("gate reviews, drive-up (issue 49): an attendant admits a doubtful entry with no booking under the plate read on the camera image; its exit read prices the stay", async () => {
    await call(base, "POST", "/parking-lots", {
      parkingLotId: "gate-rd",
      name: "Reviewed drive-ups",
      capacity: 2,
      hourlyRate: 3000,
    });
    const ours = bearer(await mintToken(data.dir, { sub: "att-rd", role: "attendant", lots: ["gate-rd"] }));
    const gate = (eventId: string, over: Record<string, unknown> = {}) =>
      call(base, "POST", "/parking-lots/gate-rd/gate-events", {
        eventId,
        gateId: "west",
        direction: "entry",
        plate: "78 마 9012",
        confidence: 0.3,
        at: new Date().toISOString(),
        ...over,
      });
    expect((await gate("rd-in")).body).toMatchObject({ decision: "review", reason: "LowConfidence" });
    const resolve = (eventId: string, body: unknown, headers = ours) =>
      call(base, "POST", `/parking-lots/gate-rd/gate-reviews/${eventId}/resolve`, body, headers);
    const lotBefore = await lotEvents("gate-rd");
    // No plate, or one that is not a plate: 400 naming it; a gate credential 403; nothing appended.
    const bare = await resolve("rd-in", { action: "drive-up" });
    expect(bare.status).toBe(400);
    expect(bare.body.errors).toEqual([expect.objectContaining({ field: "body.plate" })]);
    const junk = await resolve("rd-in", { action: "drive-up", plate: "<>" });
    expect(junk.status).toBe(400);
    expect(JSON.stringify(junk.body.errors)).toContain("plate");
    const gateCredential = bearer(
      await mintToken(data.dir, { sub: "gate-rd-cam", role: "gate", lots: ["gate-rd"] }),
    );
    expect((await resolve("rd-in", { action: "drive-up", plate: "78마9012" }, gateCredential)).status).toBe(
      403,
    );
    expect(await lotEvents("gate-rd")).toHaveLength(lotBefore.length);
    // The attendant admits it: the lot's own drive-up, the answer naming the stay.
    const admitted = await resolve("rd-in", { action: "drive-up", plate: "78마9012" });
    expect(admitted.status).toBe(200);
    expect(admitted.body).toEqual({
      eventId: "rd-in",
      action: "drive-up",
      reservationId: expect.any(String),
      position: expect.stringMatching(/^[0-9]+$/),
    });
    const reservationId = admitted.body.reservationId as string;
    const booked = await lotEvents("gate-rd");
    expect(booked.slice(lotBefore.length).map((e) => e.type)).toEqual([
      "DriveUpAdmitted",
      "ParkingReserved",
      "ReservationCheckedIn",
    ]);
    const resolution = await collect(service.services.eventStore!.readStream(gateStream("gate-rd", "rd-in")));
    expect(resolution.map((e) => e.type)).toEqual(["GateEventRecorded", "GateReviewResolved"]);
    // Event ids carry random hex digits: the plate's digits are looked for in the data only.
    expect(JSON.stringify(resolution.map((e) => e.data))).not.toContain("9012");
    expect(JSON.stringify(resolution)).not.toContain("마");
    // Again (a double click): 409, no second stay.
    const again = await resolve("rd-in", { action: "drive-up", plate: "78마9012" });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe("/problems/gate-review-resolved");
    expect(await lotEvents("gate-rd")).toHaveLength(booked.length);
    // The car leaves: the camera reads it surely at the exit, and the stay is checked out with its price.
    const exit = await gate("rd-out", { direction: "exit", plate: "78-마-9012", confidence: 0.95 });
    expect(exit.body).toMatchObject({ decision: "open", reason: "CheckedOut", reservationId });
    expect(exit.body.price).toBeGreaterThanOrEqual(1);
    // An exit's review is never a drive-up: 400 naming the action.
    expect((await gate("rd-out-2", { direction: "exit" })).body).toMatchObject({ decision: "review" });
    const wrong = await resolve("rd-out-2", { action: "drive-up", plate: "78마9012" });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([expect.objectContaining({ field: "body.action" })]);
  });

  it("drive-ups (issue 49): a car without a booking comes in on an open-ended stay at the lot's rate and leaves with its price; a full lot denies", async () => {
    await call(base, "POST", "/parking-lots", {
      parkingLotId: "gate-d",
      name: "Drive-ups",
      capacity: 1,
      hourlyRate: 3000,
    });
    const gate = (eventId: string, over: Record<string, unknown> = {}) =>
      call(base, "POST", "/parking-lots/gate-d/gate-events", {
        eventId,
        gateId: "north",
        direction: "entry",
        plate: "11가1111",
        confidence: 0.95,
        at: new Date().toISOString(),
        ...over,
      });
    const entry = await gate("du-in");
    expect(entry.body).toMatchObject({ decision: "open", reason: "DriveUp" });
    const reservationId = entry.body.reservationId as string;
    // One append: why (the gate), the stay booked at the rate, and its check-in.
    expect((await lotEvents("gate-d")).slice(1).map((e) => e.type)).toEqual([
      "DriveUpAdmitted",
      "ParkingReserved",
      "ReservationCheckedIn",
    ]);
    // A repeat of the read books nothing more.
    expect((await gate("du-in")).body).toMatchObject({ reservationId, replayed: true });
    expect(await lotEvents("gate-d")).toHaveLength(4);
    // The one spot is taken: another car without a booking is denied, appending nothing.
    expect((await gate("du-full", { plate: "22나2222" })).body).toMatchObject({
      decision: "deny",
      reason: "LotFull",
    });
    expect(await lotEvents("gate-d")).toHaveLength(4);
    // The lot's audit trail names the gate that let it in.
    const history = await call<{ items: { type: string; summary: string }[] }>(
      base,
      "GET",
      "/parking-lots/gate-d/history",
    );
    expect(history.body.items.find((i) => i.type === "DriveUpAdmitted")?.summary).toContain("gate north");
    // At the exit: checked out at the open-ended price (at least the smallest unit for minutes).
    const exit = await gate("du-out", { direction: "exit", plate: "11 가 1111" });
    expect(exit.body).toMatchObject({ decision: "open", reason: "CheckedOut", reservationId });
    expect(exit.body.price).toBeGreaterThanOrEqual(1);
    const out = (await lotEvents("gate-d")).at(-1);
    expect(out?.type).toBe("ReservationCheckedOut");
    expect((out?.data as { amount?: number } | undefined)?.amount).toBe(exit.body.price);
    // The lot's operator raises its confidence threshold: a read the default would act on goes to review.
    const raised = await call(base, "PUT", "/parking-lots/gate-d/gate-confidence", {
      gateConfidenceThreshold: 0.99,
    });
    expect(raised.body).toMatchObject({ parkingLotId: "gate-d", gateConfidenceThreshold: 0.99 });
    expect((await lotEvents("gate-d")).at(-1)?.type).toBe("ParkingLotGateConfidenceChanged");
    expect((await gate("du-doubt", { plate: "33다3333" })).body).toMatchObject({
      decision: "review",
      reason: "LowConfidence",
    });
    // Out of 0..1: 400 naming the field.
    const wrong = await call(base, "PUT", "/parking-lots/gate-d/gate-confidence", {
      gateConfidenceThreshold: 1.5,
    });
    expect(wrong.status).toBe(400);
  });

  it("the gate role (issue 49): a gate credential sends its lot's reads and nothing else; another lot is 404, an empty grant reaches none", async () => {
    await call(base, "POST", "/parking-lots", { parkingLotId: "gate-r", name: "Gate role", capacity: 2 });
    await call(base, "POST", "/parking-lots", { parkingLotId: "gate-s", name: "Other lot", capacity: 2 });
    const booked = await call(base, "POST", "/parking-lots/gate-r/reservations", {
      customerId: "GR1",
      carNumber: "12가3456",
      amount: 3000,
    });
    const reservationId = booked.body.reservationId;
    const gateOf = async (lots: readonly string[]) =>
      bearer(await mintToken(data.dir, { sub: "gate-north", role: "gate", lots }));
    const gate = await gateOf(["gate-r"]);
    const read = (lot: string, eventId: string, headers = gate) =>
      call(
        base,
        "POST",
        `/parking-lots/${lot}/gate-events`,
        {
          eventId,
          gateId: "north",
          direction: "entry",
          plate: "12가3456",
          confidence: 0.95,
          at: new Date().toISOString(),
        },
        headers,
      );
    // Its own lot's read: decided and acted on.
    expect((await read("gate-r", "gr-1")).body).toMatchObject({ decision: "open", reservationId });
    // Another lot: 404 as for any staff outside their grant; an empty grant reaches no lot.
    expect((await read("gate-s", "gr-2")).status).toBe(404);
    expect((await read("gate-r", "gr-3", await gateOf([]))).status).toBe(404);
    // Nothing else, even on its own lot: no check-out by id, no listing, no history, no booking.
    for (const [method, path, body] of [
      ["POST", `/parking-lots/gate-r/reservations/${reservationId}/check-out`, undefined],
      ["GET", "/reservations?parkingLotId=gate-r", undefined],
      ["GET", `/reservations/${reservationId}`, undefined],
      ["GET", "/parking-lots/gate-r/history", undefined],
      ["POST", "/parking-lots/gate-r/reservations", { customerId: "GR2", carNumber: "1", amount: 1 }],
    ] as const) {
      const answer = await call(base, method, path, body, gate);
      expect(answer.status, `${method} ${path}`).toBe(403);
    }
    expect((await lotEvents("gate-r")).at(-1)?.type).toBe("ReservationCheckedIn");
  });

  it("keeps the caller's X-Correlation-Id in event metadata, with the command as causation", async () => {
    await call(
      base,
      "POST",
      "/parking-lots",
      { parkingLotId: "corr", name: "Correlated", capacity: 2 },
      { "X-Correlation-Id": "req-abc-123" },
    );
    const reserved = await call(
      base,
      "POST",
      "/parking-lots/corr/reservations",
      { customerId: "C1", carNumber: "34나5678", amount: 1 },
      { "X-Correlation-Id": "req-abc-124" },
    );
    expect(reserved.headers.get("x-correlation-id")).toBe("req-abc-124");
    const [registered, reservedEvent] = await lotEvents("corr");
    expect(registered?.metadata).toMatchObject({
      correlationId: "req-abc-123",
      schemaVersion: CURRENT_SCHEMA_VERSION,
    });
    expect(reservedEvent?.metadata).toMatchObject({ correlationId: "req-abc-124" });
    expect(reservedEvent?.metadata.causationId).toEqual(expect.any(String));
    // The plate is sealed under the customer's key in the log (issue 36), opened as the service reads it.
    expect(JSON.stringify(reservedEvent?.data)).not.toContain("34나5678");
    expect(openPersonalFields(reservedEvent?.data)).toMatchObject({ carNumber: "34나5678" });
    // Who acted is recorded, never the token.
    expect(registered?.metadata.actor).toEqual({ sub: "ops-test", role: "operator" });
    expect(JSON.stringify(reservedEvent?.metadata)).not.toMatch(/eyJ/);
  });

  describe("bad input gets a 4xx problem and appends nothing", () => {
    const cases: Array<[string, string, string, unknown, Record<string, string>?]> = [
      ["malformed JSON", "POST", "/parking-lots", '{"name": "x", "capacity": '],
      ["a JSON array", "POST", "/parking-lots", "[1,2]"],
      ["JSON null", "POST", "/parking-lots", "null"],
      ["wrong type", "POST", "/parking-lots", { name: "x", capacity: "5" }],
      ["negative capacity", "POST", "/parking-lots", { name: "x", capacity: -1 }],
      ["fractional capacity", "POST", "/parking-lots", { name: "x", capacity: 1.5 }],
      ["unknown field", "POST", "/parking-lots", { name: "x", capacity: 5, owner: "me" }],
      ["blank name", "POST", "/parking-lots", { name: "   ", capacity: 5 }],
      ["operator-looking key", "POST", "/parking-lots", { name: "x", capacity: 5, $gt: "" }],
      ["operator as id", "POST", "/parking-lots", { parkingLotId: { $gt: "" }, name: "x", capacity: 5 }],
      ["id with $", "POST", "/parking-lots", { parkingLotId: "$where", name: "x", capacity: 5 }],
      ["__proto__ key", "POST", "/parking-lots", '{"name":"x","capacity":5,"__proto__":{"admin":true}}'],
      ["oversize body", "POST", "/parking-lots", { name: "x".repeat(20_000), capacity: 5 }],
      ["missing body", "POST", "/parking-lots/rush/reservations", undefined],
      [
        "text body",
        "POST",
        "/parking-lots/rush/reservations",
        "customerId=C1",
        { "content-type": "text/plain" },
      ],
      [
        "bad plate",
        "POST",
        "/parking-lots/rush/reservations",
        { customerId: "C1", carNumber: "<script>", amount: 1 },
      ],
      [
        "operator in customer",
        "POST",
        "/parking-lots/rush/reservations",
        { customerId: { $ne: null }, carNumber: "12가3456", amount: 1 },
      ],
      [
        "huge amount",
        "POST",
        "/parking-lots/rush/reservations",
        { customerId: "C1", carNumber: "12가3456", amount: 1e12 },
      ],
      [
        "bad lot id in path",
        "POST",
        "/parking-lots/%24gt/reservations",
        { customerId: "C1", carNumber: "12가3456", amount: 1 },
      ],
      [
        "bad idempotency key",
        "POST",
        "/parking-lots/rush/reservations",
        { customerId: "C1", carNumber: "12가3456", amount: 1 },
        { "Idempotency-Key": "has space" },
      ],
      ["unknown cancel field", "DELETE", "/parking-lots/rush/reservations/x", { reason: "r", extra: 1 }],
      ["unknown route", "POST", "/nothing-here", { a: 1 }],
      [
        "UTF-16 body",
        "POST",
        "/parking-lots",
        Buffer.from(JSON.stringify({ name: "x", capacity: 5 }), "utf16le"),
        { "content-type": "application/json; charset=utf-16le" },
      ],
      [
        "invalid UTF-8 bytes",
        "POST",
        "/parking-lots",
        Buffer.concat([
          Buffer.from('{"name":"'),
          Buffer.from([0xc3, 0x28, 0xff]),
          Buffer.from('","capacity":5}'),
        ]),
      ],
    ];
    it.each(cases)("%s", async (_name, method, path, body, headers) => {
      const before = await lastLotEvent();
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(await operatorHeaders(data.dir)), ...headers },
        ...(body === undefined
          ? {}
          : { body: typeof body === "string" || body instanceof Buffer ? body : JSON.stringify(body) }),
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      const problem = (await response.json()) as { type: string; title: string; status: number };
      expect(problem.type).toMatch(/^\/problems\//);
      expect(problem.status).toBe(response.status);
      expect(await lastLotEvent()).toEqual(before);
    });

    it("takes UTF-8 only: another charset is a 415, invalid bytes a 400, never replacement characters", async () => {
      const auth = await operatorHeaders(data.dir);
      const send = (body: Buffer, contentType: string) =>
        fetch(`${base}/parking-lots`, {
          method: "POST",
          headers: { "content-type": contentType, ...auth },
          body,
        });
      const utf16 = await send(
        Buffer.from(JSON.stringify({ name: "x", capacity: 5 }), "utf16le"),
        "application/json; charset=utf-16le",
      );
      expect(utf16.status).toBe(415);
      const invalid = await send(
        Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xff]), Buffer.from('","capacity":5}')]),
        "application/json",
      );
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as { detail: string }).detail).toMatch(/UTF-8/);
      const declared = await send(
        Buffer.from(JSON.stringify({ parkingLotId: "utf8-ok", name: "강남", capacity: 5 })),
        "application/json; charset=UTF-8",
      );
      expect(declared.status).toBe(201);
    });

    it("names the wrong fields", async () => {
      const response = await call<{ errors: Array<{ field: string }> }>(base, "POST", "/parking-lots", {
        name: 5,
        capacity: -2,
        color: "red",
      });
      expect(response.status).toBe(400);
      expect(response.body.errors.map((e) => e.field).sort()).toEqual([
        "body.capacity",
        "body.color",
        "body.name",
      ]);
    });

    it("no generated body ever produces a 5xx or a stray event", async () => {
      const operator = await operatorHeaders(data.dir);
      const before = await lastLotEvent();
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.json(), fc.object(), fc.string()), async (body) => {
          const response = await fetch(`${base}/parking-lots/rush/reservations`, {
            method: "POST",
            headers: { "content-type": "application/json", ...operator },
            body: typeof body === "string" ? body : JSON.stringify(body),
          });
          await response.arrayBuffer();
          // The lot is full, so even a valid body must not append.
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
        }),
        { numRuns: 150 },
      );
      expect(await lastLotEvent()).toEqual(before);
    });
  });
});

describe("idempotency survives a restart", () => {
  it("a retry after the service restarted on the same data returns the same reservation", async () => {
    const data = tempDataDir();
    try {
      const body = { customerId: "CUST9", carNumber: "10더8612", amount: 5000 };
      let service = await startTestService(data.dir);
      await call(service.url, "POST", "/parking-lots", {
        parkingLotId: "restart",
        name: "Restart",
        capacity: 2,
      });
      const first = await call(service.url, "POST", "/parking-lots/restart/reservations", body, {
        "Idempotency-Key": "k-1",
      });
      await service.shutdown("restart");
      service = await startTestService(data.dir);
      const retry = await call(service.url, "POST", "/parking-lots/restart/reservations", body, {
        "Idempotency-Key": "k-1",
      });
      expect(retry.status).toBe(200);
      expect(retry.body.reservationId).toBe(first.body.reservationId);
      const events = await collect(service.services.eventStore!.readStream("parkingLot-restart"));
      expect(events.filter((e) => e.type === "ParkingReserved")).toHaveLength(1);
      await service.shutdown("done");
    } finally {
      data.remove();
    }
  });
});
