import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { ANONYMOUS, bearer, customerHeaders, mintToken } from "../test-support/auth.js";
import { expectCursorAnswer } from "../test-support/cursor-answers.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";

/**
 * The other paged lists of the served document (every operation with a `cursor`: a customer's
 * coupons, a lot's gate reviews, the control center's lots, an endpoint's webhook attempts), walked
 * over HTTP while the data changes between pages, at page sizes 1, 2 and the most, by each role
 * allowed (operator, staff scoped to lots, attendant, the customer) and refused to the others and
 * to anonymous callers. Each item that existed unchanged throughout comes exactly once, in the
 * documented order; nothing the caller may not see; the last page says so. The oracle is what this
 * test did (and, for webhooks, what its receiver was sent), never the views. PAGES_RUNS for more.
 */
const RUNS = Number(process.env.PAGES_RUNS ?? 3);
const MAX_LIMIT = 1000;
const LIMITS = [1, 2, MAX_LIMIT] as const;

const LOTS = ["tie-a", "tie-b", "tie-c"];
const SCOPED_LOTS = ["tie-a", "tie-b"];
/** Who may see a lot: `prefixed` holds overlapping grants (an id and a prefix covering it). */
const mayRead = (who: string, lot: string) =>
  who === "operator" ||
  (who === "scoped" && SCOPED_LOTS.includes(lot)) ||
  (who === "prefixed" && (lot === "tie-a" || lot.startsWith("tie-b")));
const CUSTOMERS = ["CUST-A", "CUST-B", "CUST-C"];

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface Booked {
  readonly id: string;
  readonly lot: string;
  readonly customer: string;
  /** Its order in the log: the coupon policy issues coupons in that order. */
  readonly n: number;
}
interface Read {
  readonly eventId: string;
  readonly lot: string;
  readonly n: number;
  resolved: boolean;
  touched: boolean;
}

/** A walk's oracle: no item came twice. */
const expectNoneTwice = (ids: readonly string[], what: string) =>
  expect(new Set(ids).size, `no ${what} twice: ${ids}`).toBe(ids.length);

/** A walk's oracle: every item there and unchanged throughout the walk came. */
const expectNoneSkipped = (ids: readonly string[], expected: readonly string[], limit: number) =>
  expect(
    expected.filter((id) => !ids.includes(id)),
    `skipped with limit ${limit}`,
  ).toEqual([]);

describe("more paged lists, walked over HTTP while the data changes", () => {
  const data = tempDataDir("parking-lists-walked-");
  let service: RunningService;
  let base: string;
  let receiver: Server;
  /** What the receiver was sent: one entry per attempt, its webhook-id. */
  const received: string[] = [];
  const booked: Booked[] = [];
  const reads: Read[] = [];
  const lots: string[] = [];
  /** Each lot's facts on its stream, in log order, as this test caused them: type and reservation. */
  const facts: Record<string, string[]> = {};
  const cancel = async (target: Booked) => {
    const answer = await call(base, "DELETE", `/parking-lots/${target.lot}/reservations/${target.id}`);
    if (answer.status === 200 && (answer.body as { position?: string }).position !== undefined)
      facts[target.lot]?.push(`ReservationCanceled ${target.id}`);
  };
  /** Each lot registered, at its position in the log. */
  const registered: { id: string; position: number }[] = [];
  const headers: Record<string, Record<string, string>> = { operator: {}, anonymous: ANONYMOUS };
  let endpointId = "";
  let counter = 0;

  const get = <T>(path: string, who: string) => call<T>(base, "GET", path, undefined, headers[who]);

  const book = async (lot: string, customer: string) => {
    const answer = await call<{ reservationId: string }>(
      base,
      "POST",
      `/parking-lots/${lot}/reservations`,
      { carNumber: "12가3456", amount: 5000 },
      headers[customer],
    );
    if (answer.status === 409) return;
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    booked.push({ id: answer.body.reservationId, lot, customer, n: counter++ });
    facts[lot]?.push(`ParkingReserved ${answer.body.reservationId}`);
  };
  const register = async (id: string, capacity = 1) => {
    const made = await call<{ position: string }>(base, "POST", "/parking-lots", {
      parkingLotId: id,
      name: id,
      capacity,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    lots.push(id);
    facts[id] = ["ParkingLotRegistered -"];
    registered.push({ id, position: Number(made.body.position) });
  };
  const gateRead = async (lot: string) => {
    const eventId = `cam-${counter}`;
    const answer = await call<{ decision: string }>(base, "POST", `/parking-lots/${lot}/gate-events`, {
      eventId,
      gateId: "north",
      direction: "entry",
      plate: "77다7777",
      confidence: 0.3,
      at: new Date().toISOString(),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.decision).toBe("review");
    reads.push({ eventId, lot, n: counter++, resolved: false, touched: true });
  };
  const resolve = async (pick: number) => {
    const open = reads.filter((r) => !r.resolved);
    const read = open[pick % Math.max(1, open.length)];
    if (!read) return;
    read.touched = true;
    const answer = await call(
      base,
      "POST",
      `/parking-lots/${read.lot}/gate-reviews/${read.eventId}/resolve`,
      { action: "deny" },
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    read.resolved = true;
  };

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        received.push(String(req.headers["webhook-id"]));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done));
    service = await startTestService(data.dir, { WEBHOOK_ALLOW_PRIVATE: "true" });
    base = service.url;
    for (const customer of CUSTOMERS) headers[customer] = await customerHeaders(data.dir, customer);
    headers.scoped = bearer(
      await mintToken(data.dir, { sub: "staff-ab", role: "operator", lots: SCOPED_LOTS }),
    );
    headers.prefixed = bearer(
      await mintToken(data.dir, { sub: "staff-pb", role: "operator", lots: ["tie-b*", "tie-a", "tie-b"] }),
    );
    headers["attendant-c"] = bearer(
      await mintToken(data.dir, { sub: "att-c", role: "attendant", lots: ["tie-c"] }),
    );
    headers.attendant = bearer(
      await mintToken(data.dir, { sub: "att-a", role: "attendant", lots: ["tie-a"] }),
    );
    const hook = await call<{ id: string }>(base, "POST", "/webhook-endpoints", {
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
      eventTypes: ["reservation.reserved"],
    });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    endpointId = hook.body.id;
    for (const lot of LOTS) await register(lot, 200);
    for (let i = 0; i < 12; i++) await book(LOTS[i % 3] as string, CUSTOMERS[i % 3] as string);
    for (let i = 0; i < 8; i++) await gateRead(LOTS[i % 2 === 0 ? 0 : i % 3] as string);
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    await new Promise((done) => receiver?.close(done));
    data.remove();
  });

  /** Walks every page; `between(page)` runs after each but the last. */
  const walk = async <T>(
    path: string,
    who: string,
    limit: number,
    between: (page: number) => Promise<void>,
  ) => {
    const seen: T[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const answer: { status: number; body: Page<T> & Record<string, unknown> } = await get(
        `${path}${sep}limit=${limit}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
        who,
      );
      expect(answer.status, `${who} ${path}: ${JSON.stringify(answer.body)}`).toBe(200);
      const items = (answer.body.items ?? answer.body.parkingLots) as T[];
      expect(items.length).toBeLessThanOrEqual(limit);
      seen.push(...items);
      cursor = (answer.body.nextCursor ?? answer.body.parkingLotsNextCursor ?? null) as string | null;
      if (cursor !== null) expect(items.length, "a page before the last is full").toBe(limit);
      if (cursor !== null) await between(pages);
      expect(++pages, "the walk ends").toBeLessThanOrEqual(200);
    } while (cursor !== null);
    return seen;
  };

  it("GET /customers/{id}/coupons: every coupon there at the start once, newest first, as each role sees it", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("operator", "scoped", "prefixed", ...CUSTOMERS),
        fc.constantFrom(...CUSTOMERS),
        fc.constantFrom(...LIMITS),
        fc.array(
          fc.array(fc.record({ lot: fc.nat(2), customer: fc.nat(2), cancel: fc.boolean() }), {
            maxLength: 2,
          }),
          {
            maxLength: 5,
          },
        ),
        async (who, customer, limit, changes) => {
          // Every booking so far has its coupon (the policy is asynchronous): those are the ones there.
          const before = [...booked];
          await eventually(async () => {
            const all = await get<Page<{ reservationId: string }>>(
              `/customers/${customer}/coupons?limit=1000`,
              "operator",
            );
            const want = before.filter((b) => b.customer === customer).length;
            return all.body.items.length >= want ? true : undefined;
          });
          const path = `/customers/${customer}/coupons`;
          if (CUSTOMERS.includes(who) && who !== customer) {
            expect((await get(path, who)).status).toBe(403);
            return;
          }
          const seen = await walk<{ reservationId: string; parkingLotId: string; customerId: string }>(
            path,
            who,
            limit,
            async (page) => {
              for (const c of changes[page] ?? []) {
                if (c.cancel) {
                  const target = booked[c.lot * 5 + c.customer];
                  if (target) await cancel(target);
                } else await book(LOTS[c.lot] as string, CUSTOMERS[c.customer] as string);
              }
            },
          );
          const ids = seen.map((s) => s.reservationId);
          expectNoneTwice(ids, "coupon");
          const byId = new Map(booked.map((b) => [b.id, b]));
          const order = seen.map((s) => byId.get(s.reservationId)?.n ?? -1);
          expect(order, "newest first").toEqual([...order].sort((a, b) => b - a));
          for (const s of seen) {
            expect(s.customerId).toBe(customer);
            expect(
              mayRead(who, s.parkingLotId) || who === customer,
              `${who} may read ${s.parkingLotId}`,
            ).toBe(true);
          }
          // A coupon is never taken off the list (revoked, it says so): each there at the start comes.
          const expected = before
            .filter((b) => b.customer === customer && (who === customer || mayRead(who, b.lot)))
            .map((b) => b.id);
          expectNoneSkipped(ids, expected, limit);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  it("a gate read and its resolve answer their position: the reviews list at least that position shows each at once", async () => {
    const eventId = `cam-ryw-${counter++}`;
    const read = await call<{ position?: string }>(base, "POST", "/parking-lots/tie-c/gate-events", {
      eventId,
      gateId: "north",
      direction: "entry",
      plate: "77다7777",
      confidence: 0.3,
      at: new Date().toISOString(),
    });
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body.position, "the read's position").toMatch(/^[0-9]+$/);
    const listed = await get<Page<{ eventId: string }>>(
      `/parking-lots/tie-c/gate-reviews?limit=1&minPosition=${read.body.position}`,
      "operator",
    );
    expect(listed.body.items.map((i) => i.eventId)).toEqual([eventId]);
    const again = await call<{ position?: string }>(base, "POST", "/parking-lots/tie-c/gate-events", {
      eventId,
      gateId: "north",
      direction: "entry",
      plate: "77다7777",
      confidence: 0.3,
      at: new Date().toISOString(),
    });
    expect(again.body, "a repeat answers as the first").toEqual({ ...read.body, replayed: true });
    const resolved = await call<{ position?: string }>(
      base,
      "POST",
      `/parking-lots/tie-c/gate-reviews/${eventId}/resolve`,
      { action: "deny" },
    );
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    expect(resolved.body.position, "the resolve's position").toMatch(/^[0-9]+$/);
    const after = await get<Page<{ eventId: string }>>(
      `/parking-lots/tie-c/gate-reviews?limit=1000&minPosition=${resolved.body.position}`,
      "attendant-c",
    );
    expect(after.status).toBe(200);
    expect(after.body.items.map((i) => i.eventId)).not.toContain(eventId);
    reads.push({ eventId, lot: "tie-c", n: counter++, resolved: true, touched: true });
  });

  it("GET /parking-lots/{id}/gate-reviews: every open review once, newest first, for the lot's staff only", async () => {
    expect((await get("/parking-lots/tie-a/gate-reviews", "anonymous")).status).toBe(401);
    expect((await get("/parking-lots/tie-a/gate-reviews", "CUST-A")).status).toBe(403);
    expect((await get("/parking-lots/tie-c/gate-reviews", "scoped")).status).toBe(404);
    expect((await get("/parking-lots/tie-b/gate-reviews", "attendant")).status).toBe(404);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ["operator", "tie-a"],
          ["operator", "tie-c"],
          ["scoped", "tie-a"],
          ["prefixed", "tie-b"],
          ["attendant", "tie-a"],
        ),
        fc.constantFrom(...LIMITS),
        fc.array(fc.array(fc.oneof(fc.constant(-1), fc.nat(20)), { maxLength: 2 }), { maxLength: 5 }),
        async ([who, lot], limit, changes) => {
          for (const r of reads) r.touched = false;
          const open = (l: string) => reads.filter((r) => r.lot === l && !r.resolved).map((r) => r.eventId);
          await eventually(async () => {
            const all = await get<Page<{ eventId: string }>>(
              `/parking-lots/${lot}/gate-reviews?limit=1000`,
              "operator",
            );
            return all.body.items.map((i) => i.eventId).join() ===
              open(lot as string)
                .reverse()
                .join()
              ? true
              : undefined;
          });
          const seen = await walk<{ eventId: string; parkingLotId: string }>(
            `/parking-lots/${lot}/gate-reviews`,
            who as string,
            limit,
            async (page) => {
              for (const c of changes[page] ?? []) {
                if (c < 0) await gateRead(LOTS[counter % 3] as string);
                else await resolve(c);
              }
            },
          );
          const ids = seen.map((s) => s.eventId);
          expectNoneTwice(ids, "review");
          const byId = new Map(reads.map((r) => [r.eventId, r]));
          const order = seen.map((s) => byId.get(s.eventId)?.n ?? -1);
          expect(order, "newest first").toEqual([...order].sort((a, b) => b - a));
          for (const s of seen) expect(s.parkingLotId).toBe(lot);
          const expected = reads
            .filter((r) => r.lot === lot && !r.touched && !r.resolved)
            .map((r) => r.eventId);
          expectNoneSkipped(ids, expected, limit);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("GET /control-center: every lot there at the start once, by id, only the caller's", async () => {
    expect((await get("/control-center", "anonymous")).status).toBe(401);
    expect((await get("/control-center", "CUST-A")).status).toBe(403);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("operator", "scoped", "prefixed"),
        fc.constantFrom(...LIMITS),
        fc.option(fc.nat(), { nil: undefined }),
        fc.array(
          fc.array(fc.constantFrom("tie-0", "tie-a0", "tie-b0", "tie-bz", "tie-d", "tie-"), { maxLength: 2 }),
          {
            maxLength: 4,
          },
        ),
        async (who, limit, pastPick, changes) => {
          // Now, or as of the registration of one of the lots so far (the lots up to it).
          const past = pastPick === undefined ? undefined : registered[pastPick % registered.length];
          const before = (
            past ? registered.filter((r) => r.position <= past.position).map((r) => r.id) : [...lots]
          ).sort();
          const path = past ? `/control-center?asOf=${past.position}` : "/control-center";
          const seen = await walk<{ parkingLotId: string }>(path, who, limit, async (page) => {
            for (const prefix of changes[page] ?? []) {
              const id = `${prefix}${counter++}`;
              await register(id);
            }
          });
          const ids = seen.map((s) => s.parkingLotId);
          expectNoneTwice(ids, "lot");
          expect(ids, "by id").toEqual([...ids].sort());
          for (const id of ids) expect(mayRead(who, id), `${who} may read ${id}`).toBe(true);
          const expected = before.filter((id) => mayRead(who, id));
          expectNoneSkipped(ids, expected, limit);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("GET /webhook-endpoints/{id}/deliveries: every attempt made before the walk once, newest first", async () => {
    const path = `/webhook-endpoints/${endpointId}/deliveries`;
    expect((await get(path, "anonymous")).status).toBe(401);
    expect((await get(path, "CUST-A")).status).toBe(403);
    expect((await get(path, "scoped")).status).toBe(403);
    expect((await get(path, "attendant")).status).toBe(403);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...LIMITS),
        fc.array(fc.nat(2), { maxLength: 4 }),
        async (limit, changes) => {
          // Every booking's message was sent and its attempt recorded: those are there at the start.
          await eventually(async () => {
            const all = await get<Page<{ webhookId: string }>>(`${path}?limit=1000`, "operator");
            return received.length >= booked.length && all.body.items.length === received.length
              ? true
              : undefined;
          }, 20_000);
          const before = [...received];
          const seen = await walk<{ webhookId: string; at: string; attempt: number }>(
            path,
            "operator",
            limit,
            async (page) => {
              const c = changes[page];
              if (c !== undefined) await book(LOTS[c] as string, CUSTOMERS[c] as string);
            },
          );
          const keys = seen.map((s) => `${s.webhookId}#${s.attempt}`);
          expectNoneTwice(keys, "attempt");
          const times = seen.map((s) => Date.parse(s.at));
          expect(times, "newest first").toEqual([...times].sort((a, b) => b - a));
          const ids = seen.map((s) => s.webhookId);
          expectNoneSkipped(ids, before, limit);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("GET /parking-lots/{id}/history: every fact once, oldest first, the new ones last; only the lot's staff", async () => {
    expect((await get("/parking-lots/tie-c/history", "scoped")).status).toBe(404);
    expect((await get("/parking-lots/tie-c/history", "prefixed")).status).toBe(404);
    expect((await get("/parking-lots/tie-a/history", "attendant")).status).toBe(403);
    expect((await get("/parking-lots/tie-a/history", "CUST-A")).status).toBe(403);
    expect((await get("/parking-lots/tie-a/history", "anonymous")).status).toBe(401);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ["operator", "tie-a"],
          ["operator", "tie-c"],
          ["scoped", "tie-b"],
          ["prefixed", "tie-a"],
        ),
        fc.constantFrom(...LIMITS),
        fc.array(fc.array(fc.record({ customer: fc.nat(2), cancel: fc.nat(30) }), { maxLength: 2 }), {
          maxLength: 5,
        }),
        async ([who, lot], limit, changes) => {
          const seen = await walk<{ type: string; reservationId?: string; position: string }>(
            `/parking-lots/${lot}/history`,
            who as string,
            limit,
            async (page) => {
              for (const c of changes[page] ?? []) {
                const mine = booked.filter((b) => b.lot === lot);
                const target = mine[c.cancel % Math.max(1, mine.length)];
                if (c.cancel % 2 === 0 && target) await cancel(target);
                else await book(lot as string, CUSTOMERS[c.customer] as string);
              }
            },
          );
          const positions = seen.map((s) => Number(s.position));
          expect(positions, "oldest first").toEqual([...positions].sort((a, b) => a - b));
          expect(
            seen.map((s) => `${s.type} ${s.reservationId ?? "-"}`),
            `${lot}'s facts, limit ${limit}`,
          ).toEqual(facts[lot]);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("grants that cover no lot (empty, unknown, a prefix of none, an attendant with none): empty pages, 404s, 403s", async () => {
    const shapes = {
      empty: { sub: "g-empty", role: "operator", lots: [] },
      unknown: { sub: "g-unknown", role: "operator", lots: ["zz-nope"] },
      prefix: { sub: "g-prefix", role: "operator", lots: ["zz-*"] },
      junk: { sub: "g-junk", role: "operator", lots: ["tie a", "ti*e", ""] },
      none: { sub: "g-none", role: "attendant" },
    } as const;
    for (const [name, claims] of Object.entries(shapes)) {
      headers[name] = bearer(await mintToken(data.dir, claims));
      const coupons = await get<Page<unknown>>("/customers/CUST-A/coupons?limit=1", name);
      if (claims.role === "attendant") expect(coupons.status, name).toBe(403);
      else expect([coupons.status, coupons.body], name).toEqual([200, { items: [], nextCursor: null }]);
      const center = await get<{ parkingLots: unknown[]; parkingLotsNextCursor: unknown }>(
        "/control-center?limit=1",
        name,
      );
      if (claims.role === "attendant") expect(center.status, name).toBe(403);
      else {
        expect(center.status, name).toBe(200);
        expect([center.body.parkingLots, center.body.parkingLotsNextCursor], name).toEqual([[], null]);
      }
      for (const lot of LOTS)
        expect((await get(`/parking-lots/${lot}/gate-reviews?limit=1`, name)).status).toBe(404);
      expect((await get(`/webhook-endpoints/${endpointId}/deliveries`, name)).status, name).toBe(403);
    }
    for (const path of ["/customers/CUST-A/coupons", `/webhook-endpoints/${endpointId}/deliveries`])
      expect((await get(path, "anonymous")).status, path).toBe(401);
    expect((await get("/customers/CUST-A/coupons", "attendant")).status).toBe(403);
  });

  it("limits and hostile cursors: a 400 problem naming the field, never a 500", async () => {
    const paths = [
      `/webhook-endpoints/${endpointId}/deliveries`,
      "/customers/CUST-A/coupons",
      "/parking-lots/tie-a/gate-reviews",
      "/control-center",
    ];
    for (const path of paths) {
      for (const limit of ["0", String(MAX_LIMIT + 1), "-1", "1.5", "x", ""]) {
        const answer = await get<{ errors?: { field: string }[] }>(`${path}?limit=${limit}`, "operator");
        expect(answer.status, `${path} limit=${limit}`).toBe(400);
        expect(answer.headers.get("content-type")).toContain("application/problem+json");
        expect(answer.body.errors?.map((e) => e.field)).toContain("query.limit");
      }
    }
    const cursors = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        `${endpointId}:`,
        `${endpointId}:~`,
        `${endpointId}:999999999999999:ffffffff`,
        `${endpointId}x:1`,
        "whk_other:1",
        "-1",
        "0",
        "9999999999999999",
        "a".repeat(300),
        "tie-a",
        "\u0000",
      ),
      fc.string({ maxLength: 20 }).map((s) => `${endpointId}:${s}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        cursors,
        fc.constantFrom("operator", "scoped"),
        async (path, cursor, who) => {
          const answer = await get<{ errors?: { field: string }[] }>(
            `${path}?cursor=${encodeURIComponent(cursor)}`,
            who,
          );
          expectCursorAnswer(answer, `${path} ${JSON.stringify(cursor)}`, who === "operator");
        },
      ),
      { numRuns: RUNS * 25 },
    );
  });
});
