import { type Attributes, type AttributeValue, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeTraceRequest, withoutDefaults } from "../test-support/otlp.js";
import {
  asExported,
  JsonTraceSerializer,
  ProtobufTraceSerializer,
  someSpans,
} from "../test-support/spans.js";
import { endSpan, linkedSpan, SpanKind, startSpan, startTracing } from "./tracing.js";
import { protobufEncoding } from "./tracing-otlp-protobuf.js";

/**
 * OTLP/protobuf written where a span ends (issue 22) is read, field for field, as what the SDK's
 * ProtobufTraceSerializer writes for the same spans in one request; fields that hold their default
 * are left out by ours and written by the SDK's, so both are read without them. The decoder
 * (test-support/otlp.ts) is itself held against the SDK's JSON serializer for the same spans.
 */

const RESOURCE = { "service.name": "parking-all", "telemetry.sdk.language": "nodejs" };
const SCOPE = "parking-reservations";

/** The spans framed as one request by the export processor's encoding, in a chunk of `bytes`. */
function ours(spans: readonly ReadableSpan[], bytes = 1 << 20): Uint8Array {
  const encoding = protobufEncoding(RESOURCE, SCOPE);
  const chunk = Buffer.alloc(bytes);
  let end = encoding.head;
  for (const [i, span] of spans.entries()) {
    end = encoding.write(span, chunk, end, i, chunk.length);
    if (end < 0) throw new Error("the chunk is too small for these spans");
  }
  return encoding.frame(chunk, end);
}

const sdkProtobuf = (spans: readonly ReadableSpan[]) =>
  decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(asExported(spans, RESOURCE, SCOPE)));
const sdkJson = (spans: readonly ReadableSpan[]) =>
  JSON.parse(
    new TextDecoder().decode(JsonTraceSerializer.serializeRequest(asExported(spans, RESOURCE, SCOPE))),
  );

/** A span that is not a RecordedSpan (its times read as HrTime), with what `span` holds. */
const plain = (span: ReadableSpan): ReadableSpan => ({
  name: span.name,
  kind: span.kind,
  spanContext: () => span.spanContext(),
  parentSpanContext: span.parentSpanContext,
  startTime: span.startTime,
  endTime: span.endTime,
  status: span.status,
  attributes: span.attributes,
  links: span.links,
  events: span.events,
  duration: span.duration,
  ended: span.ended,
  resource: span.resource,
  instrumentationScope: span.instrumentationScope,
  droppedAttributesCount: span.droppedAttributesCount,
  droppedEventsCount: span.droppedEventsCount,
  droppedLinksCount: span.droppedLinksCount,
});

const spansOf = (request: Record<string, unknown>) =>
  (request as { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] }).resourceSpans[0]
    ?.scopeSpans[0]?.spans ?? [];

describe("OTLP/protobuf written where a span ends", () => {
  it("is what the SDK's protobuf serializer writes for the service's spans, edge values included", async () => {
    const spans = await someSpans();
    expect(spans).toHaveLength(4);
    const all = [...spans, ...spans.map(plain)];
    const written = decodeTraceRequest(ours(all));
    expect(withoutDefaults(written)).toEqual(withoutDefaults(sdkProtobuf(all)));
    // Not two empty readings: the spans are there, with their names, ids, attributes and status.
    const read = spansOf(written) as unknown as {
      name: string;
      traceId: string;
      status?: { code: number };
      attributes?: unknown[];
    }[];
    expect(read.map((s) => s.name)).toEqual(all.map((s) => s.name));
    expect(read[0]?.traceId).toBe(spans[0]?.spanContext().traceId);
    expect(read.find((s) => s.name === "decide")?.attributes).toHaveLength(7);
    expect(read.find((s) => s.name === "decide")?.status?.code).toBe(SpanStatusCode.ERROR);
  });

  it("reads as the SDK's for any attributes, names, events, links and status (property)", async () => {
    // Values OTLP/JSON and protobuf hold alike (an integer beyond 2^53 is a double in protobuf).
    const scalar: fc.Arbitrary<AttributeValue> = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 200 }),
      fc.string({ maxLength: 20 }),
      // ASCII around a length of 128 (where a length takes a second byte).
      fc.string({ minLength: 100, maxLength: 300 }),
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: -1_000, max: 100_000 }),
      fc.double({ noNaN: true, min: -1e15, max: 1e15 }),
      fc.boolean(),
    );
    const value: fc.Arbitrary<AttributeValue> = fc.oneof(
      scalar,
      fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.constant(null)), {
        maxLength: 4,
      }) as fc.Arbitrary<AttributeValue>,
      fc.array(fc.integer(), { maxLength: 4 }),
    );
    const attributes: fc.Arbitrary<Attributes> = fc.dictionary(
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
      value,
      { maxKeys: 6 },
    );
    const id = (digits: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${digits}}$`));
    const shape = fc.record({
      name: fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 150 }),
        fc.string({ minLength: 120, maxLength: 140 }),
      ),
      kind: fc.constantFrom(SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.CONSUMER),
      parent: fc.option(fc.tuple(id(32), id(16)), { nil: undefined }),
      attributes,
      events: fc.array(fc.tuple(fc.string({ maxLength: 30 }), attributes), { maxLength: 3 }),
      // Enough links, now and then, for a span longer than 16,383 bytes (a three-byte length).
      links: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 300, max: 700 })),
      error: fc.option(fc.string({ unit: "grapheme", maxLength: 60 }), { nil: undefined }),
      backdateMs: fc.double({ noNaN: true, min: 0, max: 86_400_000 }),
      plain: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(shape, { minLength: 1, maxLength: 4 }), async (shapes) => {
        const exporter = new InMemorySpanExporter();
        const handle = startTracing({ exporter });
        try {
          for (const s of shapes) {
            const parent = s.parent && `00-${s.parent[0]}-${s.parent[1]}-01`;
            const traces = Array.from(
              { length: s.links },
              (_, i) => `00-${i.toString(16).padStart(32, "c")}-${i.toString(16).padStart(16, "d")}-01`,
            );
            const span =
              s.links > 0
                ? linkedSpan(s.name, traces, {
                    attributes: s.attributes,
                    startTime: Date.now() - s.backdateMs,
                  })
                : startSpan(s.name, parent, {
                    kind: s.kind,
                    attributes: s.attributes,
                    startTime: Date.now() - s.backdateMs,
                  });
            for (const [name, eventAttributes] of s.events) span?.addEvent(name, eventAttributes);
            if (s.error !== undefined) span?.setStatus({ code: SpanStatusCode.ERROR, message: s.error });
            endSpan(span);
          }
          const ended = exporter.getFinishedSpans();
          const spans = ended.map((span, i) => (shapes[i]?.plain ? plain(span) : span));
          const written = withoutDefaults(decodeTraceRequest(ours(spans, 4 << 20)));
          expect(written).toEqual(withoutDefaults(sdkProtobuf(spans)));
          expect(written).toEqual(withoutDefaults(sdkJson(spans)));
          expect(spansOf(written as Record<string, unknown>)).toHaveLength(shapes.length);
        } finally {
          await handle?.shutdown();
        }
      }),
      { numRuns: 150 },
    );
  });

  it("says a span does not fit rather than write part of it", async () => {
    const spans = await someSpans();
    const encoding = protobufEncoding(RESOURCE, SCOPE);
    const chunk = Buffer.alloc(encoding.head + 300);
    let end = encoding.head;
    let fitted = 0;
    for (const span of spans) {
      const after = encoding.write(span, chunk, end, fitted, chunk.length);
      if (after < 0) continue;
      end = after;
      fitted++;
    }
    expect(fitted).toBeGreaterThan(0);
    expect(fitted).toBeLessThan(spans.length);
    expect(spansOf(decodeTraceRequest(encoding.frame(chunk, end)))).toHaveLength(fitted);
  });
});
