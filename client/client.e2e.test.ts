import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningService } from "../app/server.js";
import { customerHeaders, operatorHeaders, signInUrl } from "../test-support/auth.js";
import { type PrismProxy, prismConfigured, startPrismProxy } from "../test-support/prism.js";
import { eventually, startTestService, tempDataDir } from "../test-support/service.js";
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
  /** The operator at the desk, a customer on their phone, and someone who has not signed in. */
  let api: ApiClient;
  let customer: ApiClient;
  let anonymous: ApiClient;
  const lotId = "gangnam-1";
  const windowedLotId = "seocho-2";
  let reservationId = "";
  let windowedId = "";
  /** A window tomorrow: too early to check in, and never checked in. */
  let tomorrowId = "";
  /** The webhook endpoint an operator registers (never reachable: only managed here). */
  let endpointId = "";
  /** A two-hour stay starting in a minute: a customer can check in at once. */
  const arrivingNow = (() => {
    const startsAt = Math.ceil(Date.now() / 1000) * 1000 + 60_000;
    return {
      startsAt: new Date(startsAt).toISOString(),
      endsAt: new Date(startsAt + 2 * 3_600_000).toISOString(),
    };
  })();
  /** A window tomorrow, so it is never in the past whatever the time of the run. */
  const tomorrowAt = (hour: number) => {
    const day = new Date(Date.now() + 24 * 3_600_000);
    day.setUTCHours(hour, 0, 0, 0);
    return day.toISOString();
  };

  /** With deploy/prism/check.sh, every call also goes through Stoplight Prism's validation proxy. */
  let prism: PrismProxy | undefined;

  beforeAll(async () => {
    service = await startTestService(data.dir);
    prism = prismConfigured() ? await startPrismProxy(service.url) : undefined;
    const through = prism ? { baseUrl: prism.url, fetch: prism.fetch } : { baseUrl: service.url };
    api = apiClient({ ...through, headers: await operatorHeaders(data.dir) });
    customer = apiClient({ ...through, headers: await customerHeaders(data.dir, "CUST1") });
    anonymous = apiClient(through);
  }, 90_000);
  afterAll(async () => {
    await prism?.stop();
    await service?.shutdown("test done");
    data.remove();
  });

  // The document's webhooks (`webhook.*`) are messages this service sends, not operations to call
  // (projections/webhooks/webhooks.e2e.test.ts receives every one).
  const calls: Record<Exclude<keyof operations, `webhook.${string}`>, () => Promise<void>> = {
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
      const page = await anonymous.GET("/parking-lots", {
        params: { query: { limit: 10, minPosition: "1" } },
      });
      expect(page.data?.items.map((l) => l.parkingLotId)).toEqual([lotId]);
      const unknown = await api.GET("/parking-lots", { params: { query: { sort: "name" } as never } });
      expect(unknown.error?.errors?.[0]?.field).toBe("query.sort");
      // A position no command has answered yet: refused at once, naming the parameter.
      const far = await api.GET("/parking-lots", { params: { query: { minPosition: "99999999" } } });
      expect(far.response.status).toBe(400);
      expect(far.error?.errors?.[0]?.field).toBe("query.minPosition");
    },
    getParkingLot: async () => {
      const lot = await anonymous.GET("/parking-lots/{parkingLotId}", {
        params: { path: { parkingLotId: lotId } },
      });
      expect(lot.data?.capacity).toBe(1);
      const missing = await api.GET("/parking-lots/{parkingLotId}", {
        params: { path: { parkingLotId: "nowhere" } },
      });
      expect(missing.error?.type).toBe("/problems/parking-lot-not-found");
    },
    reserveParking: async () => {
      const body = { carNumber: "10더8612", amount: 5000 };
      const params = { path: { parkingLotId: lotId }, header: { "Idempotency-Key": "reserve-1" } };
      const reserved = await customer.POST("/parking-lots/{parkingLotId}/reservations", { params, body });
      expect(reserved.response.status).toBe(201);
      reservationId = reserved.data?.reservationId ?? "";
      const replay = await customer.POST("/parking-lots/{parkingLotId}/reservations", { params, body });
      expect(replay.response.status).toBe(200);
      expect(replay.response.headers.get("idempotent-replayed")).toBe("true");
      const reused = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params,
        body: { ...body, amount: 6000 },
      });
      expect(reused.response.status).toBe(422);
      const full = await api.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: lotId } },
        body: { ...body, customerId: "CUST2", carNumber: "서울12가3456" },
      });
      expect(full.error?.type).toBe("/problems/parking-lot-full");
      const noLot = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: "nowhere" } },
        body,
      });
      expect(noLot.response.status).toBe(404);
      const someoneElse = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: lotId } },
        body: { ...body, customerId: "CUST2" },
      });
      expect(someoneElse.response.status).toBe(403);
      const signedOut = await anonymous.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: lotId } },
        body,
      });
      expect(signedOut.response.status).toBe(401);
      expect(signedOut.response.headers.get("www-authenticate")).toMatch(/^Bearer /);
      // A lot with an hourly rate prices a window; a window tomorrow on it, to check in and out.
      const lot = {
        parkingLotId: windowedLotId,
        name: "서초구청 주차장",
        capacity: 2,
        hourlyRate: 3000,
        couponRule: { minStayMinutes: 0 },
      };
      expect((await api.POST("/parking-lots", { body: lot })).response.status).toBe(201);
      const windowed = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: windowedLotId } },
        body: { carNumber: "12가3456", ...arrivingNow },
      });
      expect(windowed.response.status).toBe(201);
      expect(windowed.data?.amount).toBe(6000);
      windowedId = windowed.data?.reservationId ?? "";
      const stale = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: windowedLotId } },
        body: { carNumber: "12가3457", startsAt: tomorrowAt(10), endsAt: tomorrowAt(12), amount: 1 },
      });
      expect(stale.error?.type).toBe("/problems/price-changed");
      // A lot that lets a customer hold one active reservation at a time.
      const limited = { parkingLotId: "jamsil-3", name: "잠실 주차장", capacity: 5, maxActivePerCustomer: 1 };
      expect((await api.POST("/parking-lots", { body: limited })).response.status).toBe(201);
      const first = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: "jamsil-3" } },
        body: { carNumber: "12가3460", amount: 1000 },
      });
      expect(first.response.status).toBe(201);
      const second = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: "jamsil-3" } },
        body: { carNumber: "12가3461", amount: 1000 },
      });
      expect(second.error?.type).toBe("/problems/too-many-active-reservations");
    },
    listReservations: async () => {
      const page = await api.GET("/reservations", {
        params: { query: { carNumber: "10더8612", minPosition: "2" } },
      });
      expect(page.data?.items.map((r) => r.reservationId)).toEqual([reservationId]);
      const own = await customer.GET("/reservations", { params: { query: { minPosition: "2" } } });
      expect(own.data?.items.every((r) => r.customerId === "CUST1")).toBe(true);
    },
    getReservation: async () => {
      const one = await api.GET("/reservations/{reservationId}", {
        params: { path: { reservationId }, query: { minPosition: "2" } },
      });
      expect(one.data?.status).toBe("RESERVED");
    },
    getParkingLotHistory: async () => {
      const first = await api.GET("/parking-lots/{parkingLotId}/history", {
        params: { path: { parkingLotId: lotId }, query: { limit: 1 } },
      });
      expect(first.data?.items[0]?.type).toBe("ParkingLotRegistered");
      const rest = await api.GET("/parking-lots/{parkingLotId}/history", {
        params: { path: { parkingLotId: lotId }, query: { cursor: first.data?.nextCursor ?? "0" } },
      });
      expect(rest.data?.items.map((e) => e.type)).toContain("ParkingReserved");
      const refused = await customer.GET("/parking-lots/{parkingLotId}/history", {
        params: { path: { parkingLotId: lotId } },
      });
      expect(refused.response.status).toBe(403);
    },
    getLotMoney: async () => {
      // Payments off (PAYMENTS=none): no payment fact, so no day has money (app/payments.e2e.test.ts has some).
      const path = { parkingLotId: lotId };
      const today = new Date().toISOString().slice(0, 10);
      const money = await api.GET("/parking-lots/{parkingLotId}/money", { params: { path } });
      expect(money.data).toMatchObject({ from: today, days: [], totals: { amounts: [], failedPayments: 0 } });
      const backwards = await api.GET("/parking-lots/{parkingLotId}/money", {
        params: { path, query: { from: "2026-11-02", to: "2026-11-01" } },
      });
      expect(backwards.error?.errors?.[0]?.field).toBe("query.to");
      const tooLong = await api.GET("/parking-lots/{parkingLotId}/money", {
        params: { path, query: { from: "2026-01-01", to: "2026-12-31" } },
      });
      expect(tooLong.error?.errors?.[0]?.field).toBe("query.to");
      const notADay = await api.GET("/parking-lots/{parkingLotId}/money", {
        params: { path, query: { from: "2026-02-30" } },
      });
      expect(notADay.error?.errors?.[0]?.field).toBe("query.from");
      expect(
        (await customer.GET("/parking-lots/{parkingLotId}/money", { params: { path } })).response.status,
      ).toBe(403);
      const nowhere = await api.GET("/parking-lots/{parkingLotId}/money", {
        params: { path: { parkingLotId: "nowhere" } },
      });
      expect(nowhere.response.status).toBe(404);
    },
    getReservationHistory: async () => {
      const own = await customer.GET("/reservations/{reservationId}/history", {
        params: { path: { reservationId } },
      });
      expect(own.data?.items[0]).toMatchObject({ type: "ParkingReserved", reservationId });
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
        body: { reason: "일정 변경" },
      });
      expect(missing.response.status).toBe(404);
      const noLot = await api.DELETE("/parking-lots/{parkingLotId}/reservations/{reservationId}", {
        params: { path: { ...path, parkingLotId: "nowhere" } },
        body: { reason: "일정 변경" },
      });
      expect(noLot.error?.type).toBe("/problems/parking-lot-not-found");
    },
    checkIn: async () => {
      const path = { parkingLotId: windowedLotId, reservationId: windowedId };
      const checkedIn = await customer.POST(
        "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in",
        { params: { path } },
      );
      expect(checkedIn.data?.status).toBe("CHECKED_IN");
      // Checking in twice changes nothing; a canceled reservation cannot be checked in.
      const again = await customer.POST(
        "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in",
        {
          params: { path },
        },
      );
      expect(again.data?.status).toBe("CHECKED_IN");
      const canceled = { parkingLotId: lotId, reservationId };
      const refused = await customer.POST(
        "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in",
        {
          params: { path: canceled },
        },
      );
      expect(refused.response.status).toBe(409);
      const tomorrow = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: windowedLotId } },
        body: { carNumber: "12가3462", startsAt: tomorrowAt(10), endsAt: tomorrowAt(11) },
      });
      expect(tomorrow.response.status).toBe(201);
      tomorrowId = tomorrow.data?.reservationId ?? "";
      const early = await customer.POST(
        "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in",
        {
          params: { path: { parkingLotId: windowedLotId, reservationId: tomorrowId } },
        },
      );
      expect(early.error?.type).toBe("/problems/check-in-too-early");
      const noLot = await customer.POST(
        "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-in",
        {
          params: { path: { parkingLotId: "nowhere", reservationId: tomorrowId } },
        },
      );
      expect(noLot.error?.type).toBe("/problems/parking-lot-not-found");
    },
    recordGateEvent: async () => {
      const body = {
        eventId: "client-cam-1",
        gateId: "north",
        direction: "entry" as const,
        plate: "99허9999",
        confidence: 0.95,
        at: new Date().toISOString(),
      };
      const read = await api.POST("/parking-lots/{parkingLotId}/gate-events", {
        params: { path: { parkingLotId: lotId } },
        body,
      });
      // No booking of the plate, and a lot without an hourly rate lets no drive-up in.
      expect(read.data).toMatchObject({ eventId: "client-cam-1", decision: "deny", reason: "NoHourlyRate" });
    },
    listGateReviews: async () => {
      const reviews = await api.GET("/parking-lots/{parkingLotId}/gate-reviews", {
        params: { path: { parkingLotId: lotId }, query: { limit: 5 } },
      });
      // The typed page: what the lot's gates sent to review (the read of this test was denied).
      expect(reviews.data?.items).toEqual([]);
      expect(reviews.data?.nextCursor).toBeNull();
    },
    resolveGateReview: async () => {
      const doubtful = await api.POST("/parking-lots/{parkingLotId}/gate-events", {
        params: { path: { parkingLotId: lotId } },
        body: {
          eventId: "client-cam-2",
          gateId: "north",
          direction: "entry",
          plate: "99허9999",
          confidence: 0.2,
          at: new Date().toISOString(),
        },
      });
      expect(doubtful.data?.decision).toBe("review");
      const path = { parkingLotId: lotId, eventId: "client-cam-2" };
      const denied = await api.POST("/parking-lots/{parkingLotId}/gate-reviews/{eventId}/resolve", {
        params: { path },
        body: { action: "deny" },
      });
      expect(denied.data).toEqual({
        eventId: "client-cam-2",
        action: "deny",
        position: expect.stringMatching(/^[0-9]+$/),
      });
      const again = await api.POST("/parking-lots/{parkingLotId}/gate-reviews/{eventId}/resolve", {
        params: { path },
        body: { action: "deny" },
      });
      expect(again.error?.type).toBe("/problems/gate-review-resolved");
    },
    checkOut: async () => {
      const path = { parkingLotId: windowedLotId, reservationId: windowedId };
      const checkedOut = await customer.POST(
        "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-out",
        { params: { path } },
      );
      expect(checkedOut.data?.status).toBe("COMPLETED");
      const notIn = await customer.POST(
        "/parking-lots/{parkingLotId}/reservations/{reservationId}/check-out",
        {
          params: { path: { parkingLotId: windowedLotId, reservationId: tomorrowId } },
        },
      );
      expect(notIn.error?.type).toBe("/problems/not-checked-in");
      // A completed stay can no longer be canceled.
      const late = await customer.DELETE("/parking-lots/{parkingLotId}/reservations/{reservationId}", {
        params: { path },
      });
      expect(late.error?.type).toBe("/problems/reservation-not-active");
    },
    listCustomerCoupons: async () => {
      // Each of CUST1's bookings got a coupon; the stay checked out above kept its own (its lot's
      // couponRule: any stay keeps it), the canceled booking's was revoked.
      const coupons = await eventually(async () => {
        const page = await customer.GET("/customers/{customerId}/coupons", {
          params: { path: { customerId: "CUST1" }, query: { minPosition: "2" } },
        });
        const statusOf = (id: string) => page.data?.items.find((c) => c.reservationId === id)?.status;
        return statusOf(windowedId) === "ISSUED" && statusOf(reservationId) === "REVOKED" ? page : undefined;
      });
      expect(coupons.data?.items.find((c) => c.reservationId === windowedId)?.status).toBe("ISSUED");
      const others = await customer.GET("/customers/{customerId}/coupons", {
        params: { path: { customerId: "CUST2" } },
      });
      expect(others.response.status).toBe(403);
    },
    changeCapacity: async () => {
      const params = { path: { parkingLotId: windowedLotId } };
      const changed = await api.PUT("/parking-lots/{parkingLotId}/capacity", {
        params,
        body: { capacity: 3 },
      });
      expect(changed.data?.capacity).toBe(3);
      // Tomorrow's window holds a spot: no capacity below one.
      const tooLow = await api.PUT("/parking-lots/{parkingLotId}/capacity", {
        params,
        body: { capacity: 0 },
      });
      expect(tooLow.error?.type).toBe("/problems/capacity-too-low");
      const byCustomer = await customer.PUT("/parking-lots/{parkingLotId}/capacity", {
        params,
        body: { capacity: 0 },
      });
      expect(byCustomer.response.status).toBe(403);
    },
    changeRate: async () => {
      // A lot of its own: the other calls' quotes stay at their lot's rate.
      const parkingLotId = "seocho-rate";
      await api.POST("/parking-lots", {
        body: { parkingLotId, name: "서초 요금 주차장", capacity: 2, hourlyRate: 3000 },
      });
      const changed = await api.PUT("/parking-lots/{parkingLotId}/rate", {
        params: { path: { parkingLotId } },
        body: { hourlyRate: 4000 },
      });
      expect(changed.data?.hourlyRate).toBe(4000);
      const byCustomer = await customer.PUT("/parking-lots/{parkingLotId}/rate", {
        params: { path: { parkingLotId } },
        body: { hourlyRate: 1 },
      });
      expect(byCustomer.response.status).toBe(403);
    },
    eraseCustomer: async () => {
      // Another customer than CUST1, whose data the other calls read.
      const path = { customerId: "CUST-CLIENT-ERASED" };
      const erased = await api.POST("/customers/{customerId}/erasure", {
        params: { path },
        body: { reason: "the customer asked (client test)" },
      });
      expect(erased.response.status).toBe(200);
      expect(erased.data?.erasedReservations).toBe(0);
      const notMine = await customer.POST("/customers/{customerId}/erasure", { params: { path } });
      expect(notMine.response.status).toBe(403);
    },
    changeCustomerLimit: async () => {
      const parkingLotId = "seocho-limit";
      await api.POST("/parking-lots", { body: { parkingLotId, name: "서초 한도 주차장", capacity: 2 } });
      const changed = await api.PUT("/parking-lots/{parkingLotId}/customer-limit", {
        params: { path: { parkingLotId } },
        body: { maxActivePerCustomer: 2 },
      });
      expect(changed.data?.maxActivePerCustomer).toBe(2);
      const unknown = await api.PUT("/parking-lots/{parkingLotId}/customer-limit", {
        params: { path: { parkingLotId: "no-such-lot" } },
        body: { maxActivePerCustomer: 2 },
      });
      expect(unknown.error?.type).toBe("/problems/parking-lot-not-found");
    },
    changeGateConfidence: async () => {
      const parkingLotId = "seocho-gate";
      await api.POST("/parking-lots", { body: { parkingLotId, name: "서초 게이트 주차장", capacity: 2 } });
      const changed = await api.PUT("/parking-lots/{parkingLotId}/gate-confidence", {
        params: { path: { parkingLotId } },
        body: { gateConfidenceThreshold: 0.9 },
      });
      expect(changed.data?.gateConfidenceThreshold).toBe(0.9);
    },
    changePlace: async () => {
      const parkingLotId = "seocho-place";
      await api.POST("/parking-lots", { body: { parkingLotId, name: "서초 위치 주차장", capacity: 2 } });
      const place = { location: { latitude: 37.4837, longitude: 127.0324 }, timeZone: "Asia/Seoul" };
      const changed = await api.PUT("/parking-lots/{parkingLotId}/place", {
        params: { path: { parkingLotId } },
        body: place,
      });
      expect(changed.data).toMatchObject(place);
      const badZone = await api.PUT("/parking-lots/{parkingLotId}/place", {
        params: { path: { parkingLotId } },
        body: { ...place, timeZone: "Seoul" },
      });
      expect(badZone.error?.errors?.map((e) => e.field)).toContain("body.timeZone");
    },
    changeCouponRule: async () => {
      const parkingLotId = "seocho-coupons";
      await api.POST("/parking-lots", { body: { parkingLotId, name: "서초 쿠폰 주차장", capacity: 2 } });
      const couponRule = { minStayMinutes: 10, discount: { percent: 10 } };
      const changed = await api.PUT("/parking-lots/{parkingLotId}/coupon-rule", {
        params: { path: { parkingLotId } },
        body: couponRule,
      });
      expect(changed.data?.couponRule).toEqual(couponRule);
      const byCustomer = await customer.PUT("/parking-lots/{parkingLotId}/coupon-rule", {
        params: { path: { parkingLotId } },
        body: couponRule,
      });
      expect(byCustomer.response.status).toBe(403);
    },
    changePaymentTerms: async () => {
      const parkingLotId = "seocho-terms";
      await api.POST("/parking-lots", { body: { parkingLotId, name: "서초 결제 주차장", capacity: 2 } });
      const terms = {
        currency: "KRW" as const,
        deposit: 10000,
        cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
        noShowFee: 5000,
      };
      const changed = await api.PUT("/parking-lots/{parkingLotId}/payment-terms", {
        params: { path: { parkingLotId } },
        body: terms,
      });
      expect(changed.data?.terms).toEqual(terms);
      const badCurrency = await api.PUT("/parking-lots/{parkingLotId}/payment-terms", {
        params: { path: { parkingLotId } },
        // A code Stripe does not take (a test currency) is refused as a malformed one is (issue 71).
        body: { ...terms, currency: "won" as "KRW" },
      });
      expect(badCurrency.response.status).toBe(400);
      const testCurrency = await api.PUT("/parking-lots/{parkingLotId}/payment-terms", {
        params: { path: { parkingLotId } },
        body: { ...terms, currency: "XTS" as "KRW" },
      });
      expect(testCurrency.response.status).toBe(400);
      const byCustomer = await customer.PUT("/parking-lots/{parkingLotId}/payment-terms", {
        params: { path: { parkingLotId } },
        body: terms,
      });
      expect(byCustomer.response.status).toBe(403);
    },
    // Payments are off in this service (PAYMENTS=none): nothing was captured to refund, and the
    // Stripe webhook is not served (payments.e2e.test.ts runs both with PAYMENTS=stripe).
    refundPayment: async () => {
      const path = { parkingLotId: windowedLotId, reservationId: windowedId };
      const body = { amount: 1000, reason: "the gate was stuck (client test)" };
      const refused = await api.POST("/parking-lots/{parkingLotId}/reservations/{reservationId}/refund", {
        params: { path },
        body,
      });
      expect(refused.response.status).toBe(409);
      const byCustomer = await customer.POST(
        "/parking-lots/{parkingLotId}/reservations/{reservationId}/refund",
        {
          params: { path },
          body,
        },
      );
      expect(byCustomer.response.status).toBe(403);
    },
    stripeWebhook: async () => {
      const sent = await anonymous.POST("/payments/webhooks/stripe", {
        params: { header: { "Stripe-Signature": "t=1,v1=00" } },
        body: { id: "evt_client", object: "event", type: "payment_intent.created", data: { object: {} } },
      });
      expect(sent.response.status).toBe(404);
    },
    closeParkingLot: async () => {
      const booked = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: windowedLotId } },
        body: { carNumber: "12가3458", startsAt: tomorrowAt(14), endsAt: tomorrowAt(15) },
      });
      expect(booked.response.status).toBe(201);
      const closure = await api.POST("/parking-lots/{parkingLotId}/closures", {
        params: { path: { parkingLotId: windowedLotId } },
        body: { from: tomorrowAt(13), until: tomorrowAt(16), reason: "도장 공사" },
      });
      expect(closure.data?.canceledReservations).toEqual([booked.data?.reservationId]);
      // Location is where the closure is read: its lot's `closures`, once the view has its position.
      const location = closure.response.headers.get("location") ?? "";
      const closed = await fetch(`${service.url}${location}?minPosition=${closure.data?.position}`);
      expect(closed.status, location).toBe(200);
      const lot = (await closed.json()) as { closures?: { closureId: string }[] };
      expect(lot.closures?.map((c) => c.closureId)).toContain(closure.data?.closureId);
      const refused = await customer.POST("/parking-lots/{parkingLotId}/reservations", {
        params: { path: { parkingLotId: windowedLotId } },
        body: { carNumber: "12가3459", startsAt: tomorrowAt(14), endsAt: tomorrowAt(15) },
      });
      expect(refused.error?.type).toBe("/problems/parking-lot-closed");
    },
    getAvailability: async () => {
      const path = { parkingLotId: windowedLotId };
      const open = await anonymous.GET("/parking-lots/{parkingLotId}/availability", {
        params: { path, query: { from: tomorrowAt(17), until: tomorrowAt(18) } },
      });
      expect(open.data).toMatchObject({ availableSpots: 3, amount: 3000 });
      const closed = await anonymous.GET("/parking-lots/{parkingLotId}/availability", {
        params: { path, query: { from: tomorrowAt(13), until: tomorrowAt(14) } },
      });
      // A booking of that window would be refused for the closure: the quote is too, the same way.
      expect(closed.response.status).toBe(409);
      expect(closed.error?.type).toBe("/problems/parking-lot-closed");
      const backwards = await anonymous.GET("/parking-lots/{parkingLotId}/availability", {
        params: { path, query: { from: tomorrowAt(14), until: tomorrowAt(13) } },
      });
      expect(backwards.error?.errors?.[0]?.field).toBe("query.until");
      const nowhere = await anonymous.GET("/parking-lots/{parkingLotId}/availability", {
        params: { path: { parkingLotId: "nowhere" }, query: { from: tomorrowAt(17), until: tomorrowAt(18) } },
      });
      expect(nowhere.response.status).toBe(404);
    },
    getTimeline: async () => {
      const path = { parkingLotId: windowedLotId };
      const day = await anonymous.GET("/parking-lots/{parkingLotId}/timeline", {
        params: { path, query: { from: tomorrowAt(12), until: tomorrowAt(17), step: 60 } },
      });
      // An hour a step; the closure from 13:00 to 16:00 shades three of them.
      expect(day.data?.slots.map((s) => s.closed)).toEqual([false, true, true, true, false]);
      expect(day.data?.capacity).toBe(3);
      const backwards = await anonymous.GET("/parking-lots/{parkingLotId}/timeline", {
        params: { path, query: { from: tomorrowAt(14), until: tomorrowAt(13) } },
      });
      expect(backwards.error?.errors?.[0]?.field).toBe("query.until");
      const nowhere = await anonymous.GET("/parking-lots/{parkingLotId}/timeline", {
        params: { path: { parkingLotId: "nowhere" } },
      });
      expect(nowhere.response.status).toBe(404);
    },
    getControlCenter: async () => {
      const view = await api.GET("/control-center", {
        params: { query: { limit: 1, minPosition: "3" } },
        headers: { accept: "application/json" },
      });
      const json = view.data as Exclude<typeof view.data, string | undefined>;
      expect(json.parkingLots.map((l) => l.parkingLotId)).toEqual([lotId]);
      expect(json.parkingLotsNextCursor).not.toBeNull();
      const refused = await customer.GET("/control-center", { headers: { accept: "application/json" } });
      expect(refused.response.status).toBe(403);
      const unknown = await api.GET("/control-center", {
        params: { query: { foo: "1" } as never },
        headers: { accept: "application/json" },
      });
      expect((unknown.error as { errors?: { field: string }[] }).errors?.[0]?.field).toBe("query.foo");
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
      const links = await anonymous.GET("/", { headers: { accept: "application/json" } });
      expect(links.data).toHaveProperty("links");
    },
    getFavicon: async () => {
      const icon = await anonymous.GET("/favicon.ico", { parseAs: "text" });
      expect(icon.response.status).toBe(200);
      expect(icon.response.headers.get("content-type")).toContain("image/svg+xml");
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
    getDevIssuerDiscovery: async () => {
      const discovery = await anonymous.GET("/.well-known/openid-configuration");
      expect(discovery.data?.jwks_uri).toMatch(/\/\.well-known\/jwks\.json$/);
    },
    getDevIssuerKeys: async () => {
      const keys = await anonymous.GET("/.well-known/jwks.json");
      expect(keys.data?.keys.length).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(keys.data)).not.toMatch(/"d":/);
    },
    signIn: async () => {
      const link = new URL(await signInUrl(data.dir, service.url));
      const signedIn = await anonymous.GET("/sign-in", {
        params: { query: { token: link.searchParams.get("token") ?? "" } },
        parseAs: "text",
      });
      expect(signedIn.response.status).toBe(200);
      expect(signedIn.response.headers.get("set-cookie")).toMatch(/HttpOnly/i);
      const reused = await anonymous.GET("/sign-in", {
        params: { query: { token: link.searchParams.get("token") ?? "" } },
      });
      expect(reused.response.status).toBe(401);
    },
    startSession: async () => {
      const sameSite = { "sec-fetch-site": "same-origin" };
      const started = await api.POST("/sign-in/session", { headers: sameSite });
      expect(started.response.status).toBe(204);
      expect(started.response.headers.get("set-cookie")).toMatch(
        /parking_session=.*HttpOnly.*SameSite=Strict/i,
      );
      const crossSite = await api.POST("/sign-in/session", { headers: { "sec-fetch-site": "cross-site" } });
      expect(crossSite.response.status).toBe(403);
      const withoutToken = await anonymous.POST("/sign-in/session", { headers: sameSite });
      expect(withoutToken.response.status).toBe(401);
    },
    signOut: async () => {
      const signedOut = await anonymous.POST("/sign-out", {
        headers: { origin: service.url, "sec-fetch-site": "same-origin" },
        parseAs: "text",
      });
      expect(signedOut.response.status).toBe(200);
    },
    revokeSessions: async () => {
      const revoked = await api.POST("/sessions/revoke", { body: { sub: "nobody-signed-in" } });
      expect(revoked.data).toEqual({ sub: "nobody-signed-in", revoked: 0 });
    },
    createWebhookEndpoint: async () => {
      const created = await api.POST("/webhook-endpoints", {
        body: {
          url: "https://example.com/hooks",
          eventTypes: ["reservation.canceled"],
          description: "portal",
        },
      });
      expect(created.response.status).toBe(201);
      expect(created.data?.secret).toMatch(/^whsec_/);
      endpointId = created.data?.id ?? "";
      const hostile = await api.POST("/webhook-endpoints", {
        body: { url: "http://169.254.169.254/latest", eventTypes: ["reservation.canceled"] },
      });
      expect(hostile.error?.errors?.[0]?.field).toBe("body.url");
      // Loopback and site-local in the IPv6 spellings a string check misses: each a 400 naming the url.
      for (const host of [
        "64:ff9b::127.0.0.1",
        "::127.0.0.1",
        "::ffff:0:127.0.0.1",
        "2002:7f00:1::1",
        "fec0::1",
      ]) {
        const spelled = await api.POST("/webhook-endpoints", {
          body: { url: `https://[${host}]/hooks`, eventTypes: ["reservation.canceled"] },
        });
        expect(spelled.response.status, host).toBe(400);
        expect(spelled.error?.errors, host).toEqual([
          { field: "body.url", message: expect.stringMatching(/special-purpose address/) },
        ]);
      }
      const byCustomer = await customer.POST("/webhook-endpoints", {
        body: { url: "https://example.com/hooks", eventTypes: ["reservation.canceled"] },
      });
      expect(byCustomer.response.status).toBe(403);
    },
    listWebhookEndpoints: async () => {
      const list = await api.GET("/webhook-endpoints");
      expect(list.data?.items.map((e) => e.id)).toContain(endpointId);
      expect(JSON.stringify(list.data)).not.toContain("whsec_");
      expect((await anonymous.GET("/webhook-endpoints")).response.status).toBe(401);
    },
    getWebhookEndpoint: async () => {
      const one = await api.GET("/webhook-endpoints/{endpointId}", { params: { path: { endpointId } } });
      expect(one.data?.status).toBe("enabled");
      const missing = await api.GET("/webhook-endpoints/{endpointId}", {
        params: { path: { endpointId: "we_missing" } },
      });
      expect(missing.error?.type).toBe("/problems/webhook-endpoint-not-found");
    },
    rotateWebhookSecret: async () => {
      const rotated = await api.POST("/webhook-endpoints/{endpointId}/rotate-secret", {
        params: { path: { endpointId } },
      });
      expect(rotated.data?.secret).toMatch(/^whsec_/);
    },
    listWebhookDeliveries: async () => {
      const page = await api.GET("/webhook-endpoints/{endpointId}/deliveries", {
        params: { path: { endpointId }, query: { limit: 5 } },
      });
      expect(page.response.status).toBe(200);
      expect(Array.isArray(page.data?.items)).toBe(true);
    },
    replayWebhooks: async () => {
      const replay = await api.POST("/webhook-endpoints/{endpointId}/replay", {
        params: { path: { endpointId } },
        body: { fromPosition: "1" },
      });
      expect(replay.response.status).toBe(202);
      expect(replay.data?.enqueued).toBeGreaterThanOrEqual(1);
    },
    deleteWebhookEndpoint: async () => {
      const deleted = await api.DELETE("/webhook-endpoints/{endpointId}", {
        params: { path: { endpointId } },
      });
      expect(deleted.response.status).toBe(204);
      const again = await api.DELETE("/webhook-endpoints/{endpointId}", { params: { path: { endpointId } } });
      expect(again.response.status).toBe(404);
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
  }, 120_000);

  it.runIf(prismConfigured())("Prism's validation proxy finds no answer at odds with the document", () => {
    console.info(
      `Prism with --errors refused ${prism?.refusedAsInvalid.length} requests as invalid per the document (the refusal cases); each went through Prism without --errors, which checked the service's answer:\n  ${prism?.refusedAsInvalid.join("\n  ")}`,
    );
    // Error answers went through Prism too, those to requests it refuses itself with --errors
    // (400, 401, 413, 415) as well as the others.
    const statuses = new Set(prism?.checked.map((exchange) => exchange.split(" → ")[1]));
    for (const status of ["400", "401", "403", "404", "409", "413", "415", "422"])
      expect(statuses, [...statuses].join()).toContain(status);
    expect(prism?.violations).toEqual([]);
  });

  it("OPTIONS and a method a path lacks both name every method of the path", async () => {
    const headers = await operatorHeaders(data.dir);
    const options = await fetch(`${service.url}/parking-lots`, { method: "OPTIONS", headers });
    expect(options.headers.get("allow")).toBe("POST, GET");
    const put = await fetch(`${service.url}/parking-lots`, { method: "PUT", headers });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("POST, GET");
  });
});
