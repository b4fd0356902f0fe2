import { createRequire } from "node:module";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { type Attributes, TraceFlags } from "@opentelemetry/api";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { OtlpProtocol } from "./config/values.js";
import { jsonEncoding } from "./tracing-otlp-json.js";
import { protobufEncoding } from "./tracing-otlp-protobuf.js";

/**
 * Export off the thread that makes the spans (issue 22): the SDK's BatchSpanProcessor serializes
 * each batch and posts it in the thread that ended the spans, the request thread or the
 * processors'. This processor writes each ended span in OTLP's encoding (protobuf by default,
 * tracing-otlp-protobuf.ts; or JSON, tracing-otlp-json.ts) into a chunk of memory and, every
 * `delayMs` or `maxBatch` spans, frames them as one OTLP request (its resource and scope around
 * them) and moves the chunk (a transfer, not a copy) to an export thread, which posts it as it is
 * with the OTLP exporter library's HTTP transport (retries, timeouts, the OTEL_EXPORTER_OTLP_*
 * settings the library reads) and then moves the chunk back to be written again. One export thread per process: another thread
 * sends through a port into it (share, through).
 */

/**
 * The export thread (CommonJS, evaluated: it needs no loader, in development or built). It takes
 * whole OTLP requests from the thread that started it and from any thread given a port into
 * it, and gives each chunk back once its request is answered (or given up on).
 */
const WORKER_SOURCE = `
const { createRequire } = require("node:module");
const { parentPort, workerData } = require("node:worker_threads");
// The exporter's own copies of its base and transformer packages (the versions it was built with).
const exporterRequire = createRequire(workerData.exporterPath);
const { OTLPExporterBase } = exporterRequire("@opentelemetry/otlp-exporter-base");
const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = exporterRequire("@opentelemetry/otlp-exporter-base/node-http");
const { JsonTraceSerializer, ProtobufTraceSerializer } = exporterRequire("@opentelemetry/otlp-transformer");
const { deserializeResponse } = workerData.protobuf ? ProtobufTraceSerializer : JsonTraceSerializer;
// What OTLPTraceExporter is (OTLP/HTTP, protobuf or JSON), with a request already written.
const exporter = new OTLPExporterBase(createOtlpHttpExportDelegate(
  convertLegacyHttpOptions({ url: workerData.url }, "TRACES", "v1/traces", { "Content-Type": workerData.contentType }),
  { serializeRequest: (request) => request.body, deserializeResponse },
  "otlp_http_span_exporter",
  { name: "span", countItems: (request) => request.count },
  undefined,
));
let queue = Promise.resolve();
const listen = (port, own) => {
  port.on("message", (message) => {
    if (message.port) listen(message.port, false);
    if (message.request) {
      const { request, count } = message;
      queue = queue
        .then(() => new Promise((resolve) => exporter.export({ body: request, count }, resolve)))
        .then(() => port.postMessage({ chunk: request.buffer }, [request.buffer]));
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
  postMessage(message: unknown, transfer?: readonly (MessagePort | ArrayBuffer)[]): void;
  on(
    event: "message",
    listener: (message: { flushed?: number | string; chunk?: ArrayBuffer }) => void,
  ): unknown;
}

/**
 * How a thread's spans are written into a chunk and framed as one OTLP request: room is kept at
 * the chunk's start (`head`) and end (`tail`) for what goes around the spans.
 */
export interface OtlpEncoding {
  readonly contentType: string;
  readonly head: number;
  readonly tail: number;
  /**
   * Writes `span` at `at`, after `written` others, staying before `end`: the position after it, or
   * -1 when it does not fit (anything it wrote past `at` is left to be overwritten).
   */
  write(span: ReadableSpan, chunk: Buffer, at: number, written: number, end: number): number;
  /** Writes the request's start before chunk[head] and its end from `end`: the request's bytes. */
  frame(chunk: Buffer, end: number): Uint8Array;
}

/** Where an export thread posts, and what it says of the process's spans. */
export interface ExportTarget {
  /** The OTLP/HTTP traces URL (`{endpoint}/v1/traces`). */
  readonly url: string;
  /** The resource's attributes (service name and the SDK's). */
  readonly resource: Attributes;
  readonly scope: string;
  /** Default `http/protobuf`; every thread of a process exports in the same one. */
  readonly protocol?: OtlpProtocol;
}

const encodingFor = (source: Omit<ExportTarget, "url">): OtlpEncoding =>
  (source.protocol === "http/json" ? jsonEncoding : protobufEncoding)(source.resource, source.scope);

/** The bytes of spans a thread gathers before handing them over (at most maxBatch spans). */
const CHUNK_BYTES = 256 * 1024;
/** The chunks back from the export thread kept for reuse; more are left to the collector. */
const SPARE_CHUNKS = 4;

export class WorkerExportProcessor implements SpanProcessor {
  private readonly encoding: OtlpEncoding;
  /** The request being written: the spans ended since the last hand-over, from `encoding.head`. */
  private pending: Buffer;
  private pendingBytes = 0;
  private pendingSpans = 0;
  /** Chunks the export thread is done with, to be written again. */
  private readonly chunks: ArrayBuffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushes = 0;
  private readonly waiting = new Map<number | string, () => void>();
  private stopped: Promise<void> | undefined;

  private constructor(
    private readonly channel: Channel,
    /** Ends the channel once its last message is answered (the thread, or the port). */
    private readonly close: () => Promise<void>,
    source: Omit<ExportTarget, "url">,
    private readonly maxBatch: number,
    private readonly delayMs: number,
  ) {
    this.encoding = encodingFor(source);
    this.pending = this.started(new ArrayBuffer(CHUNK_BYTES));
    channel.on("message", (message) => {
      if (message.chunk) {
        if (this.chunks.length < SPARE_CHUNKS && message.chunk.byteLength === CHUNK_BYTES)
          this.chunks.push(message.chunk);
        return;
      }
      if (message.flushed === undefined) return;
      this.waiting.get(message.flushed)?.();
      this.waiting.delete(message.flushed);
    });
  }

  /** A request begun in `chunk`, room kept for its start. */
  private started(chunk: ArrayBuffer): Buffer {
    this.pendingBytes = this.encoding.head;
    return Buffer.from(chunk);
  }

  /** Starts an export thread of its own, posting to `target`. */
  static started(target: ExportTarget, maxBatch = 512, delayMs = 1000): WorkerExportProcessor {
    const require = createRequire(import.meta.url);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        url: target.url,
        protobuf: target.protocol !== "http/json",
        contentType: encodingFor(target).contentType,
        exporterPath: require.resolve("@opentelemetry/exporter-trace-otlp-http"),
      },
    });
    worker.unref();
    return new WorkerExportProcessor(
      worker,
      async () => {
        await worker.terminate();
      },
      target,
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
    return new WorkerExportProcessor(port, async () => port.close(), source, maxBatch, delayMs);
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
    if (!this.append(span)) {
      this.send();
      // A span larger than a chunk (thousands of links) gets a request of its own, as large as it takes.
      for (let bytes = 4 * CHUNK_BYTES; !this.append(span); bytes *= 4)
        this.pending = this.started(new ArrayBuffer(bytes));
    }
    if (this.pendingSpans >= this.maxBatch) this.send();
    else this.timer ??= setTimeout(() => this.send(), this.delayMs).unref();
  }

  /** Writes a span after the pending ones, room kept for the request's end; false when it does not fit. */
  private append(span: ReadableSpan): boolean {
    const end = this.pending.length - this.encoding.tail;
    const after = this.encoding.write(span, this.pending, this.pendingBytes, this.pendingSpans, end);
    if (after < 0) return false;
    this.pendingBytes = after;
    this.pendingSpans++;
    return true;
  }

  /** Hands the pending request to the export thread (its bytes moved, not copied). */
  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pendingSpans === 0) return;
    const request = this.encoding.frame(this.pending, this.pendingBytes);
    this.channel.postMessage({ request, count: this.pendingSpans }, [this.pending.buffer as ArrayBuffer]);
    this.pending = this.started(this.chunks.pop() ?? new ArrayBuffer(CHUNK_BYTES));
    this.pendingSpans = 0;
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
