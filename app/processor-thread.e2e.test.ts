import { readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { StallBoard } from "../platform/stall-board.js";
import { defaultAuthFor } from "../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir, testConfig } from "../test-support/service.js";
import { spawnProcessors } from "./processors-spawn.js";
import type { RunningService } from "./server.js";

const started: { service: RunningService; remove: () => void }[] = [];
afterEach(async () => {
  for (const { service, remove } of started.splice(0)) {
    await service.shutdown("test done");
    remove();
  }
});

async function start(env: Record<string, string>): Promise<RunningService> {
  const data = tempDataDir();
  const service = await startTestService(data.dir, env);
  started.push({ service, remove: data.remove });
  return service;
}

describe("ROLE=all: the projectors and the coupon policy off the request thread", () => {
  it.each(["worker", "main"] as const)(
    "PROCESSORS_THREAD=%s: read-your-writes holds, the coupon is issued, /readyz and /metrics see the projections",
    async (thread) => {
      const service = await start({ PROCESSORS_THREAD: thread });
      expect(service.services.threadMetrics !== undefined).toBe(thread === "worker");
      const base = service.url;
      expect(
        (
          await call(base, "POST", "/parking-lots", {
            parkingLotId: "T",
            name: "T",
            capacity: 3,
            couponRule: { minStayMinutes: 0 }, // the stay below earns its coupon
          })
        ).status,
      ).toBe(201);
      const made = await call<{ reservationId: string; position: string }>(
        base,
        "POST",
        "/parking-lots/T/reservations",
        { customerId: "C1", carNumber: "12가3456", amount: 1000 },
      );
      expect(made.status).toBe(201);
      // Asked for the command's position, the query waits for the projection in the other thread.
      const seen = await call(
        base,
        "GET",
        `/reservations/${made.body.reservationId}?minPosition=${made.body.position}`,
      );
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({ reservationId: made.body.reservationId, status: "RESERVED" });
      const lot = await call(base, "GET", `/parking-lots/T?minPosition=${made.body.position}`);
      expect(lot.body).toMatchObject({ availableSpots: 2, activeReservations: 1 });
      // The stay earns the coupon the policy in the other thread issues.
      for (const step of ["check-in", "check-out"])
        expect(
          (await call(base, "POST", `/parking-lots/T/reservations/${made.body.reservationId}/${step}`))
            .status,
        ).toBe(200);
      await eventually(async () => {
        const r = await call<{ coupon?: { status: string } }>(
          base,
          "GET",
          `/reservations/${made.body.reservationId}`,
        );
        return r.body.coupon?.status === "ISSUED" ? true : undefined;
      });

      const ready = await call<{ checks: Record<string, { ok: boolean }> }>(base, "GET", "/readyz");
      expect(ready.status).toBe(200);
      expect(
        Object.keys(ready.body.checks).filter((k) => k.startsWith("projection:")).length,
      ).toBeGreaterThan(0);
      const metrics = await (await fetch(`${base}/metrics`, { headers: await defaultAuthFor(base) })).text();
      expect(metrics).toMatch(/^parking_projection_events_total\{projection="reservations"\} [1-9]/m);
      expect(metrics).toMatch(/^parking_commands_total\{command="ReserveParking",outcome="accepted"\} 1$/m);
    },
  );

  it("a thread spawned before the service's modules load (as app/main.ts does) opens no store until the service has opened its own, then serves it (issue 50)", async () => {
    const data = tempDataDir();
    const config = testConfig(data.dir, { PROCESSORS_THREAD: "worker" });
    const stallBoard = new StallBoard();
    const processorsWorker = spawnProcessors(config, stallBoard);
    // Its modules loaded (its heartbeat started at their top level), unheld it would open its stores now.
    await eventually(async () => (stallBoard.beats("processors") > 0 ? true : undefined));
    await sleep(1500);
    expect(readdirSync(data.dir)).toEqual([]);
    const service = await startTestService(
      data.dir,
      { PROCESSORS_THREAD: "worker" },
      { stallBoard, processorsWorker },
    );
    started.push({ service, remove: data.remove });
    const base = service.url;
    expect(
      (await call(base, "POST", "/parking-lots", { parkingLotId: "E", name: "E", capacity: 2 })).status,
    ).toBe(201);
    const made = await call<{ reservationId: string; position: string }>(
      base,
      "POST",
      "/parking-lots/E/reservations",
      { customerId: "C1", carNumber: "12가3456", amount: 1000 },
    );
    const seen = await call(
      base,
      "GET",
      `/reservations/${made.body.reservationId}?minPosition=${made.body.position}`,
    );
    expect(seen.body).toMatchObject({ reservationId: made.body.reservationId, status: "RESERVED" });
  });
});
