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

/**
 * Written as strings, not built as objects for JSON.stringify: half the time per span (the link-heavy
 * batch spans most of all). Every string the span holds is quoted by JSON.stringify itself.
 */
const text = JSON.stringify as (value: string) => string;

/** An attribute's value as OTLP's AnyValue (a non-finite double is null, as JSON.stringify writes it). */
const anyValue = (value: AttributeValue | undefined | null): string => {
  switch (typeof value) {
    case "string":
      return `{"stringValue":${text(value)}}`;
    case "number":
      if (Number.isInteger(value)) return `{"intValue":${value}}`;
      return `{"doubleValue":${Number.isFinite(value) ? value : "null"}}`;
    case "boolean":
      return value ? '{"boolValue":true}' : '{"boolValue":false}';
  }
  if (Array.isArray(value)) return `{"arrayValue":{"values":[${value.map((v) => anyValue(v)).join(",")}]}}`;
  return "{}";
};

/** Attributes as OTLP's KeyValue list. */
const attributes = (attrs: Attributes | undefined): string => {
  if (!attrs) return "[]";
  let out = "";
  for (const key in attrs) {
    if (!Object.hasOwn(attrs, key)) continue;
    out += `${out ? "," : ""}{"key":${text(key)},"value":${anyValue(attrs[key])}}`;
  }
  return `[${out}]`;
};

/** An HrTime as OTLP/JSON's decimal string of nanoseconds since the epoch. */
const nanos = (time: HrTime): string => {
  const seconds = Math.trunc(time[0]);
  const fraction = Math.trunc(time[1]);
  if (seconds > 0 && fraction >= 0 && fraction < 1e9) return `${seconds}${`${fraction}`.padStart(9, "0")}`;
  return (BigInt(seconds) * 1_000_000_000n + BigInt(fraction)).toString();
};

/** OTLP's span flags: the W3C trace flags, and whether the parent (or link) is remote. */
const flags = (traceFlags: number, isRemote: boolean | undefined): number =>
  (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);

/** A span's or link's trace state as its member of the object being written, or nothing. */
const traceState = (state: { serialize(): string } | undefined): string =>
  state ? `,"traceState":${text(state.serialize())}` : "";

/** One span as OTLP/JSON (an element of a ScopeSpans' `spans`). */
export function encodeSpan(span: ReadableSpan): string {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  let out = `{"traceId":${text(context.traceId)},"spanId":${text(context.spanId)}`;
  if (parent?.spanId) out += `,"parentSpanId":${text(parent.spanId)}`;
  out += traceState(context.traceState);
  out += `,"name":${text(span.name)},"kind":${span.kind == null ? 0 : span.kind + 1}`;
  out += `,"startTimeUnixNano":"${nanos(span.startTime)}","endTimeUnixNano":"${nanos(span.endTime)}"`;
  out += `,"attributes":${attributes(span.attributes)},"droppedAttributesCount":${span.droppedAttributesCount},"events":[`;
  for (let i = 0; i < span.events.length; i++) {
    const event = span.events[i]!;
    out += `${i ? "," : ""}{"attributes":${attributes(event.attributes)},"name":${text(event.name)},"timeUnixNano":"${nanos(event.time)}","droppedAttributesCount":${event.droppedAttributesCount || 0}}`;
  }
  out += `],"droppedEventsCount":${span.droppedEventsCount},"status":{"code":${span.status.code}`;
  if (span.status.message !== undefined) out += `,"message":${text(span.status.message)}`;
  out += '},"links":[';
  for (let i = 0; i < span.links.length; i++) {
    const link = span.links[i]!;
    out += `${i ? "," : ""}{"attributes":${attributes(link.attributes)},"spanId":${text(link.context.spanId)},"traceId":${text(link.context.traceId)}${traceState(link.context.traceState)},"droppedAttributesCount":${link.droppedAttributesCount || 0},"flags":${flags(link.context.traceFlags, link.context.isRemote)}}`;
  }
  return `${out}],"droppedLinksCount":${span.droppedLinksCount},"flags":${flags(context.traceFlags, parent?.isRemote)}}`;
}

/**
 * The OTLP/JSON request around a batch of encoded spans of one resource and scope:
 * `before + spans.join(",") + after`.
 */
export function envelope(resource: Attributes, scope: string): { before: string; after: string } {
  return {
    before: `{"resourceSpans":[{"resource":{"attributes":${attributes(resource)},"droppedAttributesCount":0},"scopeSpans":[{"scope":{"name":${text(scope)}},"spans":[`,
    after: "]}]}]}",
  };
}
