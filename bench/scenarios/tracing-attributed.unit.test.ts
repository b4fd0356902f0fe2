import { describe, expect, it } from "vitest";
import { shares, tracingRole } from "./tracing-attributed.js";

const at = (path: string, functionName = "f") => ({ functionName, url: `file:///srv/parking/${path}` });

describe("what the attribution calls tracing", () => {
  it("marks tracing's own files and OpenTelemetry's packages, and owns the call sites' tracing functions", () => {
    expect(tracingRole(at("platform/tracing.ts"))).toBe("marked");
    expect(tracingRole(at("platform/tracing-otlp-protobuf.ts"))).toBe("marked");
    expect(tracingRole(at("platform/http/tracing.ts", "traceRequest"))).toBe("marked");
    expect(tracingRole(at("node_modules/@opentelemetry/api/build/src/index.js"))).toBe("marked");
    expect(tracingRole(at("write-side/decider-runner.ts", "spansOf"))).toBe("owner");
    expect(tracingRole(at("read-api/live-updates.ts", "tracePush"))).toBe("owner");
    // The event schema's check of the traceparent tracing carries, as V8 names the expression.
    expect(tracingRole({ functionName: "RegExp: ^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$", url: "" })).toBe(
      "owner",
    );
  });

  it("leaves the application (a same-named function elsewhere too) and charges the runtime to its caller", () => {
    expect(tracingRole(at("write-side/decider-runner.ts", "handleBatch"))).toBe("application");
    expect(tracingRole(at("read-api/other.ts", "spansOf"))).toBe("application");
    expect(tracingRole(at("node_modules/express/lib/router/index.js", "next"))).toBe("application");
    expect(tracingRole({ functionName: "postMessage", url: "" })).toBe("runtime");
    expect(tracingRole({ functionName: "emit", url: "node:events" })).toBe("runtime");
    expect(tracingRole({ functionName: "RegExp: ^[A-Za-z0-9][A-Za-z0-9_.:-]*$", url: "" })).toBe("runtime");
  });
});

describe("tracing's share of the busy time", () => {
  it("leaves idle time out and apportions the collector's time as the rest of the busy time is", () => {
    // Busy 1,000 µs: 100 collecting, 90 of the other 900 tracing (10%), so 10 of the collector's.
    const share = shares({ idleUs: 5_000, gcUs: 100, markedUs: 90, otherUs: 810 });
    expect(share.raw).toBeCloseTo(0.09, 10);
    expect(share.apportioned).toBeCloseTo(0.1, 10);
    expect(share.gc).toBeCloseTo(0.1, 10);
    expect(shares({ idleUs: 10, gcUs: 0, markedUs: 0, otherUs: 0 })).toEqual({
      raw: 0,
      apportioned: 0,
      gc: 0,
    });
  });
});
