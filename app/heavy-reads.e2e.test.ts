import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANONYMOUS, customerHeaders, operatorHeaders } from "../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * Expensive reads behind their endpoint's work gate (issue 34): an anonymous burst of timelines
 * beyond its small budget is answered 503 `overloaded` with Retry-After at once (as the document
 * declares), while a signed-in caller's timeline, other reads and a booking are still answered.
 */
describe("expensive reads: a bounded number at once per endpoint, anonymous callers on their own budget", () => {
  const data = tempDataDir("parking-heavy-reads-");
  let service: RunningService;
  const LOT = "heavy-1";

  beforeAll(async () => {
    service = await startTestService(data.dir, {
      HEAVY_READ_ANONYMOUS_CONCURRENCY: "1",
      HEAVY_READ_ANONYMOUS_QUEUE: "0",
      HEAVY_READ_CONCURRENCY: "4",
      HEAVY_READ_QUEUE: "64",
    });
    const lot = { parkingLotId: LOT, name: "Heavy", capacity: 50 };
    expect(
      (await call(service.url, "POST", "/parking-lots", lot, await operatorHeaders(data.dir))).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  it("a burst of anonymous timelines past the budget gets 503 with Retry-After; signed-in callers and cheap reads are answered", async () => {
    const timeline = `/parking-lots/${LOT}/timeline`;
    // Open the connections first (cheap reads): a server takes in one new connection per turn of
    // its event loop, so a burst on new connections would arrive one turn apart.
    await Promise.all(Array.from({ length: 24 }, () => call(service.url, "GET", `/parking-lots/${LOT}`)));
    const burst = await Promise.all(
      Array.from({ length: 24 }, () => call(service.url, "GET", timeline, undefined, ANONYMOUS)),
    );
    const statuses = burst.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses).toContain(200);
    const refused = burst.find((r) => r.status === 503);
    expect(refused, JSON.stringify(statuses)).toBeDefined();
    expect(refused?.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(refused?.body).toMatchObject({ type: "/problems/overloaded", status: 503 });
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);

    // Meanwhile, on their own budget: a signed-in caller's timelines, a cheap read and a booking.
    const customer = await customerHeaders(data.dir, "CUST1");
    const [signedIn, lot, booked] = await Promise.all([
      Promise.all(Array.from({ length: 4 }, () => call(service.url, "GET", timeline, undefined, customer))),
      call(service.url, "GET", `/parking-lots/${LOT}`, undefined, ANONYMOUS),
      call(
        service.url,
        "POST",
        `/parking-lots/${LOT}/reservations`,
        { carNumber: "10더8612", amount: 1000 },
        customer,
      ),
      Promise.all(Array.from({ length: 8 }, () => call(service.url, "GET", timeline, undefined, ANONYMOUS))),
    ]);
    expect(signedIn.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(lot.status).toBe(200);
    expect(booked.status).toBe(201);

    const metrics = await (
      await fetch(`${service.url}/metrics`, { headers: await operatorHeaders(data.dir) })
    ).text();
    expect(metrics).toMatch(
      /parking_heavy_reads_total\{endpoint="getTimeline",caller="anonymous",outcome="full"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /parking_heavy_reads_total\{endpoint="getTimeline",caller="authenticated",outcome="admitted"\} 4/,
    );
  });
});
