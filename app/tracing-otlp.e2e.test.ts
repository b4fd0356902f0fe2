import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customerHeaders, operatorHeaders } from "../test-support/auth.js";
import { openEventStream } from "../test-support/event-stream.js";
import { type OtlpReceiver, type OtlpSpan, startOtlpReceiver } from "../test-support/otlp.js";
import { call, eventually, startTestService, tempDataDir } from "../test-support/service.js";
import { projectionsAtHead } from "../test-support/spawned-services.js";
import type { RunningService } from "./server.js";

/**
 * Tracing as deployed (issue 22): OTEL_EXPORTER_OTLP_ENDPOINT names a collector, here a tiny OTLP
 * receiver in the test that keeps every POSTed /v1/traces body (OTLP/HTTP, protobuf by default), and the
 * processors run in their worker thread, as a service process runs them. One reservation's spans arrive from both
 * threads under one trace id (with the push of the control center's live update that carried it),
 * each projection's batch span linked to it, and its ack → visible lag is in /metrics.
 */
const TRACE = "6bf92f3577b34da6a3ce929d0e0e4738";

describe("a reservation's trace, exported over OTLP/HTTP", () => {
  const data = tempDataDir("parking-trace-otlp-");
  let receiver: OtlpReceiver | undefined;
  let service: RunningService | undefined;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    service = await startTestService(data.dir, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      PROCESSORS_THREAD: "worker",
    });
    const lot = {
      parkingLotId: "otlp-lot",
      name: "OTLP lot",
      capacity: 3,
      couponRule: { minStayMinutes: 0 },
    };
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
  });
  afterAll(async () => {
    await service?.shutdown("test done");
    await receiver?.close();
    data.remove();
  });

  it("exports the reservation's spans under one trace id, and the lag histogram is in /metrics", async () => {
    const running = service as RunningService;
    // An operator's page listens: the push that first carries the reservation is in its trace.
    const stream = await openEventStream(
      `${running.url}/control-center/events`,
      await operatorHeaders(data.dir),
    );
    const first = await stream.next();
    expect(first?.event).toBe("control-center");
    const booked = await call<{ reservationId: string; position: string }>(
      running.url,
      "POST",
      "/parking-lots/otlp-lot/reservations",
      { carNumber: "10더8612", amount: 5000 },
      { ...(await customerHeaders(data.dir, "CUST1")), traceparent: `00-${TRACE}-20f067aa0ba902b9-01` },
    );
    expect(booked.status).toBe(201);
    const id = booked.body.reservationId;
    // The stay, its check-out in the same trace (the booking's coupon continues the booking's trace).
    const traced = {
      ...(await customerHeaders(data.dir, "CUST1")),
      traceparent: `00-${TRACE}-20f067aa0ba902ba-01`,
    };
    for (const step of ["check-in", "check-out"])
      expect(
        (
          await call(
            running.url,
            "POST",
            `/parking-lots/otlp-lot/reservations/${id}/${step}`,
            undefined,
            traced,
          )
        ).status,
      ).toBe(200);
    await eventually(async () => {
      const seen = await call<{ coupon?: unknown }>(
        running.url,
        "GET",
        `/reservations/${id}?minPosition=${booked.body.position}`,
      );
      return seen.body.coupon ? true : undefined;
    });
    // The coupon came with the booking; the policy's reaction to the check-out is done once every
    // processor is at the head (issue 47).
    await projectionsAtHead(running.url);
    // A view showing the reservation has been pushed.
    for (;;) {
      const event = await stream.next();
      if (!event) throw new Error("the stream ended");
      const view = JSON.parse(event.data) as {
        parkingLots: { parkingLotId: string; totalReservations: number }[];
      };
      if (view.parkingLots.some((l) => l.parkingLotId === "otlp-lot" && l.totalReservations === 1)) break;
    }
    await stream.close();
    const metrics = await fetch(`${running.url}/metrics`, { headers: await operatorHeaders(data.dir) });
    const text = await metrics.text();
    expect(text).toMatch(/parking_reservation_visible_lag_seconds_count [1-9]/);
    expect(text).toContain('parking_reservation_visible_lag_seconds_bucket{le="0.005"}');

    // Both threads flush what they hold on shutdown.
    await running.shutdown("flush the spans");
    service = undefined;
    const { bodies, contentTypes } = receiver as OtlpReceiver;
    const spans = (receiver as OtlpReceiver).spans();
    // A projection's batch has one span, linked to the trace of each event it applied.
    const linksOurs = (s: OtlpSpan) => (s.links ?? []).some((l) => l.traceId === TRACE);
    const ours = spans.filter((s) => s.traceId === TRACE || linksOurs(s));
    const applies = ours.filter((s) => s.name.startsWith("apply "));
    expect(applies.length).toBeGreaterThanOrEqual(4);
    for (const apply of applies) expect(linksOurs(apply), apply.name).toBe(true);
    expect(new Set(ours.map((s) => s.name))).toEqual(
      new Set([
        "POST /parking-lots/:parkingLotId/reservations",
        "POST /parking-lots/:parkingLotId/reservations/:reservationId/check-in",
        "POST /parking-lots/:parkingLotId/reservations/:reservationId/check-out",
        "decide",
        "append",
        "apply parking-lots",
        "apply reservations",
        "apply control-center",
        "apply customer-coupons",
        "apply reservation-events",
        // Issue 69: a check-out with payments off records what the gate collects, in the lot's takings.
        "apply lot-money",
        "coupon-policy ParkingReserved",
        // Issue 71: the check-in says from when the stay earns its coupon; the policy records it.
        "coupon-policy ReservationCheckedIn",
        "coupon-policy ReservationCheckedOut",
        "reservation visible",
        "live-update push",
      ]),
    );
    expect([...contentTypes]).toEqual(["application/x-protobuf"]);
    // Both threads send through one export thread: each thread's spans keep their own service.
    const serviceOf = (name: string) =>
      bodies
        .flatMap((b) => b.resourceSpans ?? [])
        .find((r) => (r.scopeSpans ?? []).some((s) => (s.spans ?? []).some((span) => span.name === name)))
        ?.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue;
    expect(serviceOf("decide")).toBe("parking-all");
    expect(serviceOf("apply reservations")).toBe("parking-projector");
  });
});
