import type { Worker } from "node:worker_threads";
import type { MetricObjectWithValues, MetricValue } from "prom-client";
import type { EventStore } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { Config } from "../platform/config.js";
import type { Logger } from "../platform/logger.js";
import type { StallBoard } from "../platform/stall-board.js";
import type { ProcessorStatus } from "../projections/runtime/processor-runtime.js";
import {
  type AppendReply,
  type AppendRequest,
  type CommitNotice,
  CommitSignal,
  relayCommits,
  serveAppend,
} from "./append-relay.js";
import { type SpawnedProcessors, spawnProcessors } from "./processors-spawn.js";

export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** Messages from the processors thread (app/processors-worker.ts). */
export type FromProcessors =
  | { type: "status"; processors: ProcessorStatus[] }
  | { type: "advance"; name: string; position: Position }
  | { type: "metrics"; id: number; metrics: WorkerMetrics }
  | { type: "stopped" }
  | { type: "failed"; error: string }
  | AppendRequest;

/** Messages to it. */
export type ToProcessors =
  | { type: "go" }
  | { type: "metrics"; id: number }
  | { type: "stop" }
  | AppendReply
  | CommitNotice;

const STOP_TIMEOUT_MS = 10_000;

/**
 * The request thread's side of the processors thread: it starts the worker, waits until the
 * projectors and the coupon policy run, and then stands in for them (status for /readyz and the
 * lag gauges, progress for read-your-writes, metrics for /metrics).
 * If the worker dies, every processor reports failed, so /readyz turns 503.
 */
export class ProcessorThread {
  private statuses: ProcessorStatus[] = [];
  private readonly listeners = new Set<(name: string, position: Position) => void>();
  private readonly metricRequests = new Map<number, (metrics: WorkerMetrics) => void>();
  private nextMetricsId = 0;
  private exited = false;
  private stopping: Promise<void> | undefined;
  /** Stops telling the worker of this thread's commits. */
  private stopRelayingCommits: () => void = () => undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly logger: Logger,
    private readonly eventStore: EventStore,
  ) {}

  /**
   * Starts the worker. `eventStore` is this thread's connection: with the embedded store the
   * worker appends through it (see append-relay.ts), so one connection writes the file.
   */
  static async start(
    config: Config,
    logger: Logger,
    eventStore: EventStore,
    stallBoard?: StallBoard,
    spawned: SpawnedProcessors = spawnProcessors(config, stallBoard),
  ): Promise<ProcessorThread> {
    const { worker, ended } = spawned;
    if (ended.reason) throw ended.reason;
    const commits = new CommitSignal(spawned.commits);
    const thread = new ProcessorThread(worker, logger, eventStore);
    // The worker learns of this thread's appends when they commit, not when it next polls.
    thread.stopRelayingCommits = relayCommits(eventStore, commits, (notice) => thread.post(notice));
    await new Promise<void>((resolve, reject) => {
      worker.on("message", (message: FromProcessors) => {
        if (message.type === "failed" && thread.statuses.length === 0) reject(new Error(message.error));
        thread.receive(message);
        if (message.type === "status") resolve();
      });
      worker.once("error", (error) => {
        reject(error);
        thread.died(String(error));
      });
      worker.once("exit", (code) => {
        reject(new Error(`the processors thread exited (${code}) before it started`));
        thread.died(`exited with code ${code}`);
      });
      // This thread's stores are open: the worker may open its own.
      worker.postMessage({ type: "go" } satisfies ToProcessors);
    });
    return thread;
  }

  /** Each processor's state (projections, coupon policy) as the worker last reported it. */
  status(): ProcessorStatus[] {
    return this.statuses;
  }

  onAdvance(listener: (name: string, position: Position) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The worker's metrics (projections, coupon policy), as prom-client JSON to aggregate. */
  metrics(): Promise<WorkerMetrics> {
    if (this.exited) return Promise.resolve([]);
    const id = this.nextMetricsId++;
    return new Promise((resolve) => {
      this.metricRequests.set(id, resolve);
      this.post({ type: "metrics", id });
      setTimeout(() => {
        if (this.metricRequests.delete(id)) resolve([]);
      }, 1000).unref();
    });
  }

  /** Stops the projectors and the coupon policy (checkpoints saved per batch) and ends the thread. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.exited) return;
      const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
      this.stopRelayingCommits();
      this.post({ type: "stop" });
      const timer = setTimeout(() => {
        this.logger.warn("the processors thread did not stop in time; terminating it");
        void this.worker.terminate();
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    })();
    return this.stopping;
  }

  private receive(message: FromProcessors): void {
    switch (message.type) {
      case "status":
        this.statuses = message.processors;
        return;
      case "advance": {
        this.statuses = this.statuses.map((s) =>
          s.name === message.name ? { ...s, position: message.position } : s,
        );
        for (const listener of this.listeners) listener(message.name, message.position);
        return;
      }
      case "metrics":
        this.metricRequests.get(message.id)?.(message.metrics);
        this.metricRequests.delete(message.id);
        return;
      case "append":
        void serveAppend(this.eventStore, message).then((reply) => this.post(reply));
        return;
      case "stopped":
        return;
      case "failed":
        this.logger.error({ error: message.error }, "processors thread failed");
        return;
    }
  }

  private died(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    this.stopRelayingCommits();
    for (const resolve of this.metricRequests.values()) resolve([]);
    this.metricRequests.clear();
    if (this.stopping) return;
    this.logger.error({ reason }, "the processors thread ended: projections and the coupon policy stopped");
    this.statuses = this.statuses.map((s) => ({
      ...s,
      state: "failed",
      error: `processors thread ${reason}`,
    }));
  }

  private post(message: ToProcessors): void {
    if (!this.exited) this.worker.postMessage(message);
  }
}
