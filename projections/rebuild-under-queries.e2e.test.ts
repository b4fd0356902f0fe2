import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { exitOf, killChildren, spawnReplayCli } from "../test-support/children.js";
import { type Seeded, seedLotEvents } from "../test-support/seed.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import { PROCESSOR_NAMES } from "./processors.js";
import { PROJECTIONS } from "./read-models/index.js";
import { activeGenerations } from "./runtime/checkpoints.js";

/**
 * "Read models can be rebuilt from history while queries keep being served": the replay CLI
 * rebuilds every projection in a child process on the DATA_DIR of a running all-in-one service
 * while a client keeps querying it. No answer may be an error or an empty or different view.
 */

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

interface ControlCenter {
  totals: Record<string, number>;
  parkingLots: unknown[];
  projections: { name: string; position: string | null; lag: number | null }[];
}

const NAMES = PROJECTIONS.map((p) => p.name);
const PLAN = {
  lots: 8,
  capacity: 1000,
  reservations: 3_000,
  cancellations: 500,
  stays: 1_000, // checked in and out: each keeps its coupon
  customers: 40,
} as const;

/**
 * An answer without what the clock alone changes: a lot's spots per clock hour (`nextHours`) move
 * on at each hour boundary whatever the rebuild does.
 */
function timeless(body: unknown): unknown {
  if (body === null || typeof body !== "object" || !("nextHours" in body)) return body;
  const { nextHours: _hours, ...rest } = body as Record<string, unknown>;
  return rest;
}

describe("rebuilding every read model while the service answers queries", () => {
  const data = tempDataDir("parking-rebuild-queries-");
  let service: RunningService;
  let base: string;
  let seeded: Seeded;

  beforeAll(async () => {
    service = await startTestService(data.dir);
    base = service.url;
    seeded = await seedLotEvents(service.services.eventStore!, { ...PLAN, lotPrefix: "lot" });
    // Wait for the coupon policy and every projection to be done with the seed.
    await eventually(
      async () => {
        const c = await call<ControlCenter>(base, "GET", "/control-center");
        return c.body.totals.couponsIssued === PLAN.reservations &&
          c.body.totals.couponsRevoked === PLAN.cancellations &&
          c.body.projections.every((p) => p.lag === 0)
          ? true
          : undefined;
      },
      60_000,
      "the seed projected, with its coupons",
    );
  });
  afterAll(async () => {
    await killChildren();
    await service?.shutdown("test done");
    data.remove();
  });

  it("no query fails or changes during `replay rebuild all`; the service then serves and maintains the new generation", async () => {
    const store = service.services.documentStore!;
    const before = await activeGenerations(store);
    const from = NAMES.map((n) => before.get(n) ?? 1);
    expect(new Set(from).size).toBe(1);

    // What every query answers before the rebuild: the rebuilt views must answer exactly the same.
    const lotIds = seeded.lotIds;
    const sample = seeded.reservations.filter((_, i) => i % 97 === 0);
    const customers = ["CUST1", "CUST17", "CUST40"];
    const queries: string[] = [
      ...lotIds.map((id) => `/parking-lots/${id}`),
      "/parking-lots",
      ...lotIds.map((id) => `/reservations?parkingLotId=${id}&limit=20`),
      "/reservations?status=CANCELED&limit=30",
      ...sample.map((r) => `/reservations/${r.reservationId}`),
      ...customers.map((c) => `/customers/${c}/coupons?limit=25`),
    ];
    const expected = new Map<string, unknown>();
    for (const q of queries) {
      const r = await call(base, "GET", q);
      expect(r.status, q).toBe(200);
      expected.set(q, timeless(r.body));
    }
    for (const q of queries.filter((q) => q.includes("?") || q === "/parking-lots"))
      expect((expected.get(q) as Page<unknown>).items.length, q).toBeGreaterThan(0);
    const center = await call<ControlCenter>(base, "GET", "/control-center");
    const totals = center.body.totals;
    expect(totals).toMatchObject({ parkingLots: PLAN.lots, totalReservations: PLAN.reservations });

    // The query loop: round-robin over every query, as fast as it answers, until told to stop.
    const failures: string[] = [];
    const answered = new Map<string, number>();
    const generationsSeen = new Set<number>();
    let stop = false;
    const loop = (async () => {
      const deadline = Date.now() + 120_000;
      for (let i = 0; !stop && Date.now() < deadline; i++) {
        const q =
          i % (queries.length + 1) === queries.length
            ? "/control-center"
            : (queries[i % (queries.length + 1)] as string);
        try {
          const r = await call(base, "GET", q);
          if (r.status !== 200) failures.push(`${q} → ${r.status} ${JSON.stringify(r.body)}`);
          else if (q === "/control-center") {
            const c = r.body as unknown as ControlCenter;
            if (!isDeepStrictEqual(c.totals, totals))
              failures.push(`${q} → totals ${JSON.stringify(c.totals)}`);
            if (c.parkingLots.length !== PLAN.lots) failures.push(`${q} → ${c.parkingLots.length} lots`);
            if (c.projections.some((p) => p.position === null))
              failures.push(`${q} → ${JSON.stringify(c.projections)}`);
          } else if (!isDeepStrictEqual(timeless(r.body), expected.get(q))) {
            failures.push(`${q} → changed: ${JSON.stringify(r.body).slice(0, 300)}`);
          }
          answered.set(q, (answered.get(q) ?? 0) + 1);
        } catch (error) {
          failures.push(`${q} → ${String(error)}`);
        }
        if (i % 20 === 0) {
          const g = await activeGenerations(store);
          generationsSeen.add(g.get("reservations") ?? 1);
        }
      }
    })();

    const cli = spawnReplayCli(["rebuild", "all", "--grace-ms", "500"], { DATA_DIR: data.dir });
    const code = await exitOf(cli, 120_000);
    await sleep(1_000); // and some more queries once the old generation has been dropped
    stop = true;
    await loop;

    expect(code, cli.output()).toBe(0);
    expect(cli.output()).toMatch(/rebuilding parking-lots, reservations, customer-coupons, control-center/);
    expect(cli.output()).toMatch(/100\.0%\s+position [\d,]+ \/ [\d,]+/);
    expect(cli.output()).toMatch(/done in [\d.]+ s: parking-lots g1→g2/);
    expect(failures.slice(0, 10)).toEqual([]);
    // Queries were really answered on both sides of the swap, every one of them several times.
    expect([...generationsSeen].sort()).toEqual([1, 2]);
    for (const q of [...queries, "/control-center"])
      expect(answered.get(q) ?? 0, q).toBeGreaterThanOrEqual(2);

    const after = await activeGenerations(store);
    for (const name of NAMES) expect(after.get(name), name).toBe(2);
    const collections = await store.listCollections();
    expect(collections.filter((c) => c.endsWith("_g1"))).toEqual([]);

    // New reservations after the swap: read-your-writes on the new generation, which the live
    // projector now maintains.
    const lot = lotIds[0] as string;
    const lotBefore = expected.get(`/parking-lots/${lot}`) as Record<string, number>;
    const made: { reservationId: string; position: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await call<{ reservationId: string; position: string }>(
        base,
        "POST",
        `/parking-lots/${lot}/reservations`,
        {
          customerId: "AFTER1",
          carNumber: `1${i}가1234`,
          amount: 3000,
        },
      );
      expect(r.status).toBe(201);
      made.push(r.body);
    }
    const last = made.at(-1)?.position as string;
    const lotNow = await call(base, "GET", `/parking-lots/${lot}?minPosition=${last}`);
    expect(lotNow.status, JSON.stringify(lotNow.body)).toBe(200);
    expect(lotNow.body).toMatchObject({
      totalReservations: (lotBefore.totalReservations as number) + 3,
      availableSpots: (lotBefore.availableSpots as number) - 3,
    });
    for (const r of made) {
      const one = await call(base, "GET", `/reservations/${r.reservationId}?minPosition=${r.position}`);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({
        reservationId: r.reservationId,
        status: "RESERVED",
        customerId: "AFTER1",
      });
    }
    const page = await call<Page<{ reservationId: string }>>(
      base,
      "GET",
      `/reservations?customerId=AFTER1&minPosition=${last}`,
    );
    expect(page.body.items.map((r) => r.reservationId)).toEqual(made.map((r) => r.reservationId).reverse());
    // Their bookings' coupons, kept by their stays (in and out), projected into the new generation.
    for (const r of made)
      for (const step of ["check-in", "check-out"])
        expect(
          (await call(base, "POST", `/parking-lots/${lot}/reservations/${r.reservationId}/${step}`)).status,
        ).toBe(200);
    await eventually(async () => {
      const c = await call<Page<{ status: string }>>(base, "GET", "/customers/AFTER1/coupons");
      return c.body.items.length === 3 && c.body.items.every((x) => x.status === "ISSUED") ? true : undefined;
    });
    const finalCenter = await eventually(async () => {
      const c = await call<ControlCenter>(base, "GET", "/control-center");
      return c.body.totals.couponsIssued === PLAN.reservations + 3 &&
        c.body.projections.every((p) => p.lag === 0)
        ? c.body
        : undefined;
    });
    expect(finalCenter.totals.totalReservations).toBe(PLAN.reservations + 3);
    for (const s of service.services.processors?.status() ?? [])
      expect(s, s.name).toMatchObject({ generation: s.kind === "projection" ? 2 : 1, state: "running" });

    // `replay status` agrees: every projection running at the head.
    const status = spawnReplayCli(["status"], { DATA_DIR: data.dir });
    expect(await exitOf(status, 60_000), status.output()).toBe(0);
    for (const name of PROCESSOR_NAMES)
      expect(status.output()).toMatch(new RegExp(`^${name}\\s+running\\s+\\d+\\s+\\d+\\s+0$`, "m"));
  });
});
