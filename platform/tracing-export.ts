import { createRequire } from "node:module";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { type Attributes, TraceFlags } from "@opentelemetry/api";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { encodeSpan, envelope } from "./tracing-otlp-json.js";

/**
 * Export off the thread that makes the spans (issue 22): the SDK's BatchSpanProcessor serializes
 * each batch to OTLP JSON and posts it in the thread that ended the spans, the request thread or
 * the processors'. This processor writes an ended span's OTLP/JSON (tracing-otlp-json.ts: cheaper
 * than handing over a copy of the span to serialize there) and, every `delayMs` or `maxBatch`
 * spans, hands the batch's strings to an export thread that joins them under their resource and
 * posts them with the OTLP exporter library's HTTP transport (retries, timeouts, the
 * OTEL_EXPORTER_OTLP_* settings the library reads). One export thread per process: another thread
 * sends through a port into it (share, through).
 */

/**
 * The export thread (CommonJS, evaluated: it needs no loader, in development or built). It takes
 * span batches from the thread that started it and from any thread given a port into it, each
 * source with its resource (the request's `before` and `after` its spans).
 */
const WORKER_SOURCE = `
const { createRequire } = require("node:module");
const { parentPort, workerData } = require("node:worker_threads");
// The exporter's own copies of its base and transformer packages (the versions it was built with).
const exporterRequire = createRequire(workerData.exporterPath);
const { OTLPExporterBase } = exporterRequire("@opentelemetry/otlp-exporter-base");
const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = exporterRequire("@opentelemetry/otlp-exporter-base/node-http");
const { JsonTraceSerializer } = exporterRequire("@opentelemetry/otlp-transformer");
const encoder = new TextEncoder();
// What OTLPTraceExporter is (OTLP/HTTP JSON), with a request already written as JSON.
const exporter = new OTLPExporterBase(createOtlpHttpExportDelegate(
  convertLegacyHttpOptions({ url: workerData.url }, "TRACES", "v1/traces", { "Content-Type": "application/json" }),
  { serializeRequest: (request) => encoder.encode(request.body), deserializeResponse: JsonTraceSerializer.deserializeResponse },
  "otlp_http_span_exporter",
  { name: "span", countItems: (request) => request.count },
  undefined,
));
let queue = Promise.resolve();
const listen = (port, own) => {
  let envelope = own ? workerData.envelope : undefined;
  port.on("message", (message) => {
    if (message.port) listen(message.port, false);
    if (message.envelope) envelope = message.envelope;
    if (message.spans && envelope) {
      const request = { body: envelope.before + message.spans.join(",") + envelope.after, count: message.spans.length };
      queue = queue.then(() => new Promise((resolve) => exporter.export(request, resolve)));
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

/** What an export thread wraps a source's spans in. */
type Envelope = ReturnType<typeof envelope>;

export class WorkerExportProcessor implements SpanProcessor {
  private pending: string[] = [];
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
        url: target.url,
        envelope: envelope(target.resource, target.scope) satisfies Envelope,
        exporterPath: require.resolve("@opentelemetry/exporter-trace-otlp-http"),
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

  /** Sends through a port into another thread's export thread (see `share`), under its resource. */
  static through(
    port: MessagePort,
    source: Omit<ExportTarget, "url">,
    maxBatch = 512,
    delayMs = 1000,
  ): WorkerExportProcessor {
    port.unref();
    port.postMessage({ envelope: envelope(source.resource, source.scope) satisfies Envelope });
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
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0 || this.stopped) return;
    this.pending.push(encodeSpan(span));
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
