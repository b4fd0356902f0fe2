import {
  type Attributes,
  type AttributeValue,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
} from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base";

/**
 * A span as this service records it (issue 22): OpenTelemetry's API `Span`, which the call sites
 * use, and the SDK's `ReadableSpan`, which its span processors and exporters take (the in-memory
 * exporter in tests, the OTLP written where a span ends). What it leaves out of the SDK's own
 * span is what a reservation's spans never need and each span paid for: a context to look its
 * parent up in (the parent is given as a traceparent), a sampler call (the decision is taken before,
 * from the traceparent's flag and the ratio), span limits and attribute sanitizing (every attribute
 * is set by this service's code, never copied from a request), and times kept as `HrTime` (kept as
 * milliseconds since the epoch, turned into `HrTime` only when an exporter reads them).
 */

/** What a recorded span needs of the thread that records it. */
export interface SpanSink {
  readonly resource: Resource;
  readonly instrumentationScope: { readonly name: string };
  /** Called once, when the span ends. */
  ended(span: RecordedSpan): void;
}

const origin = performance.timeOrigin;

/** Now, in milliseconds since the epoch (sub-millisecond, monotonic within the process). */
export const nowMs = (): number => origin + performance.now();

/**
 * A time as milliseconds since the epoch: a Date, an HrTime, or a number that is either that
 * already or a `performance.now()` reading (smaller than the time origin), as the SDK reads them.
 */
export function epochMs(time: TimeInput | undefined): number {
  if (time === undefined) return nowMs();
  if (typeof time === "number") return time < origin ? origin + time : time;
  if (time instanceof Date) return time.getTime();
  return time[0] * 1_000 + time[1] / 1e6;
}

/** Milliseconds since the epoch as whole seconds and nanoseconds, as the SDK writes them, given to `use`. */
export function splitMs<T>(ms: number, use: (seconds: number, nanos: number) => T): T {
  const seconds = Math.trunc(ms / 1_000);
  const nanos = Math.round((ms - seconds * 1_000) * 1e6);
  return nanos >= 1e9 ? use(seconds + 1, nanos - 1e9) : use(seconds, nanos);
}

const pair = (seconds: number, nanos: number): HrTime => [seconds, nanos];

/** Milliseconds since the epoch as an HrTime (whole seconds, nanoseconds), as the SDK writes it. */
export const hrTime = (ms: number): HrTime => splitMs(ms, pair);

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/** Whether the SDK would keep every one of these attributes (a key, a value that is not null). */
function kept(attributes: Attributes): boolean {
  for (const key in attributes) if (key.length === 0 || attributes[key] == null) return false;
  return true;
}

/** The attributes the SDK would keep of these (the same object when it keeps them all). */
function sanitized(attributes: Attributes | undefined): Attributes {
  if (!attributes) return NO_ATTRIBUTES;
  if (kept(attributes)) return attributes;
  const out: Attributes = {};
  for (const key in attributes) if (key.length > 0 && attributes[key] != null) out[key] = attributes[key];
  return out;
}

export class RecordedSpan implements Span, ReadableSpan {
  readonly events: TimedEvent[] = [];
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  endMs = 0;
  attributes: Attributes;
  links: Link[];
  private readonly context: SpanContext;
  /** Whether `attributes` is the object the span was started with (copied before a change). */
  private sharedAttributes: boolean;

  constructor(
    private readonly sink: SpanSink,
    public name: string,
    traceId: string,
    spanId: string,
    readonly parentSpanContext: SpanContext | undefined,
    readonly kind: SpanKind,
    readonly startMs: number,
    attributes: Attributes | undefined,
    links: Link[] | undefined,
  ) {
    this.context = { traceId, spanId, traceFlags: 1 };
    // Kept as given when every attribute is one the SDK would keep (what the service passes).
    this.sharedAttributes = attributes !== undefined && kept(attributes);
    this.attributes = this.sharedAttributes ? (attributes as Attributes) : {};
    if (attributes && !this.sharedAttributes) this.setAttributes(attributes);
    this.links = links ?? [];
  }

  /** The traceparent that makes what follows a child of this span. */
  get traceparent(): string {
    return `00-${this.context.traceId}-${this.context.spanId}-01`;
  }

  get resource(): Resource {
    return this.sink.resource;
  }
  get instrumentationScope(): { readonly name: string } {
    return this.sink.instrumentationScope;
  }
  get startTime(): HrTime {
    return hrTime(this.startMs);
  }
  get endTime(): HrTime {
    return hrTime(this.endMs);
  }
  get duration(): HrTime {
    const ms = Math.max(0, this.endMs - this.startMs);
    return [Math.trunc(ms / 1_000), Math.round((ms % 1_000) * 1e6)];
  }

  spanContext(): SpanContext {
    return this.context;
  }
  isRecording(): boolean {
    return !this.ended;
  }
  setAttribute(key: string, value: AttributeValue): this {
    // As the SDK: nothing after the end, no null value, no empty key.
    if (this.ended || value == null || key.length === 0) return this;
    if (this.sharedAttributes) {
      // Not `{ ...attributes }`: V8 adds a property to a spread copy through its slow path (~0.6 µs
      // here, the request span's status code on every request), to an assigned copy in ~40 ns.
      this.attributes = Object.assign({}, this.attributes);
      this.sharedAttributes = false;
    }
    this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    for (const key in attributes) {
      const value = attributes[key];
      if (Object.hasOwn(attributes, key) && value != null) this.setAttribute(key, value);
    }
    return this;
  }
  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    const timeGiven =
      typeof attributesOrTime === "number" ||
      attributesOrTime instanceof Date ||
      Array.isArray(attributesOrTime);
    this.events.push({
      name,
      attributes: timeGiven ? NO_ATTRIBUTES : sanitized(attributesOrTime as Attributes | undefined),
      time: hrTime(epochMs(timeGiven ? (attributesOrTime as TimeInput) : time)),
      droppedAttributesCount: 0,
    });
    return this;
  }
  addLink(link: Link): this {
    if (!this.ended) this.links.push(link);
    return this;
  }
  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }
  setStatus(status: SpanStatus): this {
    // As the SDK: OK is final, UNSET changes nothing, a message goes with ERROR only.
    if (this.ended || this.status.code === SpanStatusCode.OK || status.code === SpanStatusCode.UNSET)
      return this;
    this.status =
      status.code === SpanStatusCode.ERROR && typeof status.message === "string"
        ? { code: status.code, message: status.message }
        : { code: status.code };
    return this;
  }
  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }
  /** As the SDK records one: an `exception` event with its type, message and stack. */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === "string") attributes["exception.message"] = exception;
    else if (exception) {
      if (exception.code) attributes["exception.type"] = exception.code.toString();
      else if (exception.name) attributes["exception.type"] = exception.name;
      if (exception.message) attributes["exception.message"] = exception.message;
      if (exception.stack) attributes["exception.stacktrace"] = exception.stack;
    }
    if (!attributes["exception.type"] && !attributes["exception.message"]) return;
    this.addEvent("exception", attributes, time);
  }
  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.ended = true;
    this.endMs = Math.max(this.startMs, epochMs(endTime));
    this.sink.ended(this);
  }
}

export { SpanKind };
