import type { Attributes, AttributeValue, HrTime } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { OtlpEncoding } from "./tracing-export.js";

/**
 * OTLP/JSON of an ended span, written where it ends (issue 22): the very JSON the SDK's
 * JsonTraceSerializer writes for it (a unit test holds them equal, members that hold their default
 * aside), without the copy of the span handed to the export thread (a structured clone, its
 * decoding there), the ReadableSpan rebuilt from it and the transformer's intermediate objects:
 * those cost twice what the spans themselves did. The export thread posts the requests these make
 * with the exporter library's HTTP transport (retries, timeouts, OTEL_EXPORTER_OTLP_* settings).
 */

/**
 * Written as strings, not built as objects for JSON.stringify: half the time per span (the link-heavy
 * batch spans most of all). Every string the span holds is quoted by JSON.stringify itself. (Tried
 * and not kept: writing the bytes a character at a time into the chunk that is handed over, 1.3×
 * the time of a string written whole by the runtime's encoder.)
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

/** A key as a JSON string, quoted once: the keys are the service's own few names. */
const quotedKeys = new Map<string, string>();
const key = (name: string): string => {
  let quoted = quotedKeys.get(name);
  if (quoted === undefined) {
    quoted = text(name);
    if (quotedKeys.size < 1_024) quotedKeys.set(name, quoted);
  }
  return quoted;
};

/** Attributes as the members of OTLP's KeyValue list. */
const keyValues = (attrs: Attributes | undefined): string => {
  let out = "";
  for (const name in attrs) {
    if (!Object.hasOwn(attrs, name)) continue;
    out += `${out ? "," : ""}{"key":${key(name)},"value":${anyValue(attrs[name])}}`;
  }
  return out;
};

/** `,"attributes":[…]` when there are any, else nothing. */
const attributes = (attrs: Attributes | undefined): string => {
  const list = keyValues(attrs);
  return list ? `,"attributes":[${list}]` : "";
};

/** `,"<name>":<value>` unless the value is 0, its default. */
const count = (name: string, value: number | undefined): string => (value ? `,"${name}":${value}` : "");

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

/**
 * One span as OTLP/JSON (an element of a ScopeSpans' `spans`). Members that hold their default (no
 * attributes, events or links, nothing dropped, an unset status) are left out, as the protobuf JSON
 * mapping OTLP/JSON follows allows: what is not written costs nothing to write, move and post.
 */
export function encodeSpan(span: ReadableSpan): string {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  let out = `{"traceId":${text(context.traceId)},"spanId":${text(context.spanId)}`;
  if (parent?.spanId) out += `,"parentSpanId":${text(parent.spanId)}`;
  out += traceState(context.traceState);
  out += `,"name":${text(span.name)},"kind":${span.kind == null ? 0 : span.kind + 1}`;
  out += `,"startTimeUnixNano":"${nanos(span.startTime)}","endTimeUnixNano":"${nanos(span.endTime)}"`;
  out += attributes(span.attributes) + count("droppedAttributesCount", span.droppedAttributesCount);
  if (span.events.length > 0) {
    for (let i = 0; i < span.events.length; i++) {
      const event = span.events[i]!;
      out += `${i ? "," : ',"events":['}{"name":${text(event.name)},"timeUnixNano":"${nanos(event.time)}"`;
      out += `${attributes(event.attributes)}${count("droppedAttributesCount", event.droppedAttributesCount)}}`;
    }
    out += "]";
  }
  out += count("droppedEventsCount", span.droppedEventsCount);
  const { code, message } = span.status;
  if (code || message !== undefined) {
    const said = message === undefined ? "" : `${code ? "," : ""}"message":${text(message)}`;
    out += `,"status":{${code ? `"code":${code}` : ""}${said}}`;
  }
  if (span.links.length > 0) {
    for (let i = 0; i < span.links.length; i++) {
      const link = span.links[i]!;
      out += `${i ? "," : ',"links":['}{"traceId":${text(link.context.traceId)},"spanId":${text(link.context.spanId)}`;
      out += `${traceState(link.context.traceState)}${attributes(link.attributes)}`;
      out += `${count("droppedAttributesCount", link.droppedAttributesCount)},"flags":${flags(link.context.traceFlags, link.context.isRemote)}}`;
    }
    out += "]";
  }
  return `${out}${count("droppedLinksCount", span.droppedLinksCount)},"flags":${flags(context.traceFlags, parent?.isRemote)}}`;
}

/**
 * The OTLP/JSON request around a batch of encoded spans of one resource and scope:
 * `before + spans.join(",") + after`.
 */
export function envelope(resource: Attributes, scope: string): { before: string; after: string } {
  return {
    before: `{"resourceSpans":[{"resource":{"attributes":[${keyValues(resource)}],"droppedAttributesCount":0},"scopeSpans":[{"scope":{"name":${text(scope)}},"spans":[`,
    after: "]}]}]}",
  };
}

const COMMA = 44;

/** OTLP/HTTP JSON (`http/json`) for the export processor: the spans' JSON, comma-separated, in the envelope. */
export function jsonEncoding(resource: Attributes, scope: string): OtlpEncoding {
  const { before, after } = envelope(resource, scope);
  const start = Buffer.from(before);
  const end = Buffer.from(after);
  return {
    contentType: "application/json",
    head: start.length,
    tail: end.length,
    write(span, chunk, at, written, limit) {
      const json = encodeSpan(span);
      const from = at + (written > 0 ? 1 : 0);
      const room = limit - from;
      // UTF-8 takes at most 3 bytes per UTF-16 unit: only a span near the end is measured first.
      if (room < json.length || (room < 3 * json.length && Buffer.byteLength(json) > room)) return -1;
      if (written > 0) chunk[at] = COMMA;
      return from + chunk.write(json, from);
    },
    frame(chunk, spansEnd) {
      start.copy(chunk, 0);
      const length = spansEnd + end.copy(chunk, spansEnd);
      return new Uint8Array(chunk.buffer, chunk.byteOffset, length);
    },
  };
}
