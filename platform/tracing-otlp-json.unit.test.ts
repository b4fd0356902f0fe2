import { SpanStatusCode } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { asExported, JsonTraceSerializer, someSpans } from "../test-support/spans.js";
import { encodeSpan, envelope } from "./tracing-otlp-json.js";

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
    const exported = JsonTraceSerializer.serializeRequest(asExported(spans, resource, scope));
    const expected = withoutDefaults(JSON.parse(new TextDecoder().decode(exported)));
    const { before, after } = envelope(resource, scope);
    const ours = JSON.parse(before + spans.map(encodeSpan).join(",") + after);
    expect(ours).toEqual(expected);
    expect(ours.resourceSpans[0].scopeSpans[0].spans).toHaveLength(4);
  });
});
