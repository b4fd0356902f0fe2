import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { PROCESSOR_NAMES } from "../projections/processors.js";
import { operatorHeaders } from "../test-support/auth.js";
import type { ServiceProcess } from "../test-support/process.js";
import { call, tempDataDir } from "../test-support/service.js";
import { exitWithin, projectionsAtHead, serviceProcesses } from "../test-support/spawned-services.js";

/**
 * Acceptance: after `kill -9` under a steady stream of stays (reserve, check in, check out), a
 * restart on the same data shows every acknowledged reservation, and exactly one coupon for each
 * booking (the lots' couponRule: any stay keeps it).
 */

const LOTS = ["crash-a", "crash-b", "crash-c"];
const CAPACITY = 100_000;
const WORKERS = 8;
const ACKS_BEFORE_KILL = 500;
/** Bounds of the stream, whatever happens: per worker, and in time. */
const MAX_REQUESTS_PER_WORKER = 1_000;
const STREAM_DEADLINE_MS = 60_000;

interface Acknowledged {
  readonly reservationId: string;
  readonly parkingLotId: string;
  readonly customerId: string;
}

interface LotView {
  readonly capacity: number;
  readonly availableSpots: number;
  readonly activeReservations: number;
  readonly totalReservations: number;
  readonly canceledReservations: number;
}

/** Runs `task` over `items`, at most `concurrency` at a time. */
async function forEachLimited<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await task(items[next++] as T);
    }),
  );
}

describe("crash recovery of the all-in-one service (embedded stores)", () => {
  const processes = serviceProcesses();
  const data = tempDataDir("parking-crash-");

  afterEach(async () => {
    await processes.killAll();
  });
  afterAll(() => data.remove());

  it("after kill -9 under a steady stream of stays, a restart shows every acknowledged reservation, and exactly one coupon per checked-out stay", async () => {
    const first: ServiceProcess = await processes.start({ DATA_DIR: data.dir });
    const operator = await operatorHeaders(data.dir);
    for (const lot of LOTS) {
      const registered = await call(first.url, "POST", "/parking-lots", {
        parkingLotId: lot,
        name: `Crash lot ${lot}`,
        capacity: CAPACITY,
        couponRule: { minStayMinutes: 0 },
      });
      expect(registered.status).toBe(201);
    }

    // A steady stream: WORKERS loops, each awaiting its answer before the next request.
    const acknowledged = new Map<string, Acknowledged>();
    const unexpected: string[] = [];
    let inFlight = 0;
    let killed = false;
    let inFlightAtKill = 0;
    const deadline = Date.now() + STREAM_DEADLINE_MS;
    const workers = Array.from({ length: WORKERS }, async (_, worker) => {
      for (let i = 0; i < MAX_REQUESTS_PER_WORKER && !killed && Date.now() < deadline; i++) {
        const parkingLotId = LOTS[(worker + i) % LOTS.length] as string;
        const customerId = `W${worker}-C${i}`;
        inFlight++;
        try {
          const response = await fetch(`${first.url}/parking-lots/${parkingLotId}/reservations`, {
            method: "POST",
            headers: { "content-type": "application/json", ...operator },
            body: JSON.stringify({ customerId, carNumber: `${10 + worker}더${1000 + i}`, amount: 5000 }),
          });
          const body = (await response.json()) as { reservationId?: string; status?: string };
          // Acknowledged: a complete 201 answer with the reservation has reached the client.
          if (response.status === 201 && body.reservationId) {
            acknowledged.set(body.reservationId, {
              reservationId: body.reservationId,
              parkingLotId,
              customerId,
            });
            // The stay: the car checks in and out at once (each stay keeps its coupon here).
            for (const step of ["check-in", "check-out"]) {
              if (killed) break;
              const stepped = await fetch(
                `${first.url}/parking-lots/${parkingLotId}/reservations/${body.reservationId}/${step}`,
                { method: "POST", headers: operator },
              );
              await stepped.arrayBuffer();
              if (stepped.status !== 200 && !killed) unexpected.push(`${step} ${stepped.status}`);
            }
          } else if (!killed) {
            unexpected.push(`${response.status} ${JSON.stringify(body)}`);
          }
        } catch (error) {
          if (!killed) unexpected.push(String(error));
        } finally {
          inFlight--;
        }
        if (!killed && acknowledged.size >= ACKS_BEFORE_KILL) {
          killed = true;
          inFlightAtKill = inFlight;
          first.child.kill("SIGKILL");
        }
      }
    });
    await Promise.all(workers);
    expect(unexpected).toEqual([]);
    expect(killed, `only ${acknowledged.size} acknowledged before the deadline`).toBe(true);
    expect(inFlightAtKill, "requests in flight when the process was killed").toBeGreaterThan(0);
    expect(await exitWithin(first, 10_000)).toBe("SIGKILL");
    expect(acknowledged.size).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);

    // Restart on the same data: the projectors and the coupon policy resume from their checkpoints.
    const second = await processes.start({ DATA_DIR: data.dir });
    const caughtUp = await projectionsAtHead(second.url, 60_000);
    expect(caughtUp.map((p) => p.name).sort()).toEqual([...PROCESSOR_NAMES].sort());

    const wrong: string[] = [];
    await forEachLimited([...acknowledged.values()], 8, async (ack) => {
      const r = await call<{
        parkingLotId?: string;
        customerId?: string;
        status?: string;
        coupon?: { status?: string };
      }>(second.url, "GET", `/reservations/${ack.reservationId}`);
      // A stay cut by the kill is left reserved or checked in; each holds its booking's coupon.
      const ok =
        r.status === 200 &&
        ["RESERVED", "CHECKED_IN", "COMPLETED"].includes(r.body.status ?? "") &&
        r.body.coupon?.status === "ISSUED" &&
        r.body.parkingLotId === ack.parkingLotId &&
        r.body.customerId === ack.customerId;
      if (!ok) wrong.push(`${ack.reservationId}: ${r.status} ${JSON.stringify(r.body)}`);
    });
    expect(wrong).toEqual([]);

    const lots = new Map<string, LotView>();
    for (const lot of LOTS) {
      const r = await call<LotView>(second.url, "GET", `/parking-lots/${lot}`);
      expect(r.status).toBe(200);
      lots.set(lot, r.body);
    }
    const center = await call<{ totals: Record<string, number> }>(second.url, "GET", "/control-center");

    second.child.kill("SIGTERM");
    expect(await exitWithin(second, 20_000)).toBe(0);

    // The log itself, read with the service stopped.
    const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    const reservedPerLot = new Map<string, number>();
    const completedPerLot = new Map<string, number>();
    const reserved = new Map<string, number>();
    const earned = new Map<string, number>();
    const issued = new Map<string, number>();
    let otherEvents = 0;
    const couponsEarned = new Map<string, number>();
    const periodEvents = new Map<string, number>();
    try {
      for await (const event of store.readAll()) {
        const { reservationId, parkingLotId } = event.data as { reservationId: string; parkingLotId: string };
        if (event.type === "ParkingReserved") {
          reserved.set(reservationId, (reserved.get(reservationId) ?? 0) + 1);
          reservedPerLot.set(parkingLotId, (reservedPerLot.get(parkingLotId) ?? 0) + 1);
        } else if (event.type === "ReservationCheckedOut") {
          expect((event.data as { couponEarned?: boolean }).couponEarned).toBe(true);
          earned.set(reservationId, (earned.get(reservationId) ?? 0) + 1);
          completedPerLot.set(parkingLotId, (completedPerLot.get(parkingLotId) ?? 0) + 1);
        } else if (event.type === "CouponIssued") {
          issued.set(reservationId, (issued.get(reservationId) ?? 0) + 1);
        } else if (event.type === "CouponEarned") {
          // Issue 71: a stay's check-in or check-out earns its coupon, once.
          couponsEarned.set(reservationId, (couponsEarned.get(reservationId) ?? 0) + 1);
        } else if (event.type === "LotBooksClosed" || event.type === "LotPeriodOpened") {
          // A lot's books closing by period (issue 48; LOT_PERIOD_EVENTS=50 makes this run cross them).
          periodEvents.set(event.type, (periodEvents.get(event.type) ?? 0) + 1);
        } else if (event.type !== "ParkingLotRegistered" && event.type !== "ReservationCheckedIn") {
          otherEvents++;
        }
      }
    } finally {
      await store.close();
    }

    expect(otherEvents).toBe(0);
    // A period opens only once its books closed (a kill between the two leaves the opening to the lot's next command).
    expect(periodEvents.get("LotPeriodOpened") ?? 0).toBeLessThanOrEqual(
      periodEvents.get("LotBooksClosed") ?? 0,
    );
    // Every acknowledged reservation is in the log; some unacknowledged ones (in flight at the
    // kill) may be too, and they must be whole as well.
    for (const id of acknowledged.keys()) expect(reserved.has(id), id).toBe(true);
    expect(reserved.size).toBeGreaterThanOrEqual(acknowledged.size);
    expect([...reserved.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    // Exactly one CouponIssued per booking, and none without one; every stay kept it.
    expect(earned.size).toBeGreaterThan(0);
    expect([...earned.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...reserved.keys()].filter((id) => issued.get(id) !== 1)).toEqual([]);
    expect([...issued.keys()].filter((id) => !reserved.has(id))).toEqual([]);
    expect(issued.size).toBe(reserved.size);
    // Every checked-out stay earned its coupon exactly once, and no coupon was earned without a stay.
    expect([...earned.keys()].filter((id) => couponsEarned.get(id) !== 1)).toEqual([]);
    expect([...couponsEarned.entries()].filter(([, n]) => n !== 1)).toEqual([]);

    // The lots' counters equal the ParkingReserved events of each lot.
    for (const lot of LOTS) {
      const count = reservedPerLot.get(lot) ?? 0;
      const active = count - (completedPerLot.get(lot) ?? 0);
      expect(lots.get(lot), lot).toMatchObject({
        capacity: CAPACITY,
        totalReservations: count,
        activeReservations: active,
        canceledReservations: 0,
        availableSpots: CAPACITY - active,
      });
    }
    expect(center.body.totals).toMatchObject({
      parkingLots: LOTS.length,
      totalReservations: reserved.size,
      activeReservations: reserved.size - earned.size,
      couponsIssued: issued.size,
      couponsRevoked: 0,
    });
  });
});
