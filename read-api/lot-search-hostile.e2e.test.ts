import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";

/**
 * Find a spot over HTTP with hostile parameters: every one a 400 application/problem+json naming the
 * field, never a 500; and a search whose lots sit on the antimeridian and at a pole.
 */

const ANON = { authorization: "" };
const day = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString().slice(0, 10);
const FROM = encodeURIComponent(`${day}T10:00:00.000Z`);
const UNTIL = encodeURIComponent(`${day}T12:00:00.000Z`);
const q = (params: Record<string, string>) => {
  const all: Record<string, string> = {
    near: "0,179.9999",
    radiusMeters: "50000",
    from: FROM,
    until: UNTIL,
    ...params,
  };
  return `/parking-lots?${Object.entries(all)
    .filter(([, v]) => v !== "\u0000omit")
    .map(([k, v]) => `${k}=${v}`)
    .join("&")}`;
};
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

describe("find a spot: hostile parameters", () => {
  let env: { service: RunningService; remove: () => void };
  let base: string;
  let position = "0";

  beforeAll(async () => {
    const data = tempDataDir("parking-geo-hunt-");
    const service = await startTestService(data.dir, { READ_YOUR_WRITES_TIMEOUT_MS: "2000" });
    env = { service, remove: data.remove };
    base = service.url;
    const lots: [string, number, number][] = [
      ["east", 0, 179.9999],
      ["west", 0, -179.9999],
      ["on-180", 0, 180],
      ["on-minus-180", 0, -180],
      ["pole-a", 90, 0],
      ["pole-b", 90, 77],
      ["null-island", 0, 0],
    ];
    for (const [id, latitude, longitude] of lots) {
      const answer = await call<{ position: string }>(base, "POST", "/parking-lots", {
        parkingLotId: id,
        name: id,
        capacity: 2,
        hourlyRate: 1000,
        location: { latitude, longitude },
        timeZone: "UTC",
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      position = answer.body.position;
    }
  });
  afterAll(async () => {
    await env.service.shutdown("test done");
    env.remove();
  });

  it("finds the lots on both sides of the antimeridian, and at the pole whatever their longitude", async () => {
    const across = await call<{ items: { parkingLotId: string; distanceMeters: number }[] }>(
      base,
      "GET",
      `${q({ near: "0,-180", radiusMeters: "100" })}&minPosition=${position}`,
      undefined,
      ANON,
    );
    expect(across.status, JSON.stringify(across.body)).toBe(200);
    // -180 and 180 are one meridian (on-180 measures a float's hair from it: 1e-9 m).
    expect(across.body.items.map((l) => l.parkingLotId)).toEqual(["on-minus-180", "on-180", "east", "west"]);
    const pole = await call<{ items: { parkingLotId: string }[] }>(
      base,
      "GET",
      q({ near: "89.9999,-123", radiusMeters: "20" }),
      undefined,
      ANON,
    );
    expect(pole.body.items.map((l) => l.parkingLotId)).toEqual(["pole-a", "pole-b"]);
    const zero = await call<{ items: { parkingLotId: string }[] }>(
      base,
      "GET",
      q({ near: "-0,-0", radiusMeters: "1" }),
      undefined,
      ANON,
    );
    expect(zero.status).toBe(200);
    expect(zero.body.items.map((l) => l.parkingLotId)).toEqual(["null-island"]);
  });

  const bad: [Record<string, string>, string][] = [
    [{ near: "NaN,0" }, "query.near"],
    [{ near: "Infinity,0" }, "query.near"],
    [{ near: "1e309,0" }, "query.near"],
    [{ near: "0,0,0" }, "query.near"],
    [{ near: "0,,0" }, "query.near"],
    [{ near: ",0" }, "query.near"],
    [{ near: "0," }, "query.near"],
    [{ near: "91,0" }, "query.near"],
    [{ near: "-90.000000000001,0" }, "query.near"],
    [{ near: "0,180.000001" }, "query.near"],
    [{ near: "0,-181" }, "query.near"],
    [{ near: "999,999" }, "query.near"],
    [{ near: "0x1,0" }, "query.near"],
    [{ near: "0.1234567890123,0" }, "query.near"],
    [{ near: "%20" }, "query.near"],
    [{ near: encodeURIComponent("٠,٠") }, "query.near"],
    [{ near: "" }, "query.near"],
    [{ radiusMeters: "0" }, "query.radiusMeters"],
    [{ radiusMeters: "-1" }, "query.radiusMeters"],
    [{ radiusMeters: "1e309" }, "query.radiusMeters"],
    [{ radiusMeters: "Infinity" }, "query.radiusMeters"],
    [{ radiusMeters: "NaN" }, "query.radiusMeters"],
    [{ radiusMeters: "50001" }, "query.radiusMeters"],
    [{ radiusMeters: "1.5" }, "query.radiusMeters"],
    [{ radiusMeters: "99999999999999999999" }, "query.radiusMeters"],
    [{ radiusMeters: "" }, "query.radiusMeters"],
    [{ radiusMeters: "\u0000omit" }, "query"],
    [{ limit: "0" }, "query.limit"],
    [{ limit: "-1" }, "query.limit"],
    [{ limit: "1001" }, "query.limit"],
    [{ limit: "1e3" }, "query.limit"],
    [{ limit: "99999999999999999999" }, "query.limit"],
    [{ sort: "PRICE" }, "query.sort"],
    [{ sort: "" }, "query.sort"],
    [{ from: "NaN" }, "query.from"],
    [
      { from: encodeURIComponent("2020-01-01T00:00:00Z"), until: encodeURIComponent("2020-01-01T02:00:00Z") },
      "query.from",
    ],
    [{ until: FROM }, "query.until"],
    [{ until: encodeURIComponent(`${day}T10:05:00.000Z`) }, "query.until"],
    [{ cursor: "bm9wZQ" }, "query.cursor"],
    [{ cursor: "lot-1" }, "query.cursor"],
    [{ cursor: b64(null) }, "query.cursor"],
    [{ cursor: b64([]) }, "query.cursor"],
    [{ cursor: b64("x") }, "query.cursor"],
    [{ cursor: b64({ d: "1", i: "x" }) }, "query.cursor"],
    [{ cursor: b64({ d: 1, i: 5 }) }, "query.cursor"],
    [{ cursor: b64({ d: -1, i: "x" }) }, "query.cursor"],
    [{ cursor: b64({ d: 1, i: "x", p: "a" }) }, "query.cursor"],
    [{ cursor: Buffer.from('{"d":1e999,"i":"x"}').toString("base64url") }, "query.cursor"],
    [{ cursor: "a".repeat(201) }, "query.cursor"],
    [{ cursor: "ab%2Fcd" }, "query.cursor"],
    [{ cursor: "" }, "query.cursor"],
  ];
  it.each(bad)("%j → 400 naming %s", async (params, field) => {
    const answer = await call(base, "GET", q(params), undefined, ANON);
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.headers.get("content-type")).toContain("application/problem+json");
    const errors = (answer.body as { errors?: { field: string }[] }).errors ?? [];
    expect(errors.map((e) => e.field).join(" "), JSON.stringify(answer.body)).toContain(field);
  });

  it("the same parameter twice is a 400, not a 500", async () => {
    for (const extra of [
      "&near=1,1",
      "&radiusMeters=5",
      "&limit=5&limit=6",
      "&cursor=a&cursor=b",
      "&sort=price&sort=distance",
    ]) {
      const answer = await call(base, "GET", `${q({})}${extra}`, undefined, ANON);
      expect(answer.status, `${extra}: ${JSON.stringify(answer.body)}`).toBe(400);
      expect(answer.headers.get("content-type")).toContain("application/problem+json");
    }
  });

  it("a cursor from another search is refused, not read as a place in this one", async () => {
    const first = await call<{ items: { parkingLotId: string }[]; nextCursor: string | null }>(
      base,
      "GET",
      q({ near: "0,-180", radiusMeters: "100", limit: "1" }),
      undefined,
      ANON,
    );
    expect(first.body.nextCursor).not.toBeNull();
    // The same cursor on a search by price, and on a search around another point.
    for (const other of [
      q({ near: "0,-180", radiusMeters: "100", limit: "1", sort: "price", cursor: first.body.nextCursor! }),
      q({ near: "0,0", radiusMeters: "100", limit: "1", cursor: first.body.nextCursor! }),
    ]) {
      const answer = await call(base, "GET", other, undefined, ANON);
      expect(answer.status, `${other}: ${JSON.stringify(answer.body)}`).toBe(400);
    }
  });
});
