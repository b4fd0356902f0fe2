import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { customerHeaders } from "../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";

/**
 * `GET /reservations?carNumber=` finds a reservation by any part of its plate, spaces and hyphens
 * ignored, Latin letters in either case, Korean plates as they are; a customer only among their
 * own; pages walk the matches newest first; a one-character fragment is refused.
 */
describe("finding reservations by a part of the plate", () => {
  const data = tempDataDir("parking-plates-");
  let service: RunningService;
  let position = "0";
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    service = await startTestService(data.dir);
    const lot = { parkingLotId: "plates-1", name: "번호판 주차장", capacity: 50 };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
    const plates: [string, string][] = [
      ["CUST1", "10더8612"],
      ["CUST1", "AB-123-CD"],
      ["CUST2", "12가 3456"],
      ["CUST2", "86다1212"],
      ["CUST1", "서울12가3456"],
    ];
    for (const [customer, carNumber] of plates) {
      const booked = await call<{ reservationId: string; position: string }>(
        service.url,
        "POST",
        "/parking-lots/plates-1/reservations",
        { carNumber, amount: 1000 },
        await customerHeaders(data.dir, customer),
      );
      expect(booked.status).toBe(201);
      ids[carNumber] = booked.body.reservationId;
      position = booked.body.position;
    }
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  const search = async (fragment: string, extra = "", headers?: Record<string, string>) =>
    call<{ items: { carNumber: string }[]; nextCursor: string | null; errors?: unknown[] }>(
      service.url,
      "GET",
      `/reservations?carNumber=${encodeURIComponent(fragment)}&minPosition=${position}${extra}`,
      undefined,
      headers,
    );
  const plates = async (fragment: string, extra = "", headers?: Record<string, string>) => {
    const answer = await search(fragment, extra, headers);
    expect(answer.status).toBe(200);
    return answer.body.items.map((item) => item.carNumber);
  };

  it("matches a fragment anywhere in the plate, newest first", async () => {
    expect(await plates("8612")).toEqual(["10더8612"]);
    expect(await plates("더86")).toEqual(["10더8612"]);
    expect(await plates("10더8612")).toEqual(["10더8612"]);
    expect(await plates("3456")).toEqual(["서울12가3456", "12가 3456"]);
    // "12" is in every plate, twice in 86다1212: listed once.
    expect(await plates("12")).toEqual(["서울12가3456", "86다1212", "12가 3456", "AB-123-CD", "10더8612"]);
  });

  it("ignores spaces and hyphens on both sides, and the case of Latin letters", async () => {
    expect(await plates("ab123")).toEqual(["AB-123-CD"]);
    expect(await plates("B-12")).toEqual(["AB-123-CD"]);
    expect(await plates("2가 34")).toEqual(["서울12가3456", "12가 3456"]);
    expect(await plates("2가3")).toEqual(["서울12가3456", "12가 3456"]);
    expect(await plates("99")).toEqual([]);
  });

  it("pages through the matches with the cursor", async () => {
    const first = await search("12", "&limit=3");
    expect(first.body.items.map((i) => i.carNumber)).toEqual(["서울12가3456", "86다1212", "12가 3456"]);
    expect(first.body.nextCursor).not.toBeNull();
    const second = await search("12", `&limit=3&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((i) => i.carNumber)).toEqual(["AB-123-CD", "10더8612"]);
    expect(second.body.nextCursor).toBeNull();
  });

  it("combines with the lot, the status and a customer's own reservations", async () => {
    expect(await plates("12", "&parkingLotId=plates-1&status=RESERVED")).toHaveLength(5);
    expect(await plates("12", "&parkingLotId=elsewhere")).toEqual([]);
    expect(await plates("12", "&status=CANCELED")).toEqual([]);
    const cust2 = await customerHeaders(data.dir, "CUST2");
    expect(await plates("12", "", cust2)).toEqual(["86다1212", "12가 3456"]);
  });

  it("refuses a fragment of one character, naming the field", async () => {
    const answer = await search("8");
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body.errors)).toContain("carNumber");
    // Said in words, as the page shows it.
    expect(answer.body.errors).toContainEqual({
      field: "query.carNumber",
      message: "is too short: it needs at least 2 characters",
      code: "minLength",
      limit: 2,
    });
  });
});
