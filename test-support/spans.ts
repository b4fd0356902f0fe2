import { createRequire } from "node:module";
import type { Attributes } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import {
  endSpan,
  linkedSpan,
  SpanKind,
  startSpan,
  startTracing,
  traceparentFor,
} from "../platform/tracing.js";

/** Spans for the OTLP encoders' tests, and the SDK's own serializers to hold them against (issue 22). */

// The exporter's own serializers (OTLPTraceExporter's), from the transformer it was built with.
const exporterRequire = createRequire(
  createRequire(import.meta.url).resolve("@opentelemetry/exporter-trace-otlp-http"),
);
interface Serializer {
  serializeRequest(spans: ReadableSpan[]): Uint8Array;
}
export const { JsonTraceSerializer, ProtobufTraceSerializer } = exporterRequire(
  "@opentelemetry/otlp-transformer",
) as { JsonTraceSerializer: Serializer; ProtobufTraceSerializer: Serializer };

/** The spans as the SDK would export them from a process of that resource and scope. */
export function asExported(
  spans: readonly ReadableSpan[],
  resource: Attributes,
  scope: string,
): ReadableSpan[] {
  const under = { resource: resourceFromAttributes(resource), instrumentationScope: { name: scope } };
  return spans.map((span) =>
    Object.create(span, {
      resource: { value: under.resource },
      instrumentationScope: { value: under.instrumentationScope },
    }),
  );
}

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

/** Spans of every shape the service makes: server, child, backdated, with events, links, an error. */
export async function someSpans(): Promise<ReadableSpan[]> {
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
