import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { ControlCenterView } from "../schemas/read-models.js";
import { operatorHeaders } from "../test-support/auth.js";
import { exitOf, killChildren, type ServiceChild, spawnRole } from "../test-support/children.js";
import { openEventStream, type ServerSentEvent } from "../test-support/event-stream.js";
import { freePort } from "../test-support/process.js";
import { auditCoupons, cleanAudit, plateFor, readAllEvents } from "../test-support/seed.js";
import { call, eventually, tempDataDir } from "../test-support/service.js";

/**
 * The roles as separate processes on one DATA_DIR (the embedded stores are shared files), each
 * stopped and started on its own: commands keep working while projectors and the coupon policy are
 * down, queries keep working while the write side and the event store are down.
 */

interface Reservation {
  reservationId: string;
  parkingLotId: string;
  customerId: string;
  status: "RESERVED" | "CANCELED";
  coupon?: { status: "ISSUED" | "REVOKED" };
}

interface ControlCenter {
  totals: Record<string, number>;
  parkingLots: { parkingLotId: string }[];
  projections: { name: string; position: string | null; headPosition: string | null; lag: number | null }[];
}

const COMMON = { EMBEDDED_POLL_INTERVAL_MS: "20", SHUTDOWN_TIMEOUT_MS: "10000" };

async function sigterm(service: ServiceChild): Promise<void> {
  service.signal("SIGTERM");
  expect(await exitOf(service, 20_000), service.output()).toBe(0);
}

async function coupons(dir: string) {
  const events = SqliteEventStore.open({ file: join(dir, "events.sqlite") });
  try {
    return auditCoupons(await readAllEvents(events));
  } finally {
    await events.close();
  }
}

describe("roles in separate processes sharing one DATA_DIR", () => {
  const data = tempDataDir("parking-roles-");
  const env = (role: string, extra: Record<string, string> = {}) => ({
    ...COMMON,
    DATA_DIR: data.dir,
    ROLE: role,
    ...extra,
  });
  const made: { reservationId: string; parkingLotId: string; customerId: string }[] = [];
  const canceled = new Set<string>();
  /** Reservations whose car checked in and out (each kept the coupon its booking got: the lots' couponRule). */
  const stayed = new Set<string>();
  /** What the query API answered while everything ran: compared with what it answers later. */
  let snapshot:
    | { lot: unknown; lots: unknown; reservations: unknown; one: unknown; coupons: unknown }
    | undefined;

  /**
   * The three roles the minPosition test leaves running for the live-update test (which needs the
   * same three, as they are: starting them again would prove nothing more).
   */
  let handedOver: { commands: ServiceChild; queries: ServiceChild; projector: ServiceChild } | undefined;

  afterEach(async () => {
    if (!handedOver) await killChildren();
  });
  afterAll(async () => {
    await killChildren();
    data.remove();
  });

  it("commands work while projectors and the coupon policy are down; started later, they catch up with exactly one coupon per booking, revoked for each cancel", async () => {
    const commands = await spawnRole(env("command-api"));
    for (const lot of ["A", "B"]) {
      const r = await call(commands.url, "POST", "/parking-lots", {
        parkingLotId: lot,
        name: `Lot ${lot}`,
        capacity: 30,
        couponRule: { minStayMinutes: 0 },
      });
      expect(r.status).toBe(201);
    }
    for (let i = 0; i < 40; i++) {
      const parkingLotId = i % 2 ? "B" : "A";
      const customerId = `CUST${i % 5}`;
      const r = await call<{ reservationId: string }>(
        commands.url,
        "POST",
        `/parking-lots/${parkingLotId}/reservations`,
        {
          customerId,
          carNumber: plateFor(i),
          amount: 5000,
        },
      );
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      made.push({ reservationId: r.body.reservationId, parkingLotId, customerId });
    }
    for (const r of made.filter((_, i) => i % 4 === 3)) {
      const c = await call(
        commands.url,
        "DELETE",
        `/parking-lots/${r.parkingLotId}/reservations/${r.reservationId}`,
        { reason: "desk cancellation" },
      );
      expect(c.status).toBe(200);
      canceled.add(r.reservationId);
    }
    for (const r of made.filter((_, i) => i % 4 === 1)) {
      for (const step of ["check-in", "check-out"]) {
        const path = `/parking-lots/${r.parkingLotId}/reservations/${r.reservationId}/${step}`;
        expect((await call(commands.url, "POST", path)).status).toBe(200);
      }
      stayed.add(r.reservationId);
    }
    // Nothing reacted: no coupon yet, and this process serves no queries.
    expect(await coupons(data.dir)).toMatchObject({ issued: 0, revoked: 0 });
    expect((await call(commands.url, "GET", "/reservations")).status).toBe(404);

    const [projector, queries] = await Promise.all([
      spawnRole(env("projector")),
      spawnRole(env("query-api")),
    ]);
    const all = await eventually(
      async () => {
        const r = await call<{ items: Reservation[] }>(queries.url, "GET", "/reservations?limit=1000");
        const done = r.body.items.filter(
          (x) => x.coupon?.status === (canceled.has(x.reservationId) ? "REVOKED" : "ISSUED"),
        );
        return r.status === 200 && r.body.items.length === made.length && done.length === made.length
          ? r.body.items
          : undefined;
      },
      30_000,
      "every reservation with its coupon (revoked if canceled), through the query API",
    );
    const statusOf = (id: string) =>
      canceled.has(id) ? "CANCELED" : stayed.has(id) ? "COMPLETED" : "RESERVED";
    for (const r of all) expect(r.status).toBe(statusOf(r.reservationId));
    expect(await coupons(data.dir)).toEqual(cleanAudit(made.length, canceled.size));

    const center = await eventually(async () => {
      const c = await call<ControlCenter>(queries.url, "GET", "/control-center");
      return c.body.projections.every((p) => p.lag === 0) ? c.body : undefined;
    }, 20_000);
    expect(center.totals).toMatchObject({
      parkingLots: 2,
      totalReservations: made.length,
      canceledReservations: canceled.size,
      activeReservations: made.length - canceled.size - stayed.size,
      couponsIssued: made.length,
      couponsRevoked: canceled.size,
    });
    // The projector process serves health and metrics, not the API.
    expect((await fetch(`${projector.url}/readyz`)).status).toBe(200);
    // No method of /parking-lots is served there: 404, not a 405 with an empty Allow.
    expect((await call(projector.url, "GET", "/parking-lots")).status).toBe(404);

    const first = made[0] as (typeof made)[number];
    snapshot = {
      lot: (await call(queries.url, "GET", "/parking-lots/A")).body,
      lots: (await call(queries.url, "GET", "/parking-lots")).body,
      reservations: (await call(queries.url, "GET", "/reservations?parkingLotId=B&limit=1000")).body,
      one: (await call(queries.url, "GET", `/reservations/${first.reservationId}`)).body,
      coupons: (await call(queries.url, "GET", `/customers/${first.customerId}/coupons`)).body,
    };
    await Promise.all([sigterm(commands), sigterm(projector), sigterm(queries)]);
  });

  it("queries that need no lot's state keep working while the event store is unreachable; those that do answer 503 store-unavailable (issue 68: one loader, from the log)", async () => {
    expect(snapshot, "needs the data of the previous test").toBeDefined();
    const unreachable = `esdb://127.0.0.1:${await freePort()}?tls=false`;
    const queries = await spawnRole(env("query-api", { EVENTSTORE_URL: unreachable }));
    const first = made[0] as (typeof made)[number];

    // A lot's state is loaded from the log (its period's opening and events): no copy of it is kept
    // in the read models to answer from, so these say the store is out and when to try again.
    for (const path of [
      "/parking-lots/A",
      "/parking-lots",
      `/reservations/${first.reservationId}`,
      "/control-center",
    ]) {
      const out = await call<{ type: string }>(queries.url, "GET", path);
      expect({ path, status: out.status, type: out.body.type }).toEqual({
        path,
        status: 503,
        type: "/problems/store-unavailable",
      });
      expect(Number(out.headers.get("retry-after")), path).toBeGreaterThan(0);
    }
    expect((await call(queries.url, "GET", `/customers/${first.customerId}/coupons`)).body).toEqual(
      snapshot?.coupons,
    );
    // Ready: a query API answers what it can; the store's outage is the answers' to say.
    expect((await fetch(`${queries.url}/readyz`)).status).toBe(200);
    await sigterm(queries);
  });

  it("a query with minPosition while the projector is down: 503 position-not-reached after the bound, 200 once it runs", async () => {
    const [commands, queries] = await Promise.all([
      spawnRole(env("command-api")),
      spawnRole(env("query-api", { READ_YOUR_WRITES_TIMEOUT_MS: "1500", READ_YOUR_WRITES_MAX_WAITING: "1" })),
    ]);
    const r = await call<{ reservationId: string; position: string }>(
      commands.url,
      "POST",
      "/parking-lots/A/reservations",
      {
        customerId: "LATE",
        carNumber: "12가3456",
        amount: 7000,
      },
    );
    expect(r.status).toBe(201);
    const { reservationId, position } = r.body;

    for (const path of [
      `/reservations/${reservationId}?minPosition=${position}`,
      `/parking-lots/A?minPosition=${position}`,
    ]) {
      const waited = await call(queries.url, "GET", path);
      expect(waited.status, path).toBe(503);
      expect(waited.headers.get("content-type")).toContain("application/problem+json");
      expect(waited.body.type).toBe("/problems/position-not-reached");
      expect(waited.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    }
    // One query may wait at a time here: another, while one waits, is turned away at once
    // (whichever of the two arrives second).
    const first = call(queries.url, "GET", `/reservations/${reservationId}?minPosition=${position}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = call(queries.url, "GET", `/parking-lots/A?minPosition=${position}`);
    const answers = await Promise.all([first, second]);
    expect(answers.map((a) => a.status)).toEqual([503, 503]);
    expect(answers.map((a) => a.body.type).sort()).toEqual([
      "/problems/overloaded",
      "/problems/position-not-reached",
    ]);
    // Without minPosition the (stale) view answers at once.
    expect((await call(queries.url, "GET", "/parking-lots/A")).status).toBe(200);

    const projector = await spawnRole(env("projector"));
    const seen = new Set<number>();
    const reservation = await eventually(
      async () => {
        const answer = await call<Reservation & { type?: string }>(
          queries.url,
          "GET",
          `/reservations/${reservationId}?minPosition=${position}`,
        );
        seen.add(answer.status);
        if (answer.status === 503) expect(answer.body.type).toBe("/problems/position-not-reached");
        return answer.status === 200 ? answer.body : undefined;
      },
      30_000,
      "the reservation with minPosition",
    );
    expect([...seen].every((s) => s === 200 || s === 503)).toBe(true);
    expect(reservation).toMatchObject({
      reservationId,
      parkingLotId: "A",
      customerId: "LATE",
      status: "RESERVED",
    });
    for (const step of ["check-in", "check-out"]) {
      const path = `/parking-lots/A/reservations/${reservationId}/${step}`;
      expect((await call(commands.url, "POST", path)).status).toBe(200);
    }
    await eventually(async () => {
      const c = await call<Reservation>(queries.url, "GET", `/reservations/${reservationId}`);
      return c.body.coupon?.status === "ISSUED" ? true : undefined;
    }, 20_000);
    expect(await coupons(data.dir)).toEqual(cleanAudit(made.length + 1, canceled.size));
    handedOver = { commands, queries, projector };
  });

  it("a query-api's live-update stream learns of a reservation from the store the projector writes, not from the projector", async () => {
    const given = handedOver;
    handedOver = undefined;
    const [commands, projector, queries] = given
      ? [given.commands, given.projector, given.queries]
      : await Promise.all([
          spawnRole(env("command-api")),
          spawnRole(env("projector")),
          spawnRole(env("query-api")),
        ]);
    expect(
      (
        await call(commands.url, "POST", "/parking-lots", {
          parkingLotId: "live-roles",
          name: "분리",
          capacity: 9,
        })
      ).status,
    ).toBe(201);
    const stream = await openEventStream(
      `${queries.url}/control-center/events`,
      await operatorHeaders(data.dir),
    );
    try {
      expect(stream.status).toBe(200);
      const totalOf = (event: ServerSentEvent | null) => {
        if (!event) throw new Error("the live-update stream ended");
        return (JSON.parse(event.data) as ControlCenterView).parkingLots.find(
          (l) => l.parkingLotId === "live-roles",
        )?.totalReservations;
      };
      // The lot shows up once the projector (another process) has written it.
      while (totalOf(await stream.next()) === undefined);
      const reserved = await call(commands.url, "POST", "/parking-lots/live-roles/reservations", {
        customerId: "LIVE1",
        carNumber: "10더8612",
        amount: 5000,
      });
      expect(reserved.status).toBe(201);
      // The three processes share nothing but DATA_DIR's files: the update comes from the store.
      while (totalOf(await stream.next()) !== 1);
    } finally {
      await stream.close();
    }
    await Promise.all([sigterm(commands), sigterm(projector), sigterm(queries)]);
  });
});
