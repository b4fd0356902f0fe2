import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An OTLP/HTTP traces receiver for tests (issue 22): it keeps every POSTed `/v1/traces` body, in
 * either encoding a collector takes, read into OTLP/JSON's shape (protobuf decoded by the reader
 * below), so a test asserts on spans the same way whichever the service sent.
 */

type Json = Record<string, unknown>;

/** A message's fields by number: its JSON name, and what the field holds. */
type Schema = Record<number, readonly [name: string, kind: Kind, repeated?: "repeated"]>;
type Kind = "string" | "id" | "uint" | "int64" | "nanos" | "fixed32" | "double" | "bool" | Schema;

const anyValue: Schema = {};
const keyValue: Schema = { 1: ["key", "string"], 2: ["value", anyValue] };
Object.assign(anyValue, {
  1: ["stringValue", "string"],
  2: ["boolValue", "bool"],
  3: ["intValue", "int64"],
  4: ["doubleValue", "double"],
  5: ["arrayValue", { 1: ["values", anyValue, "repeated"] }],
  6: ["kvlistValue", { 1: ["values", keyValue, "repeated"] }],
  7: ["bytesValue", "id"],
} satisfies Schema);
const attributes = (field: number): Schema => ({ [field]: ["attributes", keyValue, "repeated"] });
const span: Schema = {
  1: ["traceId", "id"],
  2: ["spanId", "id"],
  3: ["traceState", "string"],
  4: ["parentSpanId", "id"],
  5: ["name", "string"],
  6: ["kind", "uint"],
  7: ["startTimeUnixNano", "nanos"],
  8: ["endTimeUnixNano", "nanos"],
  ...attributes(9),
  10: ["droppedAttributesCount", "uint"],
  11: [
    "events",
    {
      1: ["timeUnixNano", "nanos"],
      2: ["name", "string"],
      ...attributes(3),
      4: ["droppedAttributesCount", "uint"],
    },
    "repeated",
  ],
  12: ["droppedEventsCount", "uint"],
  13: [
    "links",
    {
      1: ["traceId", "id"],
      2: ["spanId", "id"],
      3: ["traceState", "string"],
      ...attributes(4),
      5: ["droppedAttributesCount", "uint"],
      6: ["flags", "fixed32"],
    },
    "repeated",
  ],
  14: ["droppedLinksCount", "uint"],
  15: ["status", { 2: ["message", "string"], 3: ["code", "uint"] }],
  16: ["flags", "fixed32"],
};
const request: Schema = {
  1: [
    "resourceSpans",
    {
      1: ["resource", { ...attributes(1), 2: ["droppedAttributesCount", "uint"] }],
      2: [
        "scopeSpans",
        {
          1: [
            "scope",
            {
              1: ["name", "string"],
              2: ["version", "string"],
              ...attributes(3),
              4: ["droppedAttributesCount", "uint"],
            },
          ],
          2: ["spans", span, "repeated"],
          3: ["schemaUrl", "string"],
        },
        "repeated",
      ],
      3: ["schemaUrl", "string"],
    },
    "repeated",
  ],
};

/** Reads protobuf's wire format by the schema; a field it does not know, or a bad byte, throws. */
function decode(bytes: Uint8Array, schema: Schema): Json {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length || shift > 63n) throw new Error("a varint runs past the message");
      const byte = bytes[at++] as number;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
  };
  const out: Json = {};
  while (at < bytes.length) {
    const key = Number(varint());
    const field = schema[key >>> 3];
    if (!field) throw new Error(`field ${key >>> 3} (wire type ${key & 7}) is not in OTLP's trace schema`);
    const [name, kind, repeated] = field;
    let value: unknown;
    switch (key & 7) {
      case 0: {
        const raw = varint();
        value =
          kind === "bool" ? raw !== 0n : kind === "int64" ? Number(BigInt.asIntN(64, raw)) : Number(raw);
        break;
      }
      case 1:
        value = kind === "double" ? view.getFloat64(at, true) : view.getBigUint64(at, true).toString();
        at += 8;
        break;
      case 5:
        value = view.getUint32(at, true);
        at += 4;
        break;
      case 2: {
        const length = Number(varint());
        const body = bytes.subarray(at, at + length);
        if (body.length !== length) throw new Error(`${name} runs past the message`);
        at += length;
        value =
          kind === "string"
            ? new TextDecoder("utf-8", { fatal: true }).decode(body)
            : kind === "id"
              ? Buffer.from(body).toString("hex")
              : decode(body, kind as Schema);
        break;
      }
      default:
        throw new Error(`wire type ${key & 7} of ${name}`);
    }
    if (!repeated) out[name] = value;
    else if (Array.isArray(out[name])) out[name].push(value);
    else out[name] = [value];
  }
  return out;
}

/**
 * An OTLP/protobuf ExportTraceServiceRequest in OTLP/JSON's shape (ids as hex, 64-bit times as
 * decimal strings, a double that JSON cannot hold as null): what a JSON body with the same spans
 * parses to, the members protobuf cannot tell from their default left out.
 */
export const decodeTraceRequest = (bytes: Uint8Array): Json =>
  JSON.parse(JSON.stringify(decode(bytes, request))) as Json;

/** A request body in OTLP/JSON's shape, as the content type says it is encoded. */
export const traceRequestOf = (contentType: string | undefined, body: Uint8Array): Json =>
  contentType?.startsWith("application/json")
    ? (JSON.parse(Buffer.from(body).toString("utf8")) as Json)
    : decodeTraceRequest(body);

/** An attribute's value as it is, but an empty list in it (an ArrayValue's), which protobuf cannot tell from none. */
function anyValueOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(anyValueOf);
  if (value === null || typeof value !== "object") return value;
  const out: Json = {};
  for (const [name, member] of Object.entries(value))
    if (!(name === "values" && Array.isArray(member) && member.length === 0)) out[name] = anyValueOf(member);
  return out;
}

/**
 * Leaves out what holds its default (0, "", an empty list, a message left empty): protobuf does
 * not write those, and the JSON mapping need not. Within an attribute's value only an empty list is
 * (its one member is written whatever it holds).
 */
export function withoutDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDefaults);
  if (value === null || typeof value !== "object") return value;
  const out: Json = {};
  for (const [name, member] of Object.entries(value)) {
    if (name === "value" || name === "values") {
      out[name] = anyValueOf(member);
      continue;
    }
    const kept = withoutDefaults(member);
    const empty =
      kept === 0 ||
      kept === "" ||
      (Array.isArray(kept) && kept.length === 0) ||
      (kept !== null && typeof kept === "object" && !Array.isArray(kept) && Object.keys(kept).length === 0);
    if (!empty) out[name] = kept;
  }
  return out;
}

export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly attributes?: readonly { key: string; value: Json }[];
  readonly links?: readonly { readonly traceId: string; readonly spanId: string }[];
}
export interface OtlpBody {
  readonly resourceSpans?: {
    readonly resource?: { readonly attributes?: { key: string; value: { stringValue?: string } }[] };
    readonly scopeSpans?: { readonly spans?: OtlpSpan[] }[];
  }[];
}

export interface OtlpReceiver {
  /** What to set OTEL_EXPORTER_OTLP_ENDPOINT to. */
  readonly endpoint: string;
  /** Every /v1/traces body received, in OTLP/JSON's shape. */
  readonly bodies: OtlpBody[];
  /** The content types they came with. */
  readonly contentTypes: Set<string>;
  /** Every span received, in order. */
  spans(): OtlpSpan[];
  close(): Promise<void>;
}

/** Starts a receiver on a free local port: it answers each export with an empty success. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const bodies: OtlpBody[] = [];
  const contentTypes = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const contentType = req.headers["content-type"];
      if (req.method === "POST" && req.url === "/v1/traces") {
        contentTypes.add(String(contentType));
        bodies.push(traceRequestOf(contentType, Buffer.concat(chunks)) as OtlpBody);
      }
      // An empty ExportTraceServiceResponse, in the request's encoding.
      const json = contentType?.startsWith("application/json");
      res.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" });
      res.end(json ? "{}" : "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    contentTypes,
    spans: () =>
      bodies
        .flatMap((b) => b.resourceSpans ?? [])
        .flatMap((r) => r.scopeSpans ?? [])
        .flatMap((s) => s.spans ?? []),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
