import type { Attributes, AttributeValue, HrTime } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

/**
 * OTLP/JSON of an ended span, written where it ends (issue 22): the very JSON the SDK's
 * JsonTraceSerializer writes for it (a unit test holds them equal), without the copy of the span
 * handed to the export thread (a structured clone, its decoding there), the ReadableSpan rebuilt
 * from it and the transformer's intermediate objects: those cost twice what the spans themselves
 * did. The export thread only joins a batch's spans under their resource and posts them with the
 * exporter library's HTTP transport (retries, timeouts, OTEL_EXPORTER_OTLP_* settings).
 */

type AnyValue =
  | { stringValue: string }
  | { intValue: number }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: AnyValue[] } }
  | Record<string, never>;

const anyValue = (value: AttributeValue | undefined | null): AnyValue => {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "number")
    return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map((v) => anyValue(v)) } };
  return {};
};

const attributes = (attrs: Attributes | undefined) =>
  attrs ? Object.keys(attrs).map((key) => ({ key, value: anyValue(attrs[key]) })) : [];

/** An HrTime as OTLP/JSON's decimal string of nanoseconds since the epoch. */
const nanos = (time: HrTime): string =>
  (BigInt(Math.trunc(time[0])) * 1_000_000_000n + BigInt(Math.trunc(time[1]))).toString();

/** OTLP's span flags: the W3C trace flags, and whether the parent (or link) is remote. */
const flags = (traceFlags: number, isRemote: boolean | undefined): number =>
  (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);

/** One span as OTLP/JSON (an element of a ScopeSpans' `spans`). */
export function encodeSpan(span: ReadableSpan): string {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  return JSON.stringify({
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: parent?.spanId || undefined,
    traceState: context.traceState?.serialize(),
    name: span.name,
    kind: span.kind == null ? 0 : span.kind + 1,
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: attributes(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((event) => ({
      attributes: attributes(event.attributes),
      name: event.name,
      timeUnixNano: nanos(event.time),
      droppedAttributesCount: event.droppedAttributesCount || 0,
    })),
    droppedEventsCount: span.droppedEventsCount,
    status: { code: span.status.code, message: span.status.message },
    links: span.links.map((link) => ({
      attributes: attributes(link.attributes),
      spanId: link.context.spanId,
      traceId: link.context.traceId,
      traceState: link.context.traceState?.serialize(),
      droppedAttributesCount: link.droppedAttributesCount || 0,
      flags: flags(link.context.traceFlags, link.context.isRemote),
    })),
    droppedLinksCount: span.droppedLinksCount,
    flags: flags(context.traceFlags, parent?.isRemote),
  });
}

/**
 * The OTLP/JSON request around a batch of encoded spans of one resource and scope:
 * `before + spans.join(",") + after`.
 */
export function envelope(resource: Attributes, scope: string): { before: string; after: string } {
  const head = JSON.stringify({
    resource: { attributes: attributes(resource), droppedAttributesCount: 0 },
    scopeSpans: [{ scope: { name: scope }, spans: [] }],
  });
  // The spans go into the empty array that closes the object.
  const at = head.lastIndexOf("[]");
  return { before: `{"resourceSpans":[${head.slice(0, at + 1)}`, after: `${head.slice(at + 1)}]}` };
}
