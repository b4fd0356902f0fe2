import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../../app/server.js";
import { call, type JsonResponse, startTestService, tempDataDir } from "../../test-support/service.js";

/**
 * A lot's zone as a caller names it (issue 49): every zone the runtime lists is taken, and any other
 * string is a 400 problem+json, never a 500 and never a stored zone the runtime cannot read.
 */
const data = tempDataDir("parking-tz-input-");
let service: RunningService;
beforeAll(async () => {
  service = await startTestService(data.dir);
});
afterAll(async () => {
  await service?.shutdown("test over", { drain: false });
  data.remove();
});

/** Independent of the service: a zone is usable when the runtime formats a date in it. */
const usable = (zone: unknown): boolean => {
  if (typeof zone !== "string") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" }).format(0);
    return true;
  } catch {
    return false;
  }
};

const HOSTILE = [
  "",
  " ",
  "+09:00",
  "-05:00",
  "UTC+9",
  "GMT+9",
  "Z",
  "Asia/Seoul ",
  " Asia/Seoul",
  "Asia/Seoul\u0000",
  "Asia//Seoul",
  "Asia/Seoul/",
  "../../etc/passwd",
  "Asia/Nowhere",
  "Etc/GMT+14",
  "Etc/GMT+05",
  "Factory",
  "localtime",
  "posixrules",
  "__proto__",
  "constructor",
  "toString",
  "Europe/London\n",
  "Ａsia/Seoul",
  "a".repeat(65),
  `${"A".repeat(40)}/${"B".repeat(40)}`,
  "Asia/Seoul\u200b",
  "America/Argentina/Buenos_Aires/X",
];
let seq = 0;
const lotId = () => `tz-${process.pid}-${++seq}`;

describe("a lot's time zone as callers name it", () => {
  it("registers a lot in every zone the runtime lists (and case-folded), shown as stored", async () => {
    const failures: string[] = [];
    for (const zone of [...Intl.supportedValuesOf("timeZone"), "UTC"]) {
      for (const sent of [zone, zone.toLowerCase()]) {
        const id = lotId();
        const r = await call(service.url, "POST", "/parking-lots", {
          parkingLotId: id,
          name: "z",
          capacity: 1,
          timeZone: sent,
        });
        if (r.status !== 201 || !usable(r.body.timeZone))
          failures.push(`${sent}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers any other string with a 400 problem+json, never a 500 or an unusable stored zone (property)", async () => {
    const names = fc.oneof(
      fc.constantFrom(...HOSTILE),
      fc.string({ maxLength: 70 }),
      fc.string({ unit: "grapheme", maxLength: 20 }),
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9_+-]{0,12}(\/[A-Za-z0-9_+-]{1,12}){0,2}$/),
      fc.constantFrom(...Intl.supportedValuesOf("timeZone")).map((z) => z.toUpperCase()),
      fc.oneof(
        fc.integer(),
        fc.constant(null),
        fc.boolean(),
        fc.array(fc.string(), { maxLength: 2 }),
        fc.object({ maxDepth: 1 }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(names, fc.boolean(), async (timeZone, viaPlace) => {
        const id = lotId();
        let r: JsonResponse;
        if (viaPlace) {
          expect(
            (await call(service.url, "POST", "/parking-lots", { parkingLotId: id, name: "z", capacity: 1 }))
              .status,
          ).toBe(201);
          r = await call(service.url, "PUT", `/parking-lots/${id}/place`, {
            location: { latitude: 0, longitude: 0 },
            timeZone,
          });
        } else {
          r = await call(service.url, "POST", "/parking-lots", {
            parkingLotId: id,
            name: "z",
            capacity: 1,
            timeZone,
          });
        }
        expect([200, 201, 400]).toContain(r.status);
        if (r.status === 400) {
          expect(r.headers.get("content-type")).toMatch(/^application\/problem\+json/);
          expect(r.body.status).toBe(400);
          return;
        }
        // Accepted: the runtime reads the zone the service keeps, and the lot shows that zone.
        expect(usable(timeZone)).toBe(true);
        expect(usable(r.body.timeZone)).toBe(true);
        const lot = await call(service.url, "GET", `/parking-lots/${id}?minPosition=${r.body.position}`);
        expect(lot.status).toBe(200);
        expect(lot.body.timeZone).toBe(r.body.timeZone);
      }),
      { numRuns: Number(process.env.TIME_ZONE_INPUT_RUNS ?? 60) },
    );
  });

  it("a lot registered without a zone reads as UTC, its money day included", async () => {
    const id = lotId();
    const r = await call(service.url, "POST", "/parking-lots", { parkingLotId: id, name: "z", capacity: 1 });
    expect(r.body.timeZone).toBe("UTC");
    const lot = await call(service.url, "GET", `/parking-lots/${id}?minPosition=${r.body.position}`);
    expect(lot.body.timeZone).toBe("UTC");
    const money = await call(service.url, "GET", `/parking-lots/${id}/money`);
    expect(money.status).toBe(200);
    expect(money.body.timeZone).toBe("UTC");
    expect(money.body.to).toBe(new Date().toISOString().slice(0, 10));
  });
});
