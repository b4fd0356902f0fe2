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
 * trace of each event it applied), the coupon policy's reaction (whose coupon event carries the
 * trace on to the projections) and the reservation becoming visible.
 */
const TRACE = "5bf92f3577b34da6a3ce929d0e0e4737";
const CALLER_SPAN = "10f067aa0ba902b8";

describe("a reservation's trace, in memory", () => {
  const data = tempDataDir("parking-trace-memory-");
  const exporter = new InMemorySpanExporter();
  let tracing: TracingHandle | undefined;
  let service: RunningService;

  beforeAll(async () => {
    tracing = await startTracing({ exporter });
    service = await startTestService(data.dir, { PROCESSORS_THREAD: "main" });
    const lot = { parkingLotId: "trace-lot", name: "Trace lot", capacity: 3 };
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
    const names = (spans: readonly ReadableSpan[]) => spans.map((s) => s.name).sort();
    // A projection applies a batch of events under one span, linked to each event's trace: the
    // trace's spans and the spans linked to it.
    const linkTo = (span: ReadableSpan, spanId: string | undefined) =>
      span.links.some((l) => l.context.traceId === TRACE && (!spanId || l.context.spanId === spanId));
    const spans = await eventually(async () => {
      const ours = exporter
        .getFinishedSpans()
        .filter((s) => s.spanContext().traceId === TRACE || linkTo(s, undefined));
      const done = names(ours).filter((n) => n === "apply reservations").length >= 2; // booking, then coupon
      return done && names(ours).includes("reservation visible") ? ours : undefined;
    });
    expect(new Set(names(spans))).toEqual(
      new Set([
        "POST /parking-lots/:parkingLotId/reservations",
        "decide",
        "append",
        "apply parking-lots",
        "apply reservations",
        "apply control-center",
        "apply customer-coupons",
        "coupon-policy ParkingReserved",
        "reservation visible",
      ]),
    );
    const server = spans.find((s) => s.name.startsWith("POST"));
    expect(server?.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    const serverId = server?.spanContext().spanId;
    for (const name of ["decide", "append", "coupon-policy ParkingReserved"]) {
      expect(spans.find((s) => s.name === name)?.parentSpanContext?.spanId, name).toBe(serverId);
    }
    // The booking's projections: each one's batch span links to the request's span.
    for (const name of ["apply parking-lots", "apply reservations", "apply control-center"]) {
      expect(
        spans.some((s) => s.name === name && linkTo(s, serverId)),
        name,
      ).toBe(true);
    }
    // The coupon's event continues the trace under the coupon policy's span.
    const reaction = spans.find((s) => s.name === "coupon-policy ParkingReserved")?.spanContext().spanId;
    expect(spans.some((s) => s.name === "apply customer-coupons" && linkTo(s, reaction))).toBe(true);
    expect(spans.some((s) => s.name === "apply reservations" && linkTo(s, reaction))).toBe(true);
  });
});
