import { createRequire } from "node:module";
import { SpanStatusCode } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { endSpan, linkedSpan, SpanKind, startSpan, startTracing, traceparentFor } from "./tracing.js";
import { encodeSpan, envelope } from "./tracing-otlp-json.js";

// The exporter's own serializer (OTLPTraceExporter's), from the transformer it was built with.
const exporterRequire = createRequire(
  createRequire(import.meta.url).resolve("@opentelemetry/exporter-trace-otlp-http"),
);
const { JsonTraceSerializer } = exporterRequire("@opentelemetry/otlp-transformer") as {
  JsonTraceSerializer: { serializeRequest(spans: ReadableSpan[]): Uint8Array };
};

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

/** Spans of every shape the service makes: server, child, backdated, with events, links, an error. */
async function someSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const handle = startTracing({ exporter });
  try {
    const server = startSpan("POST /parking-lots/:parkingLotId/reservations", `00-${TRACE}-${SPAN}-01`, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": "POST", "url.path": "/parking-lots/a/reservations" },
    });
    server?.setAttribute("http.response.status_code", 201);
    const under = traceparentFor(server, undefined);
    const decide = startSpan("decide", under, {
      attributes: {
        "parking.lot": 'lot "a"\n',
        "parking.commands": 2,
        "parking.ratio": 0.5,
        "parking.ok": true,
        "parking.numbers": [Number.NaN, -0, 1e21, 0.25],
        "parking.texts": ["\u2028", 'a "b"', ""],
        "parking.infinite": Number.POSITIVE_INFINITY,
      },
    });
    decide?.addEvent("appended", { "parking.events": 3, "parking.ids": ["a", "b"] });
    endSpan(decide, new Error("refused: \u00e9"));
    endSpan(startSpan("reservation visible", under, { startTime: Date.now() - 12.345 }));
    endSpan(linkedSpan("apply reservations", [under as string, `00-${"7".repeat(32)}-${SPAN}-01`]));
    endSpan(server);
    // Read before the shutdown, which clears the in-memory exporter.
    return [...exporter.getFinishedSpans()];
  } finally {
    await handle?.shutdown();
  }
}

type Json = Record<string, unknown>;

/**
 * A request as the SDK writes it, without the members that hold their default value (protobuf's
 * JSON mapping lets a writer leave them out, and encodeSpan does): zero counts, empty lists, an
 * unset status. Only those members of spans, events and links: an attribute's 0 or "" stays.
 */
function withoutDefaults(request: Json): Json {
  const strip = (item: Json): Json =>
    Object.fromEntries(
      Object.entries(item).filter(([name, value]) => {
        if (name.startsWith("dropped")) return value !== 0;
        if (name === "attributes" || name === "events" || name === "links")
          return (value as unknown[]).length > 0;
        if (name === "status") return (value as Json).code !== 0 || (value as Json).message !== undefined;
        return true;
      }),
    );
  const spans = (scope: Json) =>
    (scope.spans as Json[]).map((span) => {
      const out = strip(span);
      if (out.events) out.events = (out.events as Json[]).map(strip);
      if (out.links) out.links = (out.links as Json[]).map(strip);
      return out;
    });
  return {
    resourceSpans: (request.resourceSpans as Json[]).map((resource) => ({
      ...resource,
      scopeSpans: (resource.scopeSpans as Json[]).map((scope) => ({ ...scope, spans: spans(scope) })),
    })),
  };
}

describe("OTLP/JSON written where a span ends", () => {
  it("is what the SDK's JSON serializer writes for the same spans, in the same request", async () => {
    const spans = await someSpans();
    expect(spans).toHaveLength(4);
    // Every attribute of every kind was kept.
    expect(Object.keys(spans.find((s) => s.name === "decide")?.attributes ?? {})).toHaveLength(7);
    expect(spans.some((s) => s.status.code === SpanStatusCode.ERROR && s.events.length > 1)).toBe(true);
    const resource = { "service.name": "parking-all", "telemetry.sdk.language": "nodejs" };
    const scope = "parking-reservations";
    // What the SDK would export: these spans under that resource and scope.
    const under = { resource: resourceFromAttributes(resource), instrumentationScope: { name: scope } };
    const asExported = spans.map((span) =>
      Object.create(span, {
        resource: { value: under.resource },
        instrumentationScope: { value: under.instrumentationScope },
      }),
    );
    const expected = withoutDefaults(
      JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(asExported))),
    );
    const { before, after } = envelope(resource, scope);
    const ours = JSON.parse(before + spans.map(encodeSpan).join(",") + after);
    expect(ours).toEqual(expected);
    expect(ours.resourceSpans[0].scopeSpans[0].spans).toHaveLength(4);
  });
});
