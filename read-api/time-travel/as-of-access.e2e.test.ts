import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../../app/server.js";
import { ANONYMOUS, customerHeaders, operatorHeaders } from "../../test-support/auth.js";
import { call, startTestService, tempDataDir } from "../../test-support/service.js";

/**
 * The same access rules as of a moment as now (issue 34): for every view that answers `asOf` (a
 * lot, a reservation, the control center, a lot's timeline and reservations) and every role, the fields a caller gets as of a moment
 * are among those it gets live. A lot whose closure has begun with a car inside: live, only an
 * operator sees the closure's `reason` and `carsInLot` (other customers' reservation ids); as of a
 * moment after it began, likewise.
 */
const DAY = new Date(Date.now() + 2 * 24 * 3_600_000).toISOString().slice(0, 10);
const at = (hhmm: string) => `${DAY}T${hhmm}:00.000Z`;
const LOT = "cheongdam-7";
const OPS = "ops-kim";
const ROLES = ["anonymous", "CUST1", "CUST2", OPS] as const;

/** Every field path of a JSON value (array items as `[]`), the `asOf` stamp left out. */
function fieldPaths(value: unknown, prefix = "", out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) fieldPaths(item, `${prefix}[]`, out);
  else if (value !== null && typeof value === "object")
    for (const [key, item] of Object.entries(value)) {
      if (prefix === "" && key === "asOf") continue;
      const path = prefix ? `${prefix}.${key}` : key;
      out.add(path);
      fieldPaths(item, path, out);
    }
  return out;
}

describe("asOf answers each role with the fields the live view gives it, no more", () => {
  const data = tempDataDir("parking-as-of-access-");
  let now = Date.parse(at("13:50"));
  let service: RunningService;
  let reservationId = "";

  const headersOf = async (who: string) =>
    who === "anonymous"
      ? ANONYMOUS
      : who === OPS
        ? operatorHeaders(data.dir, OPS)
        : customerHeaders(data.dir, who);
  const get = async (who: string, path: string) =>
    call<Record<string, unknown>>(service.url, "GET", path, undefined, await headersOf(who));

  beforeAll(async () => {
    service = await startTestService(data.dir, {}, { clock: () => new Date(now) });
    const ops = await headersOf(OPS);
    const lot = { parkingLotId: LOT, name: "청담 주차장", capacity: 3 };
    expect((await call(service.url, "POST", "/parking-lots", lot, ops)).status).toBe(201);
    now = Date.parse(at("14:00"));
    const booked = await call<{ reservationId: string }>(
      service.url,
      "POST",
      `/parking-lots/${LOT}/reservations`,
      { carNumber: "10더8612", amount: 5000 },
      await headersOf("CUST1"),
    );
    expect(booked.status).toBe(201);
    reservationId = booked.body.reservationId;
    const path = `/parking-lots/${LOT}/reservations/${reservationId}/check-in`;
    expect((await call(service.url, "POST", path, undefined, await headersOf("CUST1"))).status).toBe(200);
    now = Date.parse(at("14:05"));
    const closure = { from: at("14:05"), until: at("16:00"), reason: "water main repair (operators' note)" };
    const closed = await call<{ position: string }>(
      service.url,
      "POST",
      `/parking-lots/${LOT}/closures`,
      closure,
      ops,
    );
    expect(closed.status).toBe(201);
    // Live views caught up with the closure before comparing.
    expect((await get(OPS, `/parking-lots/${LOT}?minPosition=${closed.body.position}`)).status).toBe(200);
    now = Date.parse(at("14:10"));
  }, 60_000);
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  const asOf = `asOf=${encodeURIComponent(at("14:06"))}`;
  const views = () => [
    { name: "the lot", path: `/parking-lots/${LOT}` },
    { name: "a reservation", path: `/reservations/${reservationId}` },
    { name: "the control center", path: "/control-center" },
    { name: "the lot's timeline", path: `/parking-lots/${LOT}/timeline` },
    { name: "the lot's reservations", path: `/reservations?parkingLotId=${LOT}` },
  ];

  it("for every view and role: as of a moment, only fields the live view gives that role", async () => {
    let compared = 0;
    for (const view of views())
      for (const who of ROLES) {
        const live = await get(who, view.path);
        const then = await get(who, `${view.path}${view.path.includes("?") ? "&" : "?"}${asOf}`);
        // Who may ask is the table's business (an anonymous caller gets no asOf): only answers compare.
        if (live.status !== 200 || then.status !== 200) continue;
        const extra = [...fieldPaths(then.body)].filter((path) => !fieldPaths(live.body).has(path));
        expect(extra, `${view.name} as ${who}`).toEqual([]);
        compared++;
      }
    // lot × (CUST1, CUST2, operator), reservation × (CUST1, operator), control center × operator,
    // timeline × (CUST1, CUST2, operator), the lot's reservations × (CUST1, CUST2, operator).
    expect(compared).toBe(12);
  });

  it("the timeline as of a moment is for signed-in callers (as the lot is); live, for anyone", async () => {
    expect((await get("anonymous", `/parking-lots/${LOT}/timeline`)).status).toBe(200);
    expect((await get("anonymous", `/parking-lots/${LOT}/timeline?${asOf}`)).status).toBe(401);
  });

  it("a customer never sees a closure's reason or the cars in the lot, live or as of; an operator does live (as of a moment, the lot's state keeps neither: issue 68)", async () => {
    for (const who of ["CUST1", "CUST2", OPS]) {
      for (const path of [`/parking-lots/${LOT}`, `/parking-lots/${LOT}?${asOf}`]) {
        const lot = await get(who, path);
        expect(lot.status, `${path} as ${who}`).toBe(200);
        const closures = lot.body.closures as Record<string, unknown>[];
        expect(closures, `${path} as ${who}`).toHaveLength(1);
        if (who === OPS && !path.includes("asOf")) {
          expect(closures[0], path).toMatchObject({ reason: expect.any(String), carsInLot: [reservationId] });
        } else {
          expect(closures[0], `${path} as ${who}`).not.toHaveProperty("reason");
          expect(closures[0], `${path} as ${who}`).not.toHaveProperty("carsInLot");
        }
      }
    }
  });
});
