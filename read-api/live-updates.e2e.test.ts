import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import type { ControlCenterView } from "../schemas/read-models.js";
import { operatorHeaders } from "../test-support/auth.js";
import { openEventStream, type ServerSentEvent } from "../test-support/event-stream.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";

/**
 * The control center's Server-Sent Events over real HTTP: a view on connect, updates after
 * writes, resuming with Last-Event-ID, coalescing under a burst, and streams ended on shutdown.
 */

const data = tempDataDir("parking-live-");
let service: RunningService;

const viewOf = (event: ServerSentEvent | null): ControlCenterView => {
  expect(event?.event).toBe("control-center");
  return JSON.parse(event?.data ?? "null") as ControlCenterView;
};

const lotOf = (view: ControlCenterView, id: string) => view.parkingLots.find((l) => l.parkingLotId === id);

/** Reads events until one satisfies `match` (the stream ends the test with a timeout otherwise). */
async function until(
  stream: Awaited<ReturnType<typeof openEventStream>>,
  match: (view: ControlCenterView) => boolean,
): Promise<{ event: ServerSentEvent; view: ControlCenterView; seen: number }> {
  for (let seen = 1; ; seen++) {
    const event = await stream.next();
    if (!event) throw new Error("the stream ended");
    const view = viewOf(event);
    if (match(view)) return { event, view, seen };
  }
}

/** Reservations accepted so far in lot live-1 (every test adds to it). */
let reserved = 0;
const reserve = async (lot: string, i: number) => {
  const response = await call(service.url, "POST", `/parking-lots/${lot}/reservations`, {
    customerId: `CUST${i}`,
    carNumber: `${10 + (i % 89)}더${1000 + i}`,
    amount: 5000,
  });
  if (response.status === 201) reserved++;
  return response;
};

/** Everything settled: every reservation shown with its coupon, every processor at the head. */
const quiet = (v: ControlCenterView) =>
  lotOf(v, "live-1")?.totalReservations === reserved &&
  v.totals.couponsIssued === reserved &&
  v.projections.every((p) => p.lag === 0);

beforeAll(async () => {
  service = await startTestService(data.dir);
  const lot = await call(service.url, "POST", "/parking-lots", {
    parkingLotId: "live-1",
    name: "강남 1주차장",
    capacity: 500,
  });
  expect(lot.status).toBe(201);
});

afterAll(async () => {
  await service?.shutdown("test done");
  data.remove();
});

describe("GET /control-center/events", () => {
  it("sends the current view on connect and a new one after a reservation, with free spots down", async () => {
    const stream = await openEventStream(`${service.url}/control-center/events`);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get("content-type")).toContain("text/event-stream");
      expect(stream.headers.get("cache-control")).toContain("no-cache");
      const first = await until(stream, (v) => lotOf(v, "live-1") !== undefined);
      const before = lotOf(first.view, "live-1")?.availableSpots ?? 0;
      expect(first.event.id).toMatch(/^[A-Za-z0-9_-]+$/);

      expect((await reserve("live-1", 1)).status).toBe(201);
      const after = await until(stream, (v) => (lotOf(v, "live-1")?.availableSpots ?? 0) < before);
      expect(lotOf(after.view, "live-1")).toMatchObject({
        availableSpots: before - 1,
        activeReservations: 1,
      });
      expect(after.view.activity.reduce((n, a) => n + a.reserved, 0)).toBeGreaterThanOrEqual(1);
      expect(after.event.id).not.toBe(first.event.id);
    } finally {
      await stream.close();
    }
  });

  it("resumes with Last-Event-ID: a reconnect that saw the current state gets only what changes next", async () => {
    const stream = await openEventStream(`${service.url}/control-center/events`);
    const settled = await until(stream, quiet);
    await stream.close();

    const resumed = await openEventStream(`${service.url}/control-center/events`, {
      "last-event-id": settled.event.id ?? "",
    });
    try {
      const spots = lotOf(settled.view, "live-1")?.availableSpots ?? 0;
      expect((await reserve("live-1", 2)).status).toBe(201);
      // Nothing is sent twice: every event after resuming is a state other than the one it had
      // (a lag reading may change in between), until the new reservation shows.
      const had = lotOf(settled.view, "live-1")?.totalReservations ?? 0;
      for (;;) {
        const event = await resumed.next();
        expect(event?.id).not.toBe(settled.event.id);
        const view = viewOf(event);
        if ((lotOf(view, "live-1")?.totalReservations ?? 0) > had) {
          expect(lotOf(view, "live-1")?.availableSpots).toBe(spots - 1);
          break;
        }
      }
    } finally {
      await resumed.close();
    }

    // An id of a state long gone gets the current view at once.
    const stale = await openEventStream(`${service.url}/control-center/events`, { "last-event-id": "gone" });
    try {
      const current = viewOf(await stale.next());
      expect(lotOf(current, "live-1")?.totalReservations).toBe(reserved);
    } finally {
      await stale.close();
    }
  });

  it("coalesces a burst: 200 reservations make far fewer updates", async () => {
    const stream = await openEventStream(`${service.url}/control-center/events`);
    try {
      await until(stream, quiet);
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => reserve("live-1", 100 + i)));
      expect(results.every((r) => r.status === 201)).toBe(true);
      const done = await until(stream, (v) => lotOf(v, "live-1")?.totalReservations === reserved);
      expect(done.seen).toBeLessThan(50);
    } finally {
      await stream.close();
    }
  });

  it("heartbeats, and ends every stream when the service shuts down, so shutdown completes", async () => {
    const own = tempDataDir("parking-live-shutdown-");
    const short = await startTestService(own.dir, { LIVE_HEARTBEAT_MS: "20" });
    try {
      const stream = await openEventStream(`${short.url}/control-center/events`);
      expect(viewOf(await stream.next()).totals.parkingLots).toBe(0);
      // Nothing changes on this quiet service: heartbeats keep the stream alive until shutdown ends it.
      expect(await stream.next({ comments: true })).toEqual({ event: "comment", data: ": heartbeat" });
      const ended = stream.next();
      await short.shutdown("test");
      expect(await ended).toBeNull();
    } finally {
      await short.shutdown("test");
      own.remove();
    }
  });

  it("caps streams per caller (429) as well as per process (503), each refusal naming its cap", async () => {
    const own = tempDataDir("parking-live-caps-");
    const capped = await startTestService(own.dir, {
      LIVE_MAX_STREAMS: "3",
      LIVE_MAX_STREAMS_PER_PRINCIPAL: "2",
    });
    const open: Awaited<ReturnType<typeof openEventStream>>[] = [];
    const url = `${capped.url}/control-center/events`;
    try {
      const first = await operatorHeaders(own.dir, "ops-greedy");
      for (let i = 0; i < 2; i++) {
        const stream = await openEventStream(url, first);
        open.push(stream);
        expect(stream.status).toBe(200);
      }
      const third = await fetch(url, { headers: first });
      expect(third.status).toBe(429);
      expect(Number(third.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await third.json()).toMatchObject({
        type: "/problems/too-many-streams",
        limit: "per-principal",
        max: 2,
        detail: expect.stringContaining("LIVE_MAX_STREAMS_PER_PRINCIPAL"),
      });

      // Another operator still gets a stream: one caller cannot take them all.
      const second = await operatorHeaders(own.dir, "ops-patient");
      const theirs = await openEventStream(url, second);
      open.push(theirs);
      expect(theirs.status).toBe(200);
      expect(viewOf(await theirs.next()).totals).toBeDefined();

      // The process is at its cap now: a third operator is told so, with 503.
      const full = await fetch(url, { headers: await operatorHeaders(own.dir, "ops-late") });
      expect(full.status).toBe(503);
      expect(full.headers.get("retry-after")).toBe("5");
      expect(await full.json()).toMatchObject({
        type: "/problems/service-unavailable",
        limit: "per-process",
        max: 3,
        detail: expect.stringContaining("LIVE_MAX_STREAMS"),
      });

      // A stream closed frees its place for its owner.
      await open.shift()?.close();
      await eventually(async () => (capped.services.liveUpdates?.streamCount === 2 ? true : undefined));
      const again = await openEventStream(url, first);
      open.push(again);
      expect(again.status).toBe(200);
    } finally {
      for (const stream of open) await stream.close();
      await capped.shutdown("test");
      own.remove();
    }
  });

  it("on an idle service sends only heartbeats, lease renewals and clock refreshes included; a resumed stream gets nothing again", async () => {
    // Everything short, so that what a minute of an idle service does happens in a few seconds:
    // leases renewed every 100 ms, the view read again every 100 ms, a heartbeat every 50 ms.
    const own = tempDataDir("parking-live-idle-");
    const idle = await startTestService(own.dir, {
      LIVE_HEARTBEAT_MS: "50",
      LIVE_REFRESH_MS: "100",
      PROCESSOR_LEASE_RENEW_MS: "100",
      PROCESSOR_LEASE_TTL_MS: "500",
    });
    try {
      expect(
        (await call(idle.url, "POST", "/parking-lots", { name: "조용한 주차장", capacity: 3 })).status,
      ).toBe(201);
      const stream = await openEventStream(`${idle.url}/control-center/events`);
      // Settled: the lot shown and every processor at the head.
      let first: ServerSentEvent | null;
      do first = await stream.next();
      while (
        !(viewOf(first).totals.parkingLots === 1 && viewOf(first).projections.every((p) => p.lag === 0))
      );
      // Then 60 heartbeats (3 s: 30 refreshes, 30 lease renewals) and not one event.
      const heard: string[] = [];
      while (heard.filter((e) => e === "comment").length < 60) {
        const event = await stream.next({ comments: true });
        heard.push(event?.event ?? "end");
      }
      expect(heard.filter((e) => e !== "comment")).toEqual([]);
      await stream.close();

      // Resuming with the id it had: the current state is that one, so only heartbeats again.
      const resumed = await openEventStream(`${idle.url}/control-center/events`, {
        "last-event-id": first?.id ?? "",
      });
      const again: string[] = [];
      while (again.filter((e) => e === "comment").length < 20) {
        again.push((await resumed.next({ comments: true }))?.event ?? "end");
      }
      expect(again.filter((e) => e !== "comment")).toEqual([]);
      await resumed.close();
      expect(idle.services.liveUpdates?.updates).toBeLessThanOrEqual(3);
    } finally {
      await idle.shutdown("test");
      own.remove();
    }
  });

  it("refuses a new stream with 503 shutting-down once streams were ended for shutdown", async () => {
    const own = tempDataDir("parking-live-ended-");
    const ending = await startTestService(own.dir);
    try {
      // What shutdown does once the listener closes; a request on a kept-alive connection can
      // still arrive then.
      ending.services.liveUpdates?.close();
      const refused = await fetch(`${ending.url}/control-center/events`, {
        headers: await operatorHeaders(own.dir),
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(((await refused.json()) as { type: string }).type).toBe("/problems/shutting-down");
    } finally {
      await ending.shutdown("test");
      own.remove();
    }
  });
});
