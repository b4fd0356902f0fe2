import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { bearer, customerHeaders, mintToken } from "../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import { MAX_SCOPED_LOTS } from "./access.js";

/**
 * Staff whose grant covers more lots than a listing reads together (MAX_SCOPED_LOTS): their
 * reservations and a customer's coupons were listed over the first 200 lots only, a booking at the
 * 201st missing from an answer that said it was the last page. Now such a listing is a 400 naming
 * `parkingLotId`, and one lot at a time answers whole.
 */
let service: RunningService;
let data: { dir: string; remove: () => void };
let broad: Record<string, string>;
let admin: Record<string, string>;
const LOTS = Array.from({ length: MAX_SCOPED_LOTS + 1 }, (_, i) => `many-${String(i).padStart(3, "0")}`);
const LAST = LOTS.at(-1) as string;

beforeAll(async () => {
  data = tempDataDir("broad-grants-");
  service = await startTestService(data.dir);
  admin = bearer(await mintToken(data.dir, { sub: "ops-admin", role: "admin" }));
  broad = bearer(await mintToken(data.dir, { sub: "staff-many", role: "operator", lots: ["many-*"] }));
  for (const lot of LOTS) {
    const made = await call(
      service.url,
      "POST",
      "/parking-lots",
      { parkingLotId: lot, name: lot, capacity: 2 },
      admin,
    );
    expect(made.status).toBe(201);
  }
  const booked = await call(
    service.url,
    "POST",
    `/parking-lots/${LAST}/reservations`,
    { carNumber: "12가3456", amount: 1000 },
    await customerHeaders(data.dir, "C-many"),
  );
  expect(booked.status).toBe(201);
}, 120_000);
afterAll(async () => {
  await service?.shutdown("test done");
  data?.remove();
});

describe(`a grant over more than ${MAX_SCOPED_LOTS} lots`, () => {
  it.each(["/reservations", "/customers/C-many/coupons"])(
    "%s: 400 naming parkingLotId instead of a page missing the lots past the first 200",
    async (path) => {
      const answer = await call<{ errors: { field: string; message: string }[] }>(
        service.url,
        "GET",
        path,
        undefined,
        broad,
      );
      expect(answer.status).toBe(400);
      expect(answer.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(answer.body.errors).toEqual([
        expect.objectContaining({
          field: "query.parkingLotId",
          message: expect.stringMatching(/more than 200 lots/),
        }),
      ]);
    },
  );

  it("one of its lots at a time: the booking at the 201st lot and its coupon are listed", async () => {
    const own = async <T>(path: string) =>
      (
        await call<{ items: T[] }>(
          service.url,
          "GET",
          `${path}?parkingLotId=${LAST}&minPosition=0`,
          undefined,
          broad,
        )
      ).body.items;
    expect(await own<{ parkingLotId: string }>("/reservations")).toEqual([
      expect.objectContaining({ parkingLotId: LAST }),
    ]);
    // The coupon policy issues it shortly after the booking.
    for (let i = 0; i < 100 && (await own("/customers/C-many/coupons")).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await own<{ parkingLotId: string }>("/customers/C-many/coupons")).toEqual([
      expect.objectContaining({ parkingLotId: LAST }),
    ]);
  });

  it("a lot outside the grant is still a 404, an admin still lists every lot's", async () => {
    const other = await call(
      service.url,
      "GET",
      "/customers/C-many/coupons?parkingLotId=elsewhere",
      undefined,
      broad,
    );
    expect(other.status).toBe(404);
    const all = await call<{ items: unknown[] }>(service.url, "GET", "/reservations", undefined, admin);
    expect(all.status).toBe(200);
    expect(all.body.items).toHaveLength(1);
  });
});
