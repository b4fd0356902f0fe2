import {
  type Attributes,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { OtlpProtocol } from "./config/values.js";

/**
 * Distributed tracing (issue 22) on OpenTelemetry's SDK: spans are started through the API's
 * `Tracer`, sampled parent-based by trace-id ratio, batched by the SDK's BatchSpanProcessor
 * (OTEL_BSP_* settings) and exported by its OTLP/HTTP exporter (protobuf or JSON; the exporter
 * reads its other OTEL_EXPORTER_OTLP_* settings itself). One trace per request: the HTTP span
 * (continuing the caller's W3C `traceparent`), the command's decision and append, and, through the
 * `traceparent` the events carry in their metadata, each projection's apply (one span per batch,
 * linked to the trace of each event: linkedSpan), the coupon policy's reaction and the reservation
 * becoming visible.
 *
 * Off unless started (OTEL_EXPORTER_OTLP_ENDPOINT): the SDK is not even loaded, no span is made and no
 * `traceparent` is read or carried (platform/http/tracing.ts). Each thread that traces starts its
 * own provider (the processors' worker thread too); spans get their parent explicitly from a
 * traceparent, so no context manager is needed across the service's queues and batches.
 */

const SCOPE = "parking-reservations";

/** This thread's tracer, while tracing runs here. */
let active: Tracer | undefined;

export interface TracingHandle {
  /** Exports what is pending and stops (idempotent). */
  shutdown(): Promise<void>;
}

/** OTLP/HTTP's exporter for `protocol`, to `{endpoint}/v1/traces`. */
async function otlpExporter(endpoint: string, protocol: OtlpProtocol | undefined): Promise<SpanExporter> {
  const url = `${endpoint.replace(/\/+$/, "")}/v1/traces`;
  return protocol === "http/json"
    ? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter({ url })
    : new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter({ url });
}

/**
 * Starts tracing in this thread: spans go to `exporter` as each ends (tests: the SDK's
 * InMemorySpanExporter) or, batched, over OTLP/HTTP to `{endpoint}/v1/traces`. Loads the SDK
 * then. Returns undefined when tracing already runs in this thread (whoever started it stops it).
 */
export async function startTracing(options: {
  readonly endpoint?: string;
  /** OTLP/HTTP's encoding (default `http/protobuf`). */
  readonly protocol?: OtlpProtocol;
  readonly exporter?: SpanExporter;
  readonly serviceName?: string;
  /** The share of the traces started here that are recorded (default 1: all). */
  readonly sampleRatio?: number;
}): Promise<TracingHandle | undefined> {
  if (active) return undefined;
  const { defaultResource, resourceFromAttributes } = await import("@opentelemetry/resources");
  const { ATTR_SERVICE_NAME } = await import("@opentelemetry/semantic-conventions");
  const {
    BasicTracerProvider,
    BatchSpanProcessor,
    ParentBasedSampler,
    SimpleSpanProcessor,
    TraceIdRatioBasedSampler,
  } = await import("@opentelemetry/sdk-trace-base");
  if (active) return undefined;
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? "parking-reservations" }),
    ),
    // A caller's sampling decision (its traceparent's flag) is kept; traces started here are
    // recorded at the configured ratio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
    spanProcessors: [
      options.exporter
        ? new SimpleSpanProcessor(options.exporter)
        : new BatchSpanProcessor(await otlpExporter(options.endpoint ?? "", options.protocol)),
    ],
  });
  const tracer = provider.getTracer(SCOPE);
  active = tracer;
  let stopped: Promise<void> | undefined;
  return {
    shutdown() {
      stopped ??= (async () => {
        if (active === tracer) active = undefined;
        await provider.forceFlush();
        await provider.shutdown();
      })();
      return stopped;
    },
  };
}

export const tracingOn = (): boolean => active !== undefined;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * A W3C `traceparent` (version 00) as it is carried on (the sampled flag kept, the other flags
 * cleared); undefined when absent or malformed (an all-zero id included).
 */
export function validTraceparent(header: unknown): string | undefined {
  if (typeof header !== "string") return undefined;
  const match = TRACEPARENT.exec(header);
  if (!match || /^0+$/.test(match[1] as string) || /^0+$/.test(match[2] as string)) return undefined;
  const sampled = Number.parseInt(match[3] as string, 16) & 1;
  return `00-${match[1]}-${match[2]}-0${sampled}`;
}

/** A W3C `traceparent` (version 00) as a span context; undefined when absent or malformed. */
export function parseTraceparent(header: unknown): SpanContext | undefined {
  const valid = validTraceparent(header);
  if (!valid) return undefined;
  return {
    traceId: valid.slice(3, 35),
    spanId: valid.slice(36, 52),
    traceFlags: valid.endsWith("1") ? 1 : 0,
    isRemote: true,
  };
}

export const formatTraceparent = (span: SpanContext): string =>
  `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`;

/** Whether spans under `traceparent` are recorded (tracing on, a sampled trace): else none is made. */
export const recorded = (traceparent: string | undefined): boolean =>
  active !== undefined && parseTraceparent(traceparent)?.traceFlags === 1;

/**
 * A span under the span a `traceparent` names (a root span without one), or undefined when tracing
 * is off or the sampler does not record it (under a trace not sampled, or a root the ratio leaves
 * out): nothing is carried on for it. `startTime` (ms since the epoch, or `performance.now()`)
 * backdates it, e.g. to when an event was appended.
 */
export function startSpan(
  name: string,
  traceparent: string | undefined,
  options: {
    readonly attributes?: Attributes;
    readonly kind?: SpanKind;
    readonly startTime?: number;
    readonly links?: Link[];
  } = {},
): Span | undefined {
  if (!active) return undefined;
  const parent = parseTraceparent(traceparent);
  const context = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
  const span = active.startSpan(name, options, context);
  return span.isRecording() ? span : undefined;
}

/**
 * One span for work done at once for several traces (a projection's batch of events): in the
 * first sampled trace among `traceparents`, with a link to the span each sampled one names (its own
 * parent included), so that every trace the work served leads to it. Undefined when none is sampled
 * (or tracing is off).
 */
export function linkedSpan(
  name: string,
  traceparents: readonly string[],
  options: { readonly attributes?: Attributes; readonly startTime?: number } = {},
): Span | undefined {
  if (!active) return undefined;
  const sampled = [...new Set(traceparents)].filter((traceparent) => recorded(traceparent));
  if (sampled.length === 0) return undefined;
  const links = sampled.flatMap((traceparent) => {
    const context = parseTraceparent(traceparent);
    return context ? [{ context }] : [];
  });
  return startSpan(name, sampled[0], { ...options, links });
}

/** The `traceparent` that makes what follows a child of `span` (or the one given, when no span was made). */
export const traceparentFor = (span: Span | undefined, fallback: string | undefined): string | undefined =>
  span ? formatTraceparent(span.spanContext()) : fallback;

/** Ends a span, marked as an error when `error` is given. */
export function endSpan(span: Span | undefined, error?: unknown): void {
  if (!span) return;
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** What batchSpans gives with tracing off. */
const NO_SPANS: { end(error?: unknown): void } = { end() {} };

/** One span per traced command of a batch (decide, append): ended together. */
export function batchSpans(
  name: string,
  traceparents: readonly (string | undefined)[],
  attributes: Attributes,
): { end(error?: unknown): void } {
  if (!active) return NO_SPANS;
  const spans = traceparents.map((traceparent) =>
    traceparent ? startSpan(name, traceparent, { attributes }) : undefined,
  );
  return {
    end(error) {
      for (const span of spans) endSpan(span, error);
    },
  };
}

export { SpanKind };
