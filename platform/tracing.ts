import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";

/**
 * Distributed tracing (issue 22) on OpenTelemetry's JS SDK. One trace per request: the HTTP span
 * (continuing the caller's W3C `traceparent`), the command's decision and append, and, through the
 * `traceparent` the events carry in their metadata, each projection's apply, the coupon policy's
 * reaction and the reservation becoming visible. Off unless started (OTEL_EXPORTER_OTLP_ENDPOINT):
 * then no span is made and a request costs the parsing of its `traceparent` header.
 *
 * One provider per thread (the processors' worker thread starts its own from the same
 * configuration); spans get their parent explicitly from a traceparent, so no context manager
 * is needed across the service's queues and batches.
 */

let provider: BasicTracerProvider | undefined;
let active: Tracer | undefined;

export interface TracingHandle {
  /** Exports what is pending and stops (idempotent). */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing in this thread: spans go to `exporter` (tests: the SDK's InMemorySpanExporter, one
 * at a time) or, batched, over OTLP/HTTP JSON to `{endpoint}/v1/traces`. Returns undefined when
 * tracing already runs in this thread (whoever started it stops it).
 */
export function startTracing(options: {
  readonly endpoint?: string;
  readonly exporter?: SpanExporter;
  readonly serviceName?: string;
  /** The share of the traces started here that are recorded (default 1: all). */
  readonly sampleRatio?: number;
}): TracingHandle | undefined {
  if (provider) return undefined;
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({ url: `${(options.endpoint ?? "").replace(/\/+$/, "")}/v1/traces` });
  const started = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? "parking-reservations" }),
    // A caller's sampling decision (its traceparent's flag) is kept; traces started here are
    // recorded at the configured ratio, so a busy service can trace a share of its requests.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
    spanProcessors: [
      options.exporter
        ? new SimpleSpanProcessor(exporter)
        : new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 }),
    ],
  });
  provider = started;
  active = started.getTracer("parking-reservations");
  let stopped: Promise<void> | undefined;
  return {
    shutdown() {
      stopped ??= (async () => {
        if (provider === started) {
          provider = undefined;
          active = undefined;
        }
        await started.forceFlush();
        await started.shutdown();
      })();
      return stopped;
    },
  };
}

export const tracingOn = (): boolean => active !== undefined;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A W3C `traceparent` (version 00) as a span context; undefined when absent or malformed. */
export function parseTraceparent(header: unknown): SpanContext | undefined {
  if (typeof header !== "string" || header.length !== 55) return undefined;
  const match = TRACEPARENT.exec(header);
  if (!match) return undefined;
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & 1, isRemote: true };
}

export const formatTraceparent = (span: SpanContext): string =>
  `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`;

const parentOf = (traceparent: string | undefined): Context => {
  const parent = parseTraceparent(traceparent);
  return parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
};

/**
 * A span under the span a `traceparent` names (a root span without one), or undefined when
 * tracing is off. `startTime` (ms) backdates it, e.g. to when an event was appended.
 */
export function startSpan(
  name: string,
  traceparent: string | undefined,
  options: { readonly attributes?: Attributes; readonly kind?: SpanKind; readonly startTime?: number } = {},
): Span | undefined {
  if (!active) return undefined;
  return active.startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
      ...(options.startTime === undefined ? {} : { startTime: options.startTime }),
    },
    parentOf(traceparent),
  );
}

/** The `traceparent` that makes what follows a child of `span` (or the one given, with tracing off). */
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

/** Runs `work` in a span under `traceparent` (just runs it with tracing off). */
export function traced<T>(
  name: string,
  traceparent: string | undefined,
  attributes: Attributes,
  work: () => T,
): T {
  if (!active || traceparent === undefined) return work();
  const span = startSpan(name, traceparent, { attributes });
  let failure: unknown;
  try {
    return work();
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    endSpan(span, failure);
  }
}

/** One span per traced command of a batch (decide, append): ended together. */
export function batchSpans(
  name: string,
  traceparents: readonly (string | undefined)[],
  attributes: Attributes,
): { end(error?: unknown): void } {
  if (!active) return { end() {} };
  const spans = traceparents.flatMap((tp) => (tp ? [startSpan(name, tp, { attributes })] : []));
  return {
    end(error) {
      for (const span of spans) endSpan(span, error);
    },
  };
}

export { SpanKind };
