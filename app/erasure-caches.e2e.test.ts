import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customerHeaders } from "../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * Erasure reaches what a process holds in memory (issue 36): every read that was answered, and so
 * cached, before an erasure (the lot and a reservation as of a moment, the lot's timeline, the
 * command side's lot state) answers `erased` right after it, never the plaintext it had cached.
 */
describe("an erasure reaches the in-memory caches", () => {
  const data = tempDataDir("parking-erase-caches-");
  let service: RunningService;
  const lot = "erase-cache-1";
  const customer = "ecache-cust-1";
  const plate = "77다7777";
  let reservationId = "";
  let bookedAt = "";

  beforeAll(async () => {
    service = await startTestService(data.dir);
    expect(
      (await call(service.url, "POST", "/parking-lots", { parkingLotId: lot, name: "캐시", capacity: 5 }))
        .status,
    ).toBe(201);
    const booked = await call<{ reservationId: string; position: string }>(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations`,
      { carNumber: plate, amount: 5000 },
      await customerHeaders(data.dir, customer),
    );
    expect(booked.status).toBe(201);
    reservationId = booked.body.reservationId;
    bookedAt = booked.body.position;
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  it("answers erased from every cached read right after the erasure", async () => {
    // A moment of the log that holds the booking (a position is a moment too).
    const moment = bookedAt;
    const reads = [
      `/parking-lots/${lot}?asOf=${moment}`,
      `/reservations/${reservationId}?asOf=${moment}`,
      `/parking-lots/${lot}/timeline?asOf=${moment}`,
      `/parking-lots/${lot}/timeline`,
      `/reservations?parkingLotId=${lot}&asOf=${moment}`,
      `/control-center?asOf=${moment}`,
    ];
    // A later fact than the moment asked about makes its answers final (kept in memory), and the
    // command side caches the lot's state.
    expect(
      (await call(service.url, "POST", `/parking-lots/${lot}/reservations/${reservationId}/check-in`, {}))
        .status,
    ).toBe(200);
    // Past the time-travel checkpoint interval (250 events): folds keep a checkpoint of the lot's
    // state, reservations and plates in it, and fold from it after.
    for (let i = 0; i < 250; i++)
      expect(
        (await call(service.url, "PUT", `/parking-lots/${lot}/capacity`, { capacity: 5 + (i % 2) })).status,
      ).toBe(200);
    const late = `/reservations?parkingLotId=${lot}&asOf=${encodeURIComponent(new Date().toISOString())}`;
    reads.push(late);
    // Warm every cache: the plaintext is there before the erasure.
    await eventually(async () => {
      const before = await call(service.url, "GET", `/reservations/${reservationId}`);
      return before.status === 200 ? true : undefined;
    });
    for (const path of reads) {
      const before = await call(service.url, "GET", path);
      expect(before.status, `${path}: ${JSON.stringify(before.body)}`).toBe(200);
    }
    expect(JSON.stringify((await call(service.url, "GET", reads[1] as string)).body)).toContain(plate);
    expect(JSON.stringify((await call(service.url, "GET", late)).body)).toContain(plate);

    const erased = await call(service.url, "POST", `/customers/${customer}/erasure`, { reason: "caches" });
    expect(erased.status).toBe(200);
    const position = String(erased.body.position);
    const answers: string[] = [];
    for (const path of reads) {
      const sep = path.includes("?") ? "&" : "?";
      const after = await call(service.url, "GET", `${path}${sep}minPosition=${position}`);
      expect(after.status, path).toBe(200);
      answers.push(JSON.stringify(after.body));
    }
    // The command side answers with the reservation from its cached state.
    const out = await call(
      service.url,
      "POST",
      `/parking-lots/${lot}/reservations/${reservationId}/check-out`,
      {},
    );
    expect(out.status).toBe(200);
    answers.push(JSON.stringify(out.body));
    for (const answer of answers) {
      expect(answer).not.toContain(plate);
      expect(answer).not.toContain(customer);
    }
    expect(answers[1]).toContain("erased");
  }, 60_000);
});
