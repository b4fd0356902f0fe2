import type { Attributes, AttributeValue, HrTime } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { OtlpEncoding } from "./tracing-export.js";
import { RecordedSpan, splitMs } from "./tracing-span.js";

/**
 * OTLP/protobuf of ended spans, written where they end straight into the chunk handed to the export
 * thread (issue 22): OTLP/HTTP's default encoding (`http/protobuf`), a third of the bytes of the same
 * spans in OTLP/JSON (ids as bytes, times as fixed64, no member names), with no string built on
 * the way. A unit test decodes what this writes and what the SDK's ProtobufTraceSerializer writes
 * for the same spans and holds them equal, fields that hold their default aside (left out here, as
 * proto3 leaves them out).
 *
 * A message's length goes before it and is known only after it: one byte (two for a span) is kept
 * for it, and the rare message that needs more is moved up by the bytes it lacks.
 */

/** Where the span being written goes: the chunk, the position, and the end it must stay before. */
let out: Buffer = Buffer.alloc(0);
let pos = 0;
let limit = 0;

/** Thrown when the span does not fit before `limit` (caught by writeSpan: nothing is counted). */
const FULL = Symbol("chunk full");

function need(bytes: number): void {
  if (pos + bytes > limit) throw FULL;
}

const TWO_32 = 4_294_967_296;

/** The bytes an unsigned varint of `value` (< 2^32) takes. */
const varintBytes = (value: number): number =>
  value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;

/** An unsigned varint of `value` (< 2^32) at `at`: the position after it. */
function varintAt(at: number, value: number): number {
  let v = value;
  while (v > 0x7f) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

function varint(value: number): void {
  need(5);
  pos = varintAt(pos, value);
}

/** A 64-bit varint of an integer in the int64 range (a negative one in two's complement, 10 bytes). */
function varint64(value: number): void {
  if (value >= 0 && value < TWO_32) {
    varint(value);
    return;
  }
  need(10);
  let low = value >>> 0;
  let high = Math.floor(value / TWO_32) >>> 0;
  while (high > 0 || low > 0x7f) {
    out[pos++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  out[pos++] = low;
}

function fixed32(value: number): void {
  out[pos++] = value & 0xff;
  out[pos++] = (value >>> 8) & 0xff;
  out[pos++] = (value >>> 16) & 0xff;
  out[pos++] = value >>> 24;
}

const time = (tag: number, [seconds, nanos]: HrTime): void => fixed64Time(tag, seconds, nanos);
const startTime = (seconds: number, nanos: number): void => fixed64Time(0x39, seconds, nanos);
const endTime = (seconds: number, nanos: number): void => fixed64Time(0x41, seconds, nanos);

/**
 * A time as fixed64 nanoseconds since the epoch, exactly: seconds × 10⁹ is seconds × 1953125
 * (under 2^53 for any 32-bit count of seconds) × 2^9, split into 32-bit halves without rounding.
 */
function fixed64Time(tag: number, seconds: number, nanos: number): void {
  need(9);
  out[pos++] = tag;
  const scaled = seconds * 1_953_125;
  const high = Math.floor(scaled / 8_388_608);
  const low = (scaled - high * 8_388_608) * 512 + nanos;
  const carry = Math.floor(low / TWO_32);
  fixed32(low - carry * TWO_32);
  fixed32(high + carry);
}

/** Opens a length-delimited field: its tag written, one byte kept for its length (see close). */
function open(tag: number): number {
  need(2);
  out[pos++] = tag;
  return pos++;
}

/** Closes what open began at `at`: its length written there, its bytes moved up if it needs more. */
function close(at: number, kept = 1): void {
  const length = pos - at - kept;
  const bytes = varintBytes(length);
  if (bytes !== kept) {
    need(bytes - kept);
    out.copyWithin(at + bytes, at + kept, pos);
    pos += bytes - kept;
  }
  varintAt(at, length);
}

/**
 * A string field (UTF-8). The service's strings are short and ASCII (names, keys, ids, paths): those
 * are copied here a character at a time, which costs less than a call into the runtime's encoder;
 * any other goes to the encoder.
 */
function string(tag: number, value: string): void {
  const length = value.length;
  need(6 + 3 * length);
  out[pos++] = tag;
  if (length < 128) {
    let i = 0;
    for (; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code > 0x7f) break;
      out[pos + 1 + i] = code;
    }
    if (i === length) {
      out[pos] = length;
      pos += 1 + length;
      return;
    }
  }
  pos = varintAt(pos, Buffer.byteLength(value));
  pos += out.write(value, pos);
}

/**
 * Each pair of hex digits' byte (either case), by the two character codes (each below 128) as
 * `first << 7 | second`; -1 for a pair that is not two digits.
 */
const PAIRS = new Int16Array(1 << 14).fill(-1);
{
  const digits = "0123456789abcdef";
  const codes = (d: number) => [digits.charCodeAt(d), digits.toUpperCase().charCodeAt(d)];
  for (let high = 0; high < 16; high++)
    for (let low = 0; low < 16; low++)
      for (const first of codes(high))
        for (const second of codes(low)) PAIRS[(first << 7) | second] = (high << 4) | low;
}

/**
 * An id given as hex (trace, span) as a bytes field, decoded here (a call into the runtime's hex
 * decoder costs more than the 16 or 32 digits); it stops at the first pair that is not two digits,
 * as Buffer's decoder does.
 */
function id(tag: number, hex: string): void {
  const bytes = hex.length >> 1;
  need(2 + bytes);
  out[pos++] = tag;
  const at = pos++;
  let written = 0;
  for (; written < bytes; written++) {
    const first = hex.charCodeAt(2 * written);
    const second = hex.charCodeAt(2 * written + 1);
    const byte = (first | second) < 0x80 ? (PAIRS[(first << 7) | second] as number) : -1;
    if (byte < 0) break;
    out[pos + written] = byte;
  }
  out[at] = written;
  pos += written;
}

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** An attribute's value as OTLP's AnyValue, in a field `tag` (null: an empty AnyValue, as the SDK). */
function anyValue(tag: number, value: AttributeValue | undefined | null): void {
  const at = open(tag);
  switch (typeof value) {
    case "string":
      string(0x0a, value);
      break;
    case "boolean":
      need(2);
      out[pos++] = 0x10;
      out[pos++] = value ? 1 : 0;
      break;
    case "number":
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        need(1);
        out[pos++] = 0x18;
        varint64(value);
      } else {
        need(9);
        out[pos++] = 0x21;
        pos = out.writeDoubleLE(value, pos);
      }
      break;
    default:
      if (Array.isArray(value)) {
        const array = open(0x2a);
        for (const item of value) anyValue(0x0a, item);
        close(array);
      }
  }
  close(at);
}

/** Attributes as repeated KeyValue in field `tag`. */
function attributes(tag: number, attrs: Attributes | undefined): void {
  for (const name in attrs) {
    if (!Object.hasOwn(attrs, name)) continue;
    const at = open(tag);
    string(0x0a, name);
    anyValue(0x12, attrs[name]);
    close(at);
  }
}

/** A uint32 field, left out when 0 (its default). */
function count(tag: number, value: number | undefined): void {
  if (!value) return;
  need(1);
  out[pos++] = tag;
  varint(value);
}

/** OTLP's span flags: the W3C trace flags, and whether the parent (or link) is remote. */
const flags = (traceFlags: number, isRemote: boolean | undefined): number =>
  (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);

function span(s: ReadableSpan): void {
  const context = s.spanContext();
  id(0x0a, context.traceId);
  id(0x12, context.spanId);
  const state = context.traceState?.serialize();
  if (state) string(0x1a, state);
  const parent = s.parentSpanContext;
  if (parent?.spanId) id(0x22, parent.spanId);
  string(0x2a, s.name);
  const kind = s.kind == null ? 0 : s.kind + 1;
  if (kind) {
    need(2);
    out[pos++] = 0x30;
    out[pos++] = kind;
  }
  // A span recorded here keeps milliseconds: read without an HrTime made for each.
  if (s instanceof RecordedSpan) {
    splitMs(s.startMs, startTime);
    splitMs(s.endMs, endTime);
  } else {
    time(0x39, s.startTime);
    time(0x41, s.endTime);
  }
  attributes(0x4a, s.attributes);
  count(0x50, s.droppedAttributesCount);
  for (const event of s.events) {
    const at = open(0x5a);
    time(0x09, event.time);
    string(0x12, event.name);
    attributes(0x1a, event.attributes);
    count(0x20, event.droppedAttributesCount);
    close(at);
  }
  count(0x60, s.droppedEventsCount);
  for (const link of s.links) {
    const at = open(0x6a);
    id(0x0a, link.context.traceId);
    id(0x12, link.context.spanId);
    const linkState = link.context.traceState?.serialize();
    if (linkState) string(0x1a, linkState);
    attributes(0x22, link.attributes);
    count(0x28, link.droppedAttributesCount);
    need(5);
    out[pos++] = 0x35;
    fixed32(flags(link.context.traceFlags, link.context.isRemote));
    close(at);
  }
  count(0x70, s.droppedLinksCount);
  const { code, message } = s.status;
  if (code || message) {
    const at = open(0x7a);
    if (message) string(0x12, message);
    count(0x18, code);
    close(at);
  }
  need(6);
  out[pos++] = 0x85;
  out[pos++] = 0x01;
  fixed32(flags(context.traceFlags, parent?.isRemote));
}

/**
 * Writes `s` as an element of a ScopeSpans' `spans` (field 2) into `chunk` at `at`, before `end`:
 * the position after it, or -1 when it does not fit (what was written past `at` is to be ignored).
 */
export function writeSpan(s: ReadableSpan, chunk: Buffer, at: number, end: number): number {
  out = chunk;
  pos = at;
  limit = end;
  try {
    // Two bytes kept for the span's length: most spans take 128 to 16,383 bytes.
    need(3);
    out[pos++] = 0x12;
    pos += 2;
    span(s);
    close(at + 1, 2);
    return pos;
  } catch (error) {
    if (error === FULL) return -1;
    throw error;
  }
}

/** Writes a message with `body` into a new buffer (the request's resource and scope, once). */
function message(body: () => void): Buffer {
  for (let size = 256; ; size *= 4) {
    out = Buffer.alloc(size);
    pos = 0;
    limit = size;
    try {
      body();
      return out.subarray(0, pos);
    } catch (error) {
      if (error !== FULL) throw error;
    }
  }
}

/**
 * The start of an OTLP/protobuf ExportTraceServiceRequest whose one ResourceSpans and ScopeSpans
 * hold `spansBytes` of spans written by writeSpan: it goes right before them. `resource` and
 * `scope` are those of every span (one thread's).
 */
export function requestHead(resource: Attributes, scope: string): (spansBytes: number) => Buffer {
  const resourceField = message(() => {
    const at = open(0x0a);
    attributes(0x0a, resource);
    close(at);
  });
  const scopeField = message(() => {
    const at = open(0x0a);
    string(0x0a, scope);
    close(at);
  });
  return (spansBytes) => {
    const scopeSpans = scopeField.length + spansBytes;
    const resourceSpans = resourceField.length + 1 + varintBytes(scopeSpans) + scopeSpans;
    return message(() => {
      need(1 + 5 + resourceField.length + 1 + 5 + scopeField.length);
      out[pos++] = 0x0a;
      pos = varintAt(pos, resourceSpans);
      pos += resourceField.copy(out, pos);
      out[pos++] = 0x12;
      pos = varintAt(pos, scopeSpans);
      pos += scopeField.copy(out, pos);
    });
  };
}

/** OTLP/HTTP protobuf (`http/protobuf`) for the export processor: spans written from `head`, the request's start right before them. */
export function protobufEncoding(resource: Attributes, scope: string): OtlpEncoding {
  const headFor = requestHead(resource, scope);
  // The longest start a request can have: its two lengths at five bytes each (2^28 and more).
  const head = headFor(0x10000000).length;
  return {
    contentType: "application/x-protobuf",
    head,
    tail: 0,
    write: (span, chunk, at, _written, end) => writeSpan(span, chunk, at, end),
    frame(chunk, spansEnd) {
      const start = headFor(spansEnd - head);
      const from = head - start.length;
      start.copy(chunk, from);
      return new Uint8Array(chunk.buffer, chunk.byteOffset + from, spansEnd - from);
    },
  };
}
