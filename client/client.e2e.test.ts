import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { startTestService, tempDataDir } from "../test-support/service.js";
import { type ApiClient, apiClient, type operations } from "./index.js";

/**
 * A new user's first session through the client generated from /openapi.json (openapi-typescript
 * + openapi-fetch): every operation is called, success and refusals, and every response is
 * checked against the document by the e2e setup (test-support/contract-setup.ts). The table is
 * typed by the generated `operations`, so an operation added to the document without a call here
 * does not compile.
 */
describe("every operation through the generated client", () => {
  const data = tempDataDir("parking-client-");
  let service: RunningService;
  let api: ApiClient;
  const lotId = "gangnam-1";
  let reservationId = "";

  beforeAll(async () => {
    service = await startTestService(data.dir);
    api = apiClient({ baseUrl: service.url });
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    data.remove();
  });

  const calls: Record<keyof operations, () => Promise<void>> = {
    registerParkingLot: async () => {
      const body = { parkingLotId: lotId, name: "강남역 공영주차장", capacity: 1 };
      const created = await api.POST("/parking-lots", { body });
      expect(created.response.status).toBe(201);
      expect(created.data?.name).toBe("강남역 공영주차장");
      expect(created.response.headers.get("location")).toBe(`/parking-lots/${lotId}`);
      expect((await api.POST("/parking-lots", { body })).response.status).toBe(200);
      const taken = await api.POST("/parking-lots", { body: { ...body, capacity: 2 } });
      expect(taken.error?.type).toBe("/problems/parking-lot-id-taken");
      const invalid = await api.POST("/parking-lots", { body: { name: "", capacity: -1 } });
      expect(invalid.response.status).toBe(400);
      const notJson = await api.POST("/parking-lots", {
        body: body as never,
        bodySerializer: () => "name=x",
        headers: { "content-type": "text/plain" },
      });
      expect(notJson.response.status).toBe(415);
      const tooLarge = await api.POST("/parking-lots", { body: { ...body, name: "가".repeat(20_000) } });
      expect(tooLarge.response.status).toBe(413);
    },
    listParkingLots: async () => {
      const page = await api.GET("/parking-lots", { params: { query: { limit: "10", minPosition: "1" } } });
      expect(page.data?.items.map((l) => l.parkingLotId)).toEqual([lotId]);
      const unknown = await api.GET("/parking-lots", { params: { query: { sort: "name" } as never } });
      expect(unknown.error?.errors?.[0]?.field).toBe("query.sort");
      const far = await api.GET("/parking-lots", { params: { query: { minPosition: "99999999" } } });
      expect(far.response.status).toBe(503);
      expect(far.response.headers.get("retry-after")).toBe("1");
    },
    getParkingLot: async () => {
      const lot = await api.GET("/parking-lots/{parkingLotId}", {
        params: { path: { parkingLotId: lotId } },
      });
      expect(lot.data?.capacity).toBe(1);
      const missing = await api.GET("/parking-lots/{parkingLotId}", {
        params: { path: { parkingLotId: "nowhere" } },
      });
      expect(missing.error?.type).toBe("/problems/parking-lot-not-found");
    },
    reserveParking: async () => {
      const body = { customerId: "CUST1", carNumber: "10더8612", amount: 5000 };
      const params = { path: { parkingLotId: lotId }, header: { "Idempotency-Key": "reserve-1" } };
      const reserved = await api.POST("/parking-lots/{parkingLotId}/reservations", { params, body });
      expect(reserved.response.status).toBe(201);
      reservationId = reserved.data?.reservationId ?? "";
      const replay = await api.POST("/parking-lots/{parkingLotId}/reservations", { params, body });
      expect(replay.response.status).toBe(200);
      expect(replay.response.headers.get("idempotent-replayed")).toBe("true");
      const reused = await api.POST("/parking-lots/{parkingLotId}/reservations", {
        params,
        body: { ...body, amount: 6000 },
      });
      expect(reused.response.status).toBe(422);
      const full = await api.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: lotId } },
        body: { ...body, carNumber: "서울12가3456" },
      });
      expect(full.error?.type).toBe("/problems/parking-lot-full");
      const noLot = await api.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: "nowhere" } },
        body,
      });
      expect(noLot.response.status).toBe(404);
    },
    listReservations: async () => {
      const page = await api.GET("/reservations", {
        params: { query: { carNumber: "10더8612", minPosition: "2" } },
      });
      expect(page.data?.items.map((r) => r.reservationId)).toEqual([reservationId]);
    },
    getReservation: async () => {
      const one = await api.GET("/reservations/{reservationId}", {
        params: { path: { reservationId }, query: { minPosition: "2" } },
      });
      expect(one.data?.status).toBe("RESERVED");
    },
    listCustomerCoupons: async () => {
      const coupons = await api.GET("/customers/{customerId}/coupons", {
        params: { path: { customerId: "CUST1" }, query: { minPosition: "2" } },
      });
      expect(coupons.data?.items).toHaveLength(1);
    },
    cancelReservation: async () => {
      const path = { parkingLotId: lotId, reservationId };
      const canceled = await api.DELETE("/parking-lots/{parkingLotId}/reservations/{reservationId}", {
        params: { path },
        body: { reason: "일정 변경" },
      });
      expect(canceled.data?.status).toBe("CANCELED");
      const missing = await api.DELETE("/parking-lots/{parkingLotId}/reservations/{reservationId}", {
        params: { path: { ...path, reservationId: "nope" } },
      });
      expect(missing.response.status).toBe(404);
    },
    getControlCenter: async () => {
      const view = await api.GET("/control-center", {
        params: { query: { limit: "1", minPosition: "3" } },
        headers: { accept: "application/json" },
      });
      expect(view.data?.parkingLots.map((l) => l.parkingLotId)).toEqual([lotId]);
      expect(view.data?.parkingLotsNextCursor).toBeNull();
      const unknown = await api.GET("/control-center", { params: { query: { foo: "1" } as never } });
      expect(unknown.error?.errors?.[0]?.field).toBe("query.foo");
    },
    getSignInConfig: async () => {
      expect((await api.GET("/control-center/sign-in-config")).data?.mode).toBeDefined();
    },
    streamControlCenterEvents: async () => {
      const stream = await api.GET("/control-center/events", { parseAs: "stream" });
      expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      await stream.response.body?.cancel();
    },
    getLandingPage: async () => {
      const links = await api.GET("/", { headers: { accept: "application/json" } });
      expect(links.data && "links" in links.data).toBe(true);
    },
    getLiveness: async () => {
      expect((await api.GET("/healthz")).data?.status).toBe("ok");
    },
    getReadiness: async () => {
      expect((await api.GET("/readyz")).response.status).toBe(200);
    },
    getMetrics: async () => {
      const metrics = await api.GET("/metrics", { parseAs: "text" });
      expect(metrics.data).toContain("parking_commands_total");
    },
    getOpenApiDocument: async () => {
      expect((await api.GET("/openapi.json")).data).toHaveProperty("openapi", "3.1.0");
    },
    getProblemType: async () => {
      const full = await api.GET("/problems/{name}", { params: { path: { name: "parking-lot-full" } } });
      expect(full.data?.status).toBe(409);
    },
  };

  it("calls every operation of the document, in a user's order", async () => {
    for (const [operationId, call] of Object.entries(calls)) {
      await call().catch((error: unknown) => {
        throw new Error(`${operationId}: ${String(error)}`, { cause: error });
      });
    }
  });

  it("OPTIONS and a method a path lacks both name every method of the path", async () => {
    const options = await fetch(`${service.url}/parking-lots`, { method: "OPTIONS" });
    expect(options.headers.get("allow")).toBe("POST, GET");
    const put = await fetch(`${service.url}/parking-lots`, { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("POST, GET");
  });
});
