import { type AttributeValue, type Span, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { epochMs, hrTime, RecordedSpan, type SpanSink } from "./tracing-span.js";

/**
 * A RecordedSpan stands in for the SDK's span (issue 22): whatever a caller does to it (attributes,
 * events, status, name, exception, end, and anything after the end), an exporter reads what it
 * would read from the SDK's own span under the same calls. Checked against the SDK itself.
 */

type Op =
  | { readonly op: "setAttribute"; readonly key: string; readonly value: AttributeValue }
  | { readonly op: "setAttributes"; readonly attributes: Record<string, AttributeValue> }
  | { readonly op: "addEvent"; readonly name: string; readonly attributes?: Record<string, AttributeValue> }
  | { readonly op: "setStatus"; readonly code: SpanStatusCode; readonly message?: string }
  | { readonly op: "updateName"; readonly name: string }
  | {
      readonly op: "recordException";
      readonly exception: string | Error;
    }
  | { readonly op: "end" };

const key = fc.constantFrom(
  "parking.lot",
  "parking.events",
  "http.response.status_code",
  "a",
  "exception.type",
  // The SDK drops an attribute without a key.
  "",
);
const value: fc.Arbitrary<AttributeValue> = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const attributes = fc.dictionary(key, value, { maxKeys: 3 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("setAttribute" as const), key, value }),
  fc.record({ op: fc.constant("setAttributes" as const), attributes }),
  fc.record(
    { op: fc.constant("addEvent" as const), name: fc.string(), attributes },
    { requiredKeys: ["op", "name"] },
  ),
  fc.record(
    {
      op: fc.constant("setStatus" as const),
      code: fc.constantFrom(SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.ERROR),
      message: fc.string(),
    },
    { requiredKeys: ["op", "code"] },
  ),
  fc.record({ op: fc.constant("updateName" as const), name: fc.string() }),
  fc.record({
    op: fc.constant("recordException" as const),
    exception: fc.oneof(
      fc.string(),
      fc
        .record(
          { name: fc.string(), message: fc.string(), code: fc.integer({ min: 0, max: 600 }) },
          { requiredKeys: ["name", "message"] },
        )
        // One error for both spans: its stack is where it was made.
        .map((fields) => Object.assign(new Error(fields.message), fields)),
    ),
  }),
  fc.constant({ op: "end" as const }),
);

function apply(span: Span, ops: readonly Op[]): void {
  for (const step of ops) {
    switch (step.op) {
      case "setAttribute":
        span.setAttribute(step.key, step.value);
        break;
      case "setAttributes":
        span.setAttributes(step.attributes);
        break;
      case "addEvent":
        span.addEvent(step.name, step.attributes);
        break;
      case "setStatus":
        span.setStatus(
          step.message === undefined ? { code: step.code } : { code: step.code, message: step.message },
        );
        break;
      case "updateName":
        span.updateName(step.name);
        break;
      case "recordException":
        span.recordException(step.exception);
        break;
      case "end":
        span.end();
        break;
    }
  }
  span.end();
}

/** What an exporter reads of a span, times and ids aside. */
const seen = (span: ReadableSpan) => ({
  name: span.name,
  kind: span.kind,
  attributes: span.attributes,
  status: span.status,
  events: span.events.map((e) => ({ name: e.name, attributes: e.attributes ?? {} })),
  links: span.links.length,
  ended: span.ended,
});

describe("a recorded span", () => {
  const exporter = new InMemorySpanExporter();
  const sdk = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer(
    "test",
  );
  const recorded: RecordedSpan[] = [];
  const sink: SpanSink = {
    resource: resourceFromAttributes({ "service.name": "test" }),
    instrumentationScope: { name: "test" },
    ended: (span) => recorded.push(span),
  };

  it("is read by an exporter as the SDK's own span under the same calls", () => {
    fc.assert(
      fc.property(fc.string(), attributes, fc.array(op, { maxLength: 12 }), (name, initial, ops) => {
        exporter.reset();
        recorded.length = 0;
        const theirs = sdk.startSpan(name, { kind: SpanKind.SERVER, attributes: { ...initial } });
        const ours = new RecordedSpan(
          sink,
          name,
          "1".repeat(32),
          "2".repeat(16),
          undefined,
          SpanKind.SERVER,
          Date.now(),
          { ...initial },
          undefined,
        );
        apply(theirs, ops);
        apply(ours, ops);
        const [exported] = exporter.getFinishedSpans();
        expect(recorded).toEqual([ours]);
        expect(seen(ours)).toEqual(seen(exported as ReadableSpan));
        expect(ours.isRecording()).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("drops what the SDK drops from the attributes it starts with", () => {
    const given = { "": "no key", "parking.lot": "a", "parking.none": null as unknown as string };
    const span = new RecordedSpan(
      sink,
      "s",
      "1".repeat(32),
      "2".repeat(16),
      undefined,
      SpanKind.INTERNAL,
      0,
      given,
      undefined,
    );
    expect(span.attributes).toEqual({ "parking.lot": "a" });
  });

  it("keeps the attributes it was started with as they were when one is set", () => {
    const shared = { "parking.lot": "a" };
    const span = new RecordedSpan(
      sink,
      "s",
      "1".repeat(32),
      "2".repeat(16),
      undefined,
      SpanKind.INTERNAL,
      0,
      shared,
      undefined,
    );
    span.setAttribute("parking.events", 2);
    expect(shared).toEqual({ "parking.lot": "a" });
    expect(span.attributes).toEqual({ "parking.lot": "a", "parking.events": 2 });
  });

  it("reads times as the SDK does: epoch ms, performance.now() readings, Dates and HrTimes", () => {
    const now = Date.now();
    expect(epochMs(now)).toBe(now);
    expect(epochMs(new Date(now))).toBe(now);
    expect(epochMs(5)).toBeCloseTo(performance.timeOrigin + 5, 6);
    expect(epochMs([1_700_000_000, 500_000_000])).toBe(1_700_000_000_500);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 4e12, noNaN: true }), (ms) => {
        const [seconds, nanos] = hrTime(ms);
        expect(Number.isInteger(seconds) && Number.isInteger(nanos)).toBe(true);
        expect(nanos >= 0 && nanos < 1e9).toBe(true);
        expect(Math.abs(seconds * 1_000 + nanos / 1e6 - ms)).toBeLessThan(1e-3);
      }),
    );
  });
});
