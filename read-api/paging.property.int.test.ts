import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { bearer, customerHeaders, mintToken } from "../test-support/auth.js";
import { expectCursorAnswer } from "../test-support/cursor-answers.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";

/**
 * Walking every page of a paged list, whatever the page size and whatever is booked, canceled or
 * checked in between two pages: each item that existed unchanged throughout comes exactly once, in
 * the documented order, nothing twice, nothing another principal may not see, and the last page
 * says it is the last. The data is made of ties: the same windows, the same plates, the same
 * prices, lots at the same point. The oracle is a model of what this test did, not the views.
 * Hostile cursors are a 400 naming the cursor, never a 500. PAGES_RUNS=200 for a longer hunt.
 */
const RUNS = Number(process.env.PAGES_RUNS ?? 6);
const MAX_LIMIT = 1000;

type Status = "RESERVED" | "CHECKED_IN" | "CANCELED";
interface Booked {
  readonly id: string;
  readonly lot: string;
  readonly customer: string;
  readonly plate: string;
  readonly position: number;
  status: Status;
  /** Changed (or made) during the walk under way: it may come or not, but never twice. */
  touched: boolean;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface ReservationItem {
  reservationId: string;
  parkingLotId: string;
  customerId: string;
  carNumber: string;
  status: string;
  position: string;
}

const LOTS = ["tie-a", "tie-b", "tie-c", "tie-d"];
const CUSTOMERS = ["CUST-A", "CUST-B", "CUST-C", "CUST-D", "CUST-E", "CUST-F", "CUST-G", "CUST-H"];
const PLATES = ["12가3456", "12가3456", "34나1212", "AB-12-CD"];
/** Every lot at one point (same distances), same rate (same prices): a search is all ties. */
const POINT = { latitude: 37.5, longitude: 127 };
const TOMORROW = new Date(Date.now() + 86_400_000);
TOMORROW.setUTCMinutes(0, 0, 0);
const WINDOW = {
  startsAt: TOMORROW.toISOString(),
  endsAt: new Date(TOMORROW.getTime() + 3_600_000).toISOString(),
};

describe("paged lists, walked while the data changes", () => {
  const data = tempDataDir("parking-pages-");
  let service: RunningService;
  let base: string;
  let position = "0";
  const booked: Booked[] = [];
  const headers: Record<string, Record<string, string>> = {};

  const book = async (lot: string, customer: string, plate: string, windowed: boolean) => {
    const answer = await call<{ reservationId: string; position: string }>(
      base,
      "POST",
      `/parking-lots/${lot}/reservations`,
      { carNumber: plate, ...(windowed ? WINDOW : {}) },
      headers[customer],
    );
    // A customer holds at most a few active bookings a lot: a change that asks for more is none.
    if (answer.status === 409) return undefined;
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    position = answer.body.position;
    const made: Booked = {
      id: answer.body.reservationId,
      lot,
      customer,
      plate,
      position: Number(answer.body.position),
      status: "RESERVED",
      touched: true,
    };
    booked.push(made);
    return made;
  };

  beforeAll(async () => {
    service = await startTestService(data.dir);
    base = service.url;
    for (const customer of CUSTOMERS) headers[customer] = await customerHeaders(data.dir, customer);
    headers.scoped = bearer(
      await mintToken(data.dir, { sub: "staff-ab", role: "operator", lots: ["tie-a", "tie-b"] }),
    );
    headers.operator = {};
    for (const lot of LOTS) {
      const made = await call<{ position: string }>(base, "POST", "/parking-lots", {
        parkingLotId: lot,
        name: lot,
        capacity: 200,
        hourlyRate: 1000,
        location: POINT,
        timeZone: "Asia/Seoul",
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
    }
    for (let i = 0; i < 24; i++) {
      await book(
        LOTS[i % 3] as string,
        CUSTOMERS[i % 8] as string,
        PLATES[i % PLATES.length] as string,
        i % 2 === 0,
      );
    }
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  const get = <T>(path: string, who: string) => call<T>(base, "GET", path, undefined, headers[who]);

  /** One change between two pages, recorded in the model (and marking what it changed). */
  type Change =
    | { kind: "book"; lot: number; customer: number; plate: number }
    | { kind: "cancel" | "checkIn"; pick: number };
  const change = fc.oneof(
    fc.record({
      kind: fc.constant("book" as const),
      lot: fc.nat(LOTS.length - 1),
      customer: fc.nat(CUSTOMERS.length - 1),
      plate: fc.nat(PLATES.length - 1),
    }),
    fc.record({ kind: fc.constantFrom("cancel" as const, "checkIn" as const), pick: fc.nat() }),
  );
  const apply = async (c: Change) => {
    if (c.kind === "book") {
      await book(LOTS[c.lot] as string, CUSTOMERS[c.customer] as string, PLATES[c.plate] as string, false);
      return;
    }
    const live = booked.filter((b) => b.status !== "CANCELED");
    const target = live[c.pick % Math.max(1, live.length)];
    if (!target) return;
    target.touched = true;
    const answer =
      c.kind === "cancel"
        ? await call<{ position?: string }>(
            base,
            "DELETE",
            `/parking-lots/${target.lot}/reservations/${target.id}`,
          )
        : await call<{ position?: string }>(
            base,
            "POST",
            `/parking-lots/${target.lot}/reservations/${target.id}/check-in`,
            {},
          );
    if (answer.status < 300) {
      target.status = c.kind === "cancel" ? "CANCELED" : "CHECKED_IN";
      if (answer.body.position) position = answer.body.position;
    }
  };

  /** Who may see a booking, and which a filter keeps: the model's own reading of the rules. */
  const visible = (who: string, b: Booked) =>
    who === "operator" || (who === "scoped" ? ["tie-a", "tie-b"].includes(b.lot) : b.customer === who);
  const compact = (plate: string) => plate.replace(/[\s-]/g, "").toUpperCase();

  const filters = fc.constantFrom(
    {},
    { parkingLotId: "tie-a" },
    { parkingLotId: "tie-c" },
    { customerId: "CUST-B" },
    { status: "RESERVED" },
    { status: "CHECKED_IN" },
    { status: "CANCELED" },
    { carNumber: "12가" },
    { carNumber: "1212" },
    { carNumber: "12", status: "RESERVED" },
  ) as fc.Arbitrary<Record<string, string>>;

  const keeps = (f: Record<string, string>, b: Booked) =>
    (f.parkingLotId === undefined || b.lot === f.parkingLotId) &&
    (f.customerId === undefined || b.customer === f.customerId) &&
    (f.status === undefined || b.status === f.status) &&
    (f.carNumber === undefined || compact(b.plate).includes(compact(f.carNumber)));

  it("GET /reservations: every unchanged match once, newest first, whoever asks", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("operator", "scoped", ...CUSTOMERS),
        filters,
        fc.constantFrom(1, 2, 3, 7, MAX_LIMIT),
        fc.array(fc.array(change, { maxLength: 2 }), { maxLength: 6 }),
        async (who, filter, limit, changes) => {
          for (const b of booked) b.touched = false;
          // A customer's own list is theirs whatever customerId says; the model reads it so.
          const query = new URLSearchParams({ ...filter, limit: String(limit) });
          const seen: ReservationItem[] = [];
          let cursor: string | null = null;
          let pages = 0;
          do {
            if (cursor !== null) query.set("cursor", cursor);
            query.set("minPosition", position);
            const answer = await get<Page<ReservationItem>>(`/reservations?${query}`, who);
            // A customer may list only their own; staff asking for a lot outside their grant are
            // told it is not among theirs.
            if (CUSTOMERS.includes(who) && filter.customerId && filter.customerId !== who) {
              expect(answer.status).toBe(403);
              return;
            }

            if (
              who === "scoped" &&
              filter.parkingLotId &&
              !["tie-a", "tie-b"].includes(filter.parkingLotId)
            ) {
              expect(answer.status).toBe(404);
              return;
            }
            expect(answer.status, JSON.stringify(answer.body)).toBe(200);
            expect(answer.body.items.length).toBeLessThanOrEqual(limit);
            seen.push(...answer.body.items);
            cursor = answer.body.nextCursor;
            for (const c of changes[pages] ?? []) await apply(c);
            pages++;
            expect(pages, "the walk ends").toBeLessThanOrEqual(booked.length + 20);
          } while (cursor !== null);
          const ids = seen.map((i) => i.reservationId);
          expect(new Set(ids).size, `no item twice: ${ids}`).toBe(ids.length);
          const positions = seen.map((i) => Number(i.position));
          expect(positions, "newest first").toEqual([...positions].sort((a, b) => b - a));
          const byId = new Map(booked.map((b) => [b.id, b]));
          for (const item of seen) {
            const b = byId.get(item.reservationId);
            expect(b, "an item this test made").toBeDefined();
            if (!b) continue;
            expect(visible(who, b), `${who} may see ${b.id}`).toBe(true);
            if (!b.touched) expect(keeps(filter, b), `${b.id} matches ${JSON.stringify(filter)}`).toBe(true);
          }
          const expected = booked
            .filter((b) => !b.touched && visible(who, b) && keeps(filter, b))
            .map((b) => b.id);
          const missing = expected.filter((id) => !ids.includes(id));
          expect(missing, `skipped with limit ${limit}`).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("GET /parking-lots, by id and as a search: every lot once, in order, ties broken by id", async () => {
    const walk = async (path: string, limit: number) => {
      const seen: { parkingLotId: string; distanceMeters?: number; price?: number }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const answer: { status: number; body: Page<{ parkingLotId: string }> } = await get(
          `${path}&limit=${limit}&minPosition=${position}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
          "operator",
        );
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expect(answer.body.items.length).toBeLessThanOrEqual(limit);
        seen.push(...answer.body.items);
        cursor = answer.body.nextCursor;
        expect(++pages).toBeLessThanOrEqual(LOTS.length + 5);
      } while (cursor !== null);
      return seen.map((s) => s.parkingLotId);
    };
    const near = `near=${POINT.latitude},${POINT.longitude}&radiusMeters=1000&from=${encodeURIComponent(WINDOW.startsAt)}&until=${encodeURIComponent(WINDOW.endsAt)}`;
    for (const limit of [1, 2, 3, MAX_LIMIT]) {
      expect(await walk("/parking-lots?", limit)).toEqual(LOTS);
      expect(await walk(`/parking-lots?${near}`, limit)).toEqual(LOTS);
      expect(await walk(`/parking-lots?${near}&sort=price`, limit)).toEqual(LOTS);
    }
  });

  it("a page larger than the most is refused, naming limit", async () => {
    for (const path of [
      "/reservations?",
      "/parking-lots?",
      "/customers/CUST-A/coupons?",
      "/parking-lots/tie-a/gate-reviews?",
      "/parking-lots/tie-a/history?",
      "/control-center?",
    ]) {
      const answer = await get<{ errors?: { field: string }[] }>(`${path}limit=${MAX_LIMIT + 1}`, "operator");
      expect(answer.status, path).toBe(400);
      expect(answer.headers.get("content-type")).toContain("application/problem+json");
      expect(answer.body.errors?.map((e) => e.field)).toContain("query.limit");
    }
  });

  it("hostile cursors are a 400 naming the cursor (or an empty answer), never a 500", async () => {
    const search = `near=${POINT.latitude},${POINT.longitude}&radiusMeters=1000&from=${encodeURIComponent(WINDOW.startsAt)}&until=${encodeURIComponent(WINDOW.endsAt)}`;
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v) ?? "undefined").toString("base64url");
    const paths = [
      "/reservations?",
      "/reservations?carNumber=12&",
      "/reservations?status=CANCELED&",
      "/parking-lots?",
      `/parking-lots?${search}&`,
      `/parking-lots?${search}&sort=price&`,
      "/customers/CUST-A/coupons?",
      "/parking-lots/tie-a/gate-reviews?",
      "/parking-lots/tie-a/history?",
      `/reservations/${booked[0]?.id}/history?`,
      "/control-center?",
    ];
    const hostile = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: "binary", maxLength: 10 }),
      fc.constantFrom(
        "-1",
        "0",
        "9999999999999999",
        "99999999999999999999",
        "1e3",
        "0x10",
        " 1",
        "null",
        "%00",
        "a".repeat(5000),
      ),
      fc.anything().map(b64),
      fc
        .record(
          { p: fc.anything(), d: fc.anything(), i: fc.anything(), q: fc.anything() },
          { requiredKeys: [] },
        )
        .map(b64),
      fc.constantFrom(
        b64({ d: -1, i: "x", q: "x" }),
        b64({ d: 1e308, i: "", q: "" }),
        b64([]),
        b64(null),
        b64("s"),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), hostile, async (path, cursor) => {
        const answer = await get<{ errors?: { field: string }[]; items?: unknown[] }>(
          `${path}cursor=${encodeURIComponent(cursor)}`,
          "operator",
        );
        expectCursorAnswer(answer, `${path} ${JSON.stringify(cursor)}`, true);
      }),
      { numRuns: RUNS * 4 },
    );
  });
});
