import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANONYMOUS, customerHeaders } from "../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * The abuse limits over real HTTP, with quotas small enough to reach: a flood from one address
 * and a flood from one customer both get 429 problems with Retry-After and the IETF RateLimit
 * header fields, nothing a refused request asked for is appended, and probes are never limited.
 */
describe("rate limits", () => {
  const data = tempDataDir("parking-limits-");
  let service: RunningService;
  const LOT = { parkingLotId: "gangnam-1", name: "강남 1주차장", capacity: 100, maxActivePerCustomer: 100 };

  beforeAll(async () => {
    service = await startTestService(data.dir, {
      RATE_LIMIT_PER_ADDRESS: "40",
      RATE_LIMIT_PER_PRINCIPAL: "5",
      RATE_LIMIT_WINDOW_MS: "60000",
    });
    expect((await call(service.url, "POST", "/parking-lots", LOT)).status).toBe(201);
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  /** Events requests append (the coupon policy's reactions left out). */
  const requestedEvents = async () => {
    let count = 0;
    for await (const event of service.services.eventStore?.readAll() ?? [])
      if (!event.type.startsWith("Coupon")) count++;
    return count;
  };

  it("a customer's flood gets 429 with Retry-After and RateLimit headers, and appends nothing past the quota", async () => {
    const headers = await customerHeaders(data.dir, "CUST-FLOOD");
    // The operator registered the lot: one request of this caller's quota is left unused by it.
    const answers = [];
    for (let i = 0; i < 8; i++) {
      answers.push(
        await call(
          service.url,
          "POST",
          `/parking-lots/${LOT.parkingLotId}/reservations`,
          { carNumber: `12가${1000 + i}`, amount: 1000 },
          headers,
        ),
      );
    }
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    const refused = answers[5];
    expect(refused?.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(refused?.body).toMatchObject({ type: "/problems/rate-limited", status: 429 });
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Both quotas are reported (RFC draft-ietf-httpapi-ratelimit-headers-08): the address's and the caller's.
    expect(refused?.headers.get("ratelimit-policy")).toMatch(/"per-principal"; q=5; w=60/);
    expect(refused?.headers.get("ratelimit-policy")).toMatch(/"per-address"; q=40; w=60/);
    expect(refused?.headers.get("ratelimit")).toMatch(/"per-principal"; r=0; t=\d+/);
    // Each accepted reservation appended its event; the refused ones nothing.
    const reserved = (await service.services.eventStore?.readAll()) ?? [];
    let reservations = 0;
    for await (const event of reserved) if (event.type === "ParkingReserved") reservations++;
    expect(reservations).toBe(5);
  });

  it("another customer still has their own quota", async () => {
    const other = await customerHeaders(data.dir, "CUST-CALM");
    const answer = await call(
      service.url,
      "POST",
      `/parking-lots/${LOT.parkingLotId}/reservations`,
      { carNumber: "34나5678", amount: 1000 },
      other,
    );
    expect(answer.status).toBe(201);
  });

  it("an anonymous flood from one address gets 429 too; the probes stay open", async () => {
    const before = await requestedEvents();
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) {
      statuses.push((await call(service.url, "GET", "/parking-lots", undefined, ANONYMOUS)).status);
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const limited = await call(service.url, "GET", "/parking-lots", undefined, ANONYMOUS);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("ratelimit-policy")).toMatch(/"per-address"; q=40; w=60/);
    expect(limited.headers.get("ratelimit")).toMatch(/"per-address"; r=0; t=\d+/);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    expect(await requestedEvents()).toBe(before);
  });

  it("skips only the exact probe paths: a look-alike path is limited like any other", async () => {
    // The address is past its quota (the test above): every look-alike is refused, not answered.
    for (const path of [
      "/healthzX",
      "/readyz-anything",
      "/metricsX",
      "/healthz/",
      "/assets/sub/dir.js",
      "/assets/no-extension",
    ]) {
      const answer = await call(service.url, "GET", path, undefined, ANONYMOUS);
      expect(answer.status, path).toBe(429);
      expect(answer.body).toMatchObject({ type: "/problems/rate-limited" });
    }
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});
