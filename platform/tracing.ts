import { randomBytes } from "node:crypto";
import type { MessagePort } from "node:worker_threads";
import { type Attributes, type Link, type Span, type SpanContext, SpanStatusCode } from "@opentelemetry/api";
import { defaultResource, type Resource, resourceFromAttributes } from "@opentelemetry/resources";
import { SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { OtlpProtocol } from "./config/values.js";
import { WorkerExportProcessor } from "./tracing-export.js";
import { epochMs, nowMs, RecordedSpan, SpanKind, type SpanSink } from "./tracing-span.js";

/**
 * Distributed tracing (issue 22) on OpenTelemetry: the API's spans and the W3C traceparent, the
 * SDK's resource, span processors and exporters (the in-memory one in tests; over OTLP, the
 * exporter library's HTTP transport in an export thread). One trace per request: the HTTP span
 * (continuing the caller's W3C `traceparent`), the command's decision and append, and, through the
 * `traceparent` the events carry in their metadata, each projection's apply (one span per batch of
 * events, linked to the trace of each: linkedSpan), the coupon policy's reaction and the reservation
 * becoming visible. Off unless started (OTEL_EXPORTER_OTLP_ENDPOINT): then no span is made and no
 * `traceparent` is read or carried (platform/http/tracing.ts).
 *
 * Spans are recorded here (tracing-span.ts), not by the SDK's tracer: its span lifecycle (the
 * context lookup, the sampler, limits and attribute sanitizing, times as HrTime) cost about five
 * times what recording a reservation's spans needs, a fifth of the service's throughput when every
 * trace is recorded (BENCHMARKS.md). What they are handed to is the SDK's: any `SpanProcessor`.
 *
 * One recorder per thread (the processors' worker thread starts its own from the same
 * configuration), one export thread per process (the processors' thread sends its spans through
 * the request thread's: exportPort, exportThrough); spans get their parent explicitly from a
 * traceparent, so no context manager is needed across the service's queues and batches.
 */

const SCOPE = "parking-reservations";

/** What this thread records spans into, while tracing runs here. */
interface Recorder extends SpanSink {
  readonly processor: SpanProcessor;
  /** The share of the traces started here that are recorded. */
  readonly rootRatio: number;
}

let active: Recorder | undefined;

export interface TracingHandle {
  /** Exports what is pending and stops (idempotent). */
  shutdown(): Promise<void>;
}

/** The processor a thread's spans go to: the given exporter's, or the OTLP export thread's. */
function processorFor(
  options: { readonly endpoint?: string; readonly exporter?: SpanExporter; readonly protocol?: OtlpProtocol },
  resource: Resource,
): { processor: SpanProcessor; exporting?: WorkerExportProcessor } {
  if (options.exporter) return { processor: new SimpleSpanProcessor(options.exporter) };
  const through = sharedPort;
  sharedPort = undefined;
  // Written where spans end and posted over OTLP/HTTP by a worker thread, not this one: this thread's own,
  // or the one another thread of the process handed a port into (exportThrough).
  const exporting = through
    ? WorkerExportProcessor.through(through, {
        resource: resource.attributes,
        scope: SCOPE,
        protocol: options.protocol,
      })
    : WorkerExportProcessor.started({
        url: `${(options.endpoint ?? "").replace(/\/+$/, "")}/v1/traces`,
        resource: resource.attributes,
        scope: SCOPE,
        protocol: options.protocol,
      });
  return { processor: exporting, exporting };
}

/**
 * Starts tracing in this thread: spans go to `exporter` (tests: the SDK's InMemorySpanExporter, one
 * at a time) or, batched, over OTLP/HTTP (protobuf, or JSON) to `{endpoint}/v1/traces`. Returns undefined when
 * tracing already runs in this thread (whoever started it stops it).
 */
export function startTracing(options: {
  readonly endpoint?: string;
  /** OTLP/HTTP's encoding (default `http/protobuf`); the same in every thread of a process. */
  readonly protocol?: OtlpProtocol;
  readonly exporter?: SpanExporter;
  readonly serviceName?: string;
  /** The share of the traces started here that are recorded (default 1: all). */
  readonly sampleRatio?: number;
}): TracingHandle | undefined {
  if (active) return undefined;
  const resource = defaultResource().merge(
    resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? "parking-reservations" }),
  );
  const { processor, exporting } = processorFor(options, resource);
  const started: Recorder = {
    resource,
    instrumentationScope: { name: SCOPE },
    processor,
    // A caller's sampling decision (its traceparent's flag) is kept; traces started here are
    // recorded at the configured ratio, so a busy service can trace a share of its requests: that
    // decision is taken before any span is made (startSpan), so an unrecorded trace costs nothing.
    rootRatio: options.sampleRatio ?? 1,
    ended: (span) => processor.onEnd(span),
  };
  exportProcessor = exporting;
  active = started;
  let stopped: Promise<void> | undefined;
  return {
    shutdown() {
      stopped ??= (async () => {
        if (active === started) {
          active = undefined;
          exportProcessor = undefined;
        }
        await processor.forceFlush();
        await processor.shutdown();
      })();
      return stopped;
    },
  };
}

export const tracingOn = (): boolean => active !== undefined;

/** This thread's export processor, when it exports over OTLP (not to a given exporter). */
let exportProcessor: WorkerExportProcessor | undefined;
/** A port into another thread's export thread, for the next startTracing here (exportThrough). */
let sharedPort: MessagePort | undefined;

/**
 * A port into this thread's export thread, for another thread of the process to pass to
 * `exportThrough` (the processors' thread), so that the process has one export pipeline: one
 * thread serializing and posting, batches of both threads' spans. Undefined with tracing off here.
 */
export const exportPort = (): MessagePort | undefined => exportProcessor?.share();

/** Makes this thread's next startTracing (without an exporter) send its spans through `port`. */
export function exportThrough(port: MessagePort | undefined): void {
  sharedPort = port;
}

/** Whether `code` is a lowercase hex digit. */
const hex = (code: number): boolean => (code >= 48 && code <= 57) || (code >= 97 && code <= 102);

/** Whether header[from, to) is lowercase hex and not all zeros. */
function hexId(header: string, from: number, to: number): boolean {
  let nonZero = false;
  for (let i = from; i < to; i++) {
    const code = header.charCodeAt(i);
    if (!hex(code)) return false;
    if (code !== 48) nonZero = true;
  }
  return nonZero;
}

/**
 * A W3C `traceparent` (version 00) as it is carried on (the sampled flag kept, the other flags
 * cleared); undefined when absent or malformed. Allocates nothing when the header is absent,
 * malformed or already in that form (what the service itself sends on).
 */
export function validTraceparent(header: unknown): string | undefined {
  if (typeof header !== "string" || header.length !== 55) return undefined;
  if (header.charCodeAt(0) !== 48 || header.charCodeAt(1) !== 48) return undefined;
  if (header.charCodeAt(2) !== 45 || header.charCodeAt(35) !== 45 || header.charCodeAt(52) !== 45)
    return undefined;
  if (!hexId(header, 3, 35) || !hexId(header, 36, 52)) return undefined;
  const high = header.charCodeAt(53);
  const low = header.charCodeAt(54);
  if (!hex(high) || !hex(low)) return undefined;
  if (high === 48 && (low === 48 || low === 49)) return header;
  const sampled = Number.parseInt(header.slice(54), 16) & 1;
  return `${header.slice(0, 53)}0${sampled}`;
}

/** A W3C `traceparent` (version 00) as a span context; undefined when absent or malformed. */
export function parseTraceparent(header: unknown): SpanContext | undefined {
  const valid = validTraceparent(header);
  return valid ? carriedContext(valid) : undefined;
}

export const formatTraceparent = (span: SpanContext): string =>
  `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`;

/**
 * Random hex digits, drawn in blocks: an id is a slice of the block (no copy), so a span's id costs
 * a comparison and a slice, not a random number per word formatted as hex.
 */
let pool = "";
let taken = 0;
const POOL_DIGITS = 16_384;
const NO_ID = { 16: "0".repeat(16), 32: "0".repeat(32) };

/** A random id of `digits` lowercase hex digits, not all zeros (as the W3C trace context asks). */
function randomId(digits: 16 | 32): string {
  if (taken + digits > pool.length) {
    pool = randomBytes(POOL_DIGITS / 2).toString("hex");
    taken = 0;
  }
  const id = pool.slice(taken, taken + digits);
  taken += digits;
  return id === NO_ID[digits] ? randomId(digits) : id;
}

/**
 * The span context a carried traceparent names. Every traceparent spans are started under was
 * checked where it entered (validTraceparent at the edge; the event schema's pattern when an event
 * is read) or made by a span here, so only its form is looked at: no digit is checked again (that
 * check, made for each span and each link, was a tenth of what tracing cost a thread).
 */
function carriedContext(traceparent: string): SpanContext | undefined {
  if (
    traceparent.length !== 55 ||
    traceparent.charCodeAt(2) !== 45 ||
    traceparent.charCodeAt(35) !== 45 ||
    traceparent.charCodeAt(52) !== 45
  )
    return undefined;
  return {
    traceId: traceparent.slice(3, 35),
    spanId: traceparent.slice(36, 52),
    traceFlags: traceparent.charCodeAt(54) === 49 ? 1 : 0,
    isRemote: true,
  };
}

/**
 * Whether a traceparent says its trace is not sampled: under the parent-based sampler no span under
 * it is ever recorded, so none is started (the SDK would still make a non-recording span, ids and
 * all: most of what a 1%-sampled service spent on tracing). What follows carries it on as it is.
 */
const unsampled = (traceparent: string | undefined): boolean =>
  traceparent !== undefined && traceparent.charCodeAt(54) === 48;

/** Whether spans under `traceparent` are recorded (tracing on, a sampled trace): else none is made. */
export const recorded = (traceparent: string | undefined): boolean =>
  active !== undefined && traceparent !== undefined && !unsampled(traceparent);

/**
 * A span under the span a carried `traceparent` names (one checked where it entered: see
 * carriedContext; a root span without one), or undefined when
 * tracing is off or the span would not be recorded: under a trace not sampled, or as the root of a
 * trace the sampling ratio leaves out (decided here, so that such a request costs one random
 * number: no ids, no span, no traceparent carried on). `startTime` (ms since the epoch, or
 * `performance.now()`) backdates it, e.g. to when an event was appended. The span keeps the
 * `attributes` object it is given until one is set on it (pass one not changed afterwards).
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
): RecordedSpan | undefined {
  if (!active || unsampled(traceparent)) return undefined;
  if (traceparent === undefined && active.rootRatio < 1 && !(Math.random() < active.rootRatio))
    return undefined;
  const parent = traceparent === undefined ? undefined : carriedContext(traceparent);
  return new RecordedSpan(
    active,
    name,
    parent ? parent.traceId : randomId(32),
    randomId(16),
    parent,
    options.kind ?? SpanKind.INTERNAL,
    options.startTime === undefined ? nowMs() : epochMs(options.startTime),
    options.attributes,
    options.links,
  );
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
): RecordedSpan | undefined {
  if (!active) return undefined;
  let parent: string | undefined;
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const traceparent of traceparents) {
    if (unsampled(traceparent) || seen.has(traceparent)) continue;
    seen.add(traceparent);
    const context = carriedContext(traceparent);
    if (!context) continue;
    parent ??= traceparent;
    links.push({ context });
  }
  if (parent === undefined) return undefined;
  // The links first: on Node 20 a property after a spread takes V8's slow path (bench/object-spread.ts).
  return startSpan(name, parent, { links, ...options });
}

/** The `traceparent` that makes what follows a child of `span` (or the one given, when no span was made). */
export const traceparentFor = (span: Span | undefined, fallback: string | undefined): string | undefined =>
  span ? (span instanceof RecordedSpan ? span.traceparent : formatTraceparent(span.spanContext())) : fallback;

/** Ends a span, marked as an error when `error` is given. */
export function endSpan(span: Span | undefined, error?: unknown): void {
  if (!span) return;
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** What batchSpans gives with tracing off: one shared object, nothing allocated. */
export const NO_SPANS: { end(error?: unknown): void } = { end() {} };

/** One span per traced command of a batch (decide, append): ended together. */
export function batchSpans(
  name: string,
  traceparents: readonly (string | undefined)[],
  attributes: Attributes,
): { end(error?: unknown): void } {
  if (!active) return NO_SPANS;
  const spans: (RecordedSpan | undefined)[] = [];
  for (const traceparent of traceparents)
    if (traceparent) spans.push(startSpan(name, traceparent, { attributes }));
  return {
    end(error) {
      for (const span of spans) endSpan(span, error);
    },
  };
}

export { SpanKind };
