import { createRequire } from "node:module";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { type Attributes, type HrTime, type SpanKind, TraceFlags } from "@opentelemetry/api";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";

/**
 * Export off the thread that makes the spans (issue 22): the SDK's BatchSpanProcessor serializes
 * each batch to OTLP JSON and posts it in the thread that ended the spans, the request thread or
 * the processors'. This processor only copies an ended span's fields into a plain array and, every
 * `delayMs` or `maxBatch` spans, hands the batch to a worker thread that holds the OTLP/HTTP
 * exporter (serialization, HTTP, retries). What stays on the span's thread is the SDK's span and
 * one structured clone per batch.
 */

/** An ended span's fields, as a structured clone carries them cheaply (positional). */
type CompactSpan = [
  name: string,
  kind: SpanKind,
  traceId: string,
  spanId: string,
  traceFlags: number,
  parentSpanId: string | undefined,
  parentRemote: boolean | undefined,
  startTime: HrTime,
  endTime: HrTime,
  attributes: Attributes,
  statusCode: number,
  statusMessage: string | undefined,
  events: readonly { name: string; time: HrTime; attributes?: Attributes }[],
  /** Linked spans: trace id, span id, flags (undefined: none). */
  links: readonly (readonly [string, string, number])[] | undefined,
];

/**
 * The export thread (CommonJS, evaluated: it needs no loader, in development or built). It takes
 * span batches from the thread that started it and from any thread given a port into it (one
 * export pipeline per process: the processors' thread sends its spans through the request
 * thread's), each source with its resource.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { OTLPTraceExporter } = require(workerData.exporterPath);
const { resourceFromAttributes } = require(workerData.resourcesPath);
const exporter = new OTLPTraceExporter({ url: workerData.url });
const scope = { name: workerData.scope };
const readable = (s, resource) => {
  const context = { traceId: s[2], spanId: s[3], traceFlags: s[4] };
  const [ss, sn] = s[7];
  const [es, en] = s[8];
  let ds = es - ss, dn = en - sn;
  if (dn < 0) { ds -= 1; dn += 1e9; }
  return {
    name: s[0], kind: s[1], spanContext: () => context,
    parentSpanContext: s[5] ? { traceId: s[2], spanId: s[5], traceFlags: s[4], isRemote: s[6] } : undefined,
    startTime: s[7], endTime: s[8], duration: [ds, dn], ended: true,
    attributes: s[9], status: { code: s[10], message: s[11] }, events: s[12],
    links: (s[13] || []).map(([traceId, spanId, traceFlags]) => ({ context: { traceId, spanId, traceFlags }, attributes: {} })),
    resource, instrumentationScope: scope,
    droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
  };
};
let queue = Promise.resolve();
const listen = (port, own) => {
  let resource = own ? resourceFromAttributes(workerData.resource) : undefined;
  port.on("message", (message) => {
    if (message.port) listen(message.port, false);
    if (message.resource) resource = resourceFromAttributes(message.resource);
    if (message.spans) {
      const spans = message.spans.map((s) => readable(s, resource));
      queue = queue.then(() => new Promise((resolve) => exporter.export(spans, resolve)));
    }
    if (message.flush !== undefined) {
      const id = message.flush;
      queue = queue.then(() => port.postMessage({ flushed: id }));
    }
    if (message.shutdown) {
      // A shared port's thread is done: what it sent is exported; the exporter stays for the rest.
      queue = (own ? queue.then(() => exporter.shutdown()) : queue)
        .then(() => port.postMessage({ flushed: "shutdown" }))
        .then(() => { if (!own) port.close(); });
    }
  });
};
listen(parentPort, true);
`;

/** What a WorkerExportProcessor talks to: its own export thread, or a port into another's. */
interface Channel {
  postMessage(message: unknown, transfer?: readonly MessagePort[]): void;
  on(event: "message", listener: (message: { flushed: number | string }) => void): unknown;
}

/** Where an export thread posts, and what it says of the process's spans. */
export interface ExportTarget {
  /** The OTLP/HTTP traces URL (`{endpoint}/v1/traces`). */
  readonly url: string;
  /** The resource's attributes (service name and the SDK's). */
  readonly resource: Attributes;
  readonly scope: string;
}

export class WorkerExportProcessor implements SpanProcessor {
  private pending: CompactSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushes = 0;
  private readonly waiting = new Map<number | string, () => void>();
  private stopped: Promise<void> | undefined;

  private constructor(
    private readonly channel: Channel,
    /** Ends the channel once its last message is answered (the thread, or the port). */
    private readonly close: () => Promise<void>,
    private readonly maxBatch: number,
    private readonly delayMs: number,
  ) {
    channel.on("message", (message) => {
      this.waiting.get(message.flushed)?.();
      this.waiting.delete(message.flushed);
    });
  }

  /** Starts an export thread of its own, posting to `target`. */
  static started(target: ExportTarget, maxBatch = 512, delayMs = 1000): WorkerExportProcessor {
    const require = createRequire(import.meta.url);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        ...target,
        exporterPath: require.resolve("@opentelemetry/exporter-trace-otlp-http"),
        resourcesPath: require.resolve("@opentelemetry/resources"),
      },
    });
    worker.unref();
    return new WorkerExportProcessor(
      worker,
      async () => {
        await worker.terminate();
      },
      maxBatch,
      delayMs,
    );
  }

  /** Sends through a port into another thread's export thread (see `share`), under `resource`. */
  static through(
    port: MessagePort,
    resource: Attributes,
    maxBatch = 512,
    delayMs = 1000,
  ): WorkerExportProcessor {
    port.unref();
    port.postMessage({ resource });
    return new WorkerExportProcessor(port, async () => port.close(), maxBatch, delayMs);
  }

  /**
   * A port another thread of the process hands to `through`, so that its spans go out by this
   * processor's export thread: one export pipeline per process. Undefined when this processor
   * itself sends through a port, or has stopped.
   */
  share(): MessagePort | undefined {
    if (!(this.channel instanceof Worker) || this.stopped) return undefined;
    const { port1, port2 } = new MessageChannel();
    this.channel.postMessage({ port: port2 }, [port2]);
    return port1;
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    const context = span.spanContext();
    if ((context.traceFlags & TraceFlags.SAMPLED) === 0 || this.stopped) return;
    const parent = span.parentSpanContext;
    this.pending.push([
      span.name,
      span.kind,
      context.traceId,
      context.spanId,
      context.traceFlags,
      parent?.spanId,
      parent?.isRemote,
      span.startTime,
      span.endTime,
      span.attributes,
      span.status.code,
      span.status.message,
      span.events,
      span.links.length === 0
        ? undefined
        : span.links.map(
            (link) => [link.context.traceId, link.context.spanId, link.context.traceFlags] as const,
          ),
    ]);
    if (this.pending.length >= this.maxBatch) this.send();
    else this.timer ??= setTimeout(() => this.send(), this.delayMs).unref();
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    this.channel.postMessage({ spans: this.pending });
    this.pending = [];
  }

  private ask(message: object, id: number | string): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.channel.postMessage(message);
    });
  }

  /** Everything ended so far handed over and exported (or given up on by the exporter). */
  forceFlush(): Promise<void> {
    this.send();
    const id = ++this.flushes;
    return this.ask({ flush: id }, id);
  }

  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      this.send();
      await this.ask({ shutdown: true }, "shutdown");
      await this.close();
    })();
    return this.stopped;
  }
}
