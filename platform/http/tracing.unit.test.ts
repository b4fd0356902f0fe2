import { EventEmitter } from "node:events";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Request, Response } from "express";
import { describe, expect, it } from "vitest";
import { startTracing } from "../tracing.js";
import { traceparentOf, traceRequests } from "./tracing.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER = "00f067aa0ba902b7";

/** A request through the middleware: what it carries, and its response (to close). */
function through(headers: Record<string, string>, route?: string) {
  const req = { headers, method: "POST", path: "/parking-lots/lot-1/reservations" } as unknown as Request;
  const res = Object.assign(new EventEmitter(), { statusCode: 201 }) as unknown as Response;
  let nexts = 0;
  traceRequests()(req, res, () => {
    nexts++;
    if (route) Object.assign(req, { route: { path: route } });
  });
  return { carried: traceparentOf(req), nexts, close: () => res.emit("close") };
}

describe("the request's trace (traceRequests)", () => {
  it("with tracing off reads nothing and carries nothing, not even a caller's traceparent", () => {
    const request = through({ traceparent: `00-${TRACE}-${CALLER}-01` });
    expect(request.nexts).toBe(1);
    expect(request.carried).toBeUndefined();
  });

  it("with tracing on continues the caller's trace and names the span by its route when it ends", async () => {
    const exporter = new InMemorySpanExporter();
    const handle = await startTracing({ exporter });
    try {
      const request = through(
        { traceparent: `00-${TRACE}-${CALLER}-01` },
        "/parking-lots/:parkingLotId/reservations",
      );
      expect(request.carried).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
      expect(request.carried).not.toContain(CALLER);
      request.close();
      const [span] = exporter.getFinishedSpans();
      expect(span?.name).toBe("POST /parking-lots/:parkingLotId/reservations");
      expect(span?.parentSpanContext?.spanId).toBe(CALLER);
      expect(span?.attributes["http.response.status_code"]).toBe(201);
      expect(`00-${TRACE}-${span?.spanContext().spanId}-01`).toBe(request.carried);
    } finally {
      await handle?.shutdown();
    }
  });

  it("carries an unsampled caller's traceparent on as it came, and starts a trace for a malformed one", async () => {
    const exporter = new InMemorySpanExporter();
    const handle = await startTracing({ exporter });
    try {
      expect(through({ traceparent: `00-${TRACE}-${CALLER}-00` }).carried).toBe(`00-${TRACE}-${CALLER}-00`);
      const fresh = through({ traceparent: "00-not-a-trace" });
      expect(fresh.carried).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(fresh.carried).not.toContain(TRACE);
      fresh.close();
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([
        "POST /parking-lots/lot-1/reservations",
      ]);
    } finally {
      await handle?.shutdown();
    }
  });
});
