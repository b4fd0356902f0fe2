import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import {
  batchSpans,
  endSpan,
  formatTraceparent,
  linkedSpan,
  parseTraceparent,
  recorded,
  startSpan,
  startTracing,
  traceparentFor,
  tracingOn,
  validTraceparent,
} from "./tracing.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

describe("W3C traceparent", () => {
  it("reads a well-formed header and writes it back", () => {
    const parsed = parseTraceparent(`00-${TRACE}-${SPAN}-01`);
    expect(parsed).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: 1, isRemote: true });
    expect(formatTraceparent(parsed as NonNullable<typeof parsed>)).toBe(`00-${TRACE}-${SPAN}-01`);
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.traceFlags).toBe(0);
  });

  it.each([
    ["absent", undefined],
    ["not a string", ["a", "b"]],
    ["another version", `01-${TRACE}-${SPAN}-01`],
    ["upper case", `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${SPAN}-01`],
    ["an all-zero span id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["too long", `00-${TRACE}-${SPAN}-01-extra`],
    ["garbage", "\u0000$gt;drop"],
  ])("ignores one that is %s", (_what, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
    expect(validTraceparent(header)).toBeUndefined();
  });

  it("carries a header as it came when it is in the form sent on, and clears the flags but sampled", () => {
    const header = `00-${TRACE}-${SPAN}-01`;
    expect(validTraceparent(header)).toBe(header);
    expect(validTraceparent(`00-${TRACE}-${SPAN}-03`)).toBe(header);
    expect(validTraceparent(`00-${TRACE}-${SPAN}-fe`)).toBe(`00-${TRACE}-${SPAN}-00`);
    expect(validTraceparent(`00-${TRACE}-${SPAN}-0g`)).toBeUndefined();
  });

  it("makes no span while tracing is off", () => {
    expect(tracingOn()).toBe(false);
    expect(startSpan("anything", `00-${TRACE}-${SPAN}-01`)).toBeUndefined();
    // One shared no-op for every batch: nothing made per command.
    const a = batchSpans("decide", [`00-${TRACE}-${SPAN}-01`], {});
    expect(batchSpans("append", [], {})).toBe(a);
  });
});

describe("sampling (OTEL_TRACES_SAMPLER_ARG)", () => {
  it("records none of the traces it starts at ratio 0, yet keeps a caller's sampled trace", async () => {
    const exporter = new InMemorySpanExporter();
    const handle = await startTracing({ exporter, sampleRatio: 0 });
    try {
      for (let i = 0; i < 20; i++) endSpan(startSpan("started here", undefined));
      endSpan(startSpan("the caller's", `00-${TRACE}-${SPAN}-01`));
      endSpan(startSpan("the caller's, not sampled", `00-${TRACE}-${SPAN}-00`));
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["the caller's"]);
      expect(recorded(`00-${TRACE}-${SPAN}-01`)).toBe(true);
      expect(recorded(`00-${TRACE}-${SPAN}-00`)).toBe(false);
      expect(recorded(undefined)).toBe(false);
      // Under a trace not sampled no span is started at all (not even a non-recording one).
      expect(startSpan("under it", `00-${TRACE}-${SPAN}-00`)).toBeUndefined();
      // Nor for a trace started here that the ratio leaves out (no ids made, no traceparent carried).
      const root = startSpan("started here, not sampled", undefined);
      expect(root).toBeUndefined();
      expect(startSpan("its child", traceparentFor(root, undefined))).toBeUndefined();
      endSpan(root);
    } finally {
      await handle?.shutdown();
    }
  });

  it("records about the ratio's share of the traces started here", async () => {
    const exporter = new InMemorySpanExporter();
    const handle = await startTracing({ exporter, sampleRatio: 0.5 });
    try {
      for (let i = 0; i < 400; i++) endSpan(startSpan("started here", undefined));
      // Binomial(400, 0.5): outside 120..280 once in about 10^18 runs.
      expect(exporter.getFinishedSpans().length).toBeGreaterThan(120);
      expect(exporter.getFinishedSpans().length).toBeLessThan(280);
    } finally {
      await handle?.shutdown();
    }
  });

  it("records every trace at ratio 1 (the default)", async () => {
    const exporter = new InMemorySpanExporter();
    const handle = await startTracing({ exporter });
    try {
      for (let i = 0; i < 5; i++) endSpan(startSpan("started here", undefined));
      expect(exporter.getFinishedSpans()).toHaveLength(5);
    } finally {
      await handle?.shutdown();
    }
  });
});

describe("spans under a carried traceparent", () => {
  it("continue the trace it names, and start a new one under a string not in the carried form", async () => {
    const exporter = new InMemorySpanExporter();
    const handle = await startTracing({ exporter });
    try {
      endSpan(startSpan("under a carried one", `00-${TRACE}-${SPAN}-01`));
      endSpan(startSpan("under a cut one", `00-${TRACE}-${SPAN}`));
      endSpan(startSpan("under one with another layout", `00_${TRACE}_${SPAN}_01`));
      endSpan(linkedSpan("linked to a cut one only", [`00-${TRACE}-${SPAN}`]));
      const [under, ...roots] = exporter.getFinishedSpans();
      expect(under?.spanContext().traceId).toBe(TRACE);
      expect(under?.parentSpanContext).toMatchObject({ traceId: TRACE, spanId: SPAN, traceFlags: 1 });
      // A string that is not a traceparent names no parent: a new trace (as a malformed header does).
      expect(roots).toHaveLength(2);
      for (const root of roots) {
        expect(root.parentSpanContext).toBeUndefined();
        expect(root.spanContext().traceId).not.toBe(TRACE);
      }
    } finally {
      await handle?.shutdown();
    }
  });
});

describe("a span for work done for several traces (linkedSpan)", () => {
  it("lives in the first sampled trace and links to every sampled one, once", async () => {
    const exporter = new InMemorySpanExporter();
    const handle = await startTracing({ exporter });
    try {
      const other = "7bf92f3577b34da6a3ce929d0e0e4739";
      const unsampledTrace = "3bf92f3577b34da6a3ce929d0e0e4735";
      endSpan(
        linkedSpan("apply batch", [
          `00-${unsampledTrace}-${SPAN}-00`,
          `00-${TRACE}-${SPAN}-01`,
          `00-${other}-${SPAN}-01`,
          `00-${TRACE}-${SPAN}-01`,
        ]),
      );
      expect(linkedSpan("none sampled", [`00-${unsampledTrace}-${SPAN}-00`])).toBeUndefined();
      const [span] = exporter.getFinishedSpans();
      expect(exporter.getFinishedSpans()).toHaveLength(1);
      expect(span?.spanContext().traceId).toBe(TRACE);
      expect(span?.parentSpanContext?.spanId).toBe(SPAN);
      expect(span?.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([
        [TRACE, SPAN],
        [other, SPAN],
      ]);
    } finally {
      await handle?.shutdown();
    }
  });

  it("makes none while tracing is off", () => {
    expect(linkedSpan("apply batch", [`00-${TRACE}-${SPAN}-01`])).toBeUndefined();
    expect(recorded(`00-${TRACE}-${SPAN}-01`)).toBe(false);
  });
});
