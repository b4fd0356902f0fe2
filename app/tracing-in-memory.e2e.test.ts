import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTracing, type TracingHandle } from "../platform/tracing.js";
import { customerHeaders } from "../test-support/auth.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * One reservation, one trace (issue 22), with the SDK's in-memory exporter and the processors on
 * the request thread: the request's span continues the caller's traceparent, and under it come the
 * decision, the append, each projection's apply (one span per projection's batch, linked to the
 * trace of each event it applied) and the reservation becoming visible; the stay's check-out, sent
 * in the same trace, and the coupon policy's reaction to it (whose coupon event carries the trace
 * on to the projections).
 */
const TRACE = "5bf92f3577b34da6a3ce929d0e0e4737";
const CALLER_SPAN = "10f067aa0ba902b8";
const CHECK_OUT_SPAN = "10f067aa0ba902b9";
const BOOKING = "POST /parking-lots/:parkingLotId/reservations";
const CHECK_OUT = "POST /parking-lots/:parkingLotId/reservations/:reservationId/check-out";

describe("a reservation's trace, in memory", () => {
  const data = tempDataDir("parking-trace-memory-");
  const exporter = new InMemorySpanExporter();
  let tracing: TracingHandle | undefined;
  let service: RunningService;

  beforeAll(async () => {
    tracing = await startTracing({ exporter });
    service = await startTestService(data.dir, { PROCESSORS_THREAD: "main" });
    const lot = {
      parkingLotId: "trace-lot",
      name: "Trace lot",
      capacity: 3,
      couponRule: { minStayMinutes: 0 },
    };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    await tracing?.shutdown();
    data.remove();
  });

  it("holds the request, decision, append, every apply, the coupon policy and the lag, under one trace id", async () => {
    const booked = await call<{ reservationId: string; position: string }>(
      service.url,
      "POST",
      "/parking-lots/trace-lot/reservations",
      { carNumber: "10더8612", amount: 5000 },
      { ...(await customerHeaders(data.dir, "CUST1")), traceparent: `00-${TRACE}-${CALLER_SPAN}-01` },
    );
    expect(booked.status).toBe(201);
    const customer = await customerHeaders(data.dir, "CUST1");
    const stay = `/parking-lots/trace-lot/reservations/${booked.body.reservationId}`;
    expect((await call(service.url, "POST", `${stay}/check-in`, undefined, customer)).status).toBe(200);
    const checkOut = { ...customer, traceparent: `00-${TRACE}-${CHECK_OUT_SPAN}-01` };
    expect((await call(service.url, "POST", `${stay}/check-out`, undefined, checkOut)).status).toBe(200);
    const names = (spans: readonly ReadableSpan[]) => spans.map((s) => s.name).sort();
    // A projection applies a batch of events under one span, linked to each event's trace: the
    // trace's spans and the spans linked to it.
    const linkTo = (span: ReadableSpan, spanId: string | undefined) =>
      span.links.some((l) => l.context.traceId === TRACE && (!spanId || l.context.spanId === spanId));
    const expected = [
      BOOKING,
      CHECK_OUT,
      "decide",
      "append",
      "apply parking-lots",
      "apply reservations",
      "apply control-center",
      "apply customer-coupons",
      "apply reservation-events",
      // Issue 69: a check-out with payments off records what the gate collects, in the lot's takings.
      "apply lot-money",
      // The coupon comes with the booking; the policy also reacts to the check-out (issue 47).
      "coupon-policy ParkingReserved",
      "coupon-policy ReservationCheckedOut",
      "reservation visible",
    ];
    // Every span awaited (the processors apply on their own schedule: one missing under load is late, not absent).
    const spans = await eventually(async () => {
      const ours = exporter
        .getFinishedSpans()
        .filter((s) => s.spanContext().traceId === TRACE || linkTo(s, undefined));
      const done = names(ours).filter((n) => n === "apply reservations").length >= 2; // booking, then coupon
      return done && expected.every((n) => names(ours).includes(n)) ? ours : undefined;
    });
    expect(new Set(names(spans))).toEqual(new Set(expected));
    const server = spans.find((s) => s.name === BOOKING);
    expect(server?.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    const serverId = server?.spanContext().spanId;
    const leaving = spans.find((s) => s.name === CHECK_OUT);
    expect(leaving?.parentSpanContext?.spanId).toBe(CHECK_OUT_SPAN);
    const leavingId = leaving?.spanContext().spanId;
    for (const name of ["decide", "append"]) {
      const parents = spans.filter((s) => s.name === name).map((s) => s.parentSpanContext?.spanId);
      expect(parents.sort(), name).toEqual([serverId, leavingId].sort());
    }
    // The coupon is the booking's consequence (issue 47): the policy's reaction is under the
    // booking's span, and its reaction to the check-out under the check-out's.
    const reactionSpan = spans.find((s) => s.name === "coupon-policy ParkingReserved");
    expect(reactionSpan?.parentSpanContext?.spanId).toBe(serverId);
    const checkOutReaction = spans.find((s) => s.name === "coupon-policy ReservationCheckedOut");
    expect(checkOutReaction?.parentSpanContext?.spanId).toBe(leavingId);
    // The booking's projections: each one's batch span links to the request's span.
    for (const name of ["apply parking-lots", "apply reservations", "apply control-center"]) {
      expect(
        spans.some((s) => s.name === name && linkTo(s, serverId)),
        name,
      ).toBe(true);
    }
    // The coupon's event continues the trace under the coupon policy's span.
    const reaction = reactionSpan?.spanContext().spanId;
    expect(spans.some((s) => s.name === "apply customer-coupons" && linkTo(s, reaction))).toBe(true);
    expect(spans.some((s) => s.name === "apply reservations" && linkTo(s, reaction))).toBe(true);
  });
});
