import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import type { Logger, LogOutput } from "./logger.js";
import type { EventLoopStats } from "./metrics.js";
import { StallBoard, type WatchedThread } from "./stall-board.js";
import { workerSource } from "./worker-source.js";

/** What /healthz says of the event loop. */
export type Liveness = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/**
 * The request thread's event loop, watched two ways against one bound (EVENT_LOOP_STALL_MS):
 *
 * - from inside: Node's `monitorEventLoopDelay` measures the loop's delay (the longest since the
 *   previous scrape is a metric), and the heartbeat timer (a fraction of the bound) measures how
 *   late it runs itself. A delay past the bound that the loop came back from is logged at ERROR,
 *   counted, and makes the process not alive (`liveness()`, /healthz 503) from then on, so an
 *   orchestrator restarts it the ordinary way (SIGTERM, drain). The timer's own lateness decides,
 *   not the histogram: resetting the histogram also forgets when it last ticked, so a delay that
 *   ends just before a reset is never recorded (the metric resets it only once per scrape).
 * - from outside, by a watchdog thread (`startWatchdog`, stall-watchdog-worker.ts) fed by the
 *   same heartbeat: a loop that does not come back cannot report anything itself, so the
 *   watchdog logs, counts and ends the process.
 *
 * The HTTP layer writes each request's route on the board (`enter`), so both say which requests
 * were in flight: a blocked thread is running the one that started last or one before it.
 */
export class EventLoopWatch implements EventLoopStats {
  readonly board: StallBoard;
  private readonly histogram: IntervalHistogram;
  private readonly sampleMs: number;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: Worker | undefined;
  private maxSinceScrapeMs = 0;
  private lastBeatAt = 0;
  private stalledAt: { readonly at: string; readonly ms: number } | undefined;

  constructor(
    readonly boundMs: number,
    private readonly logger: Logger,
    board: StallBoard = new StallBoard(),
    private readonly thread: WatchedThread = "main",
  ) {
    this.board = board;
    this.sampleMs = Math.max(20, Math.min(1_000, Math.floor(boundMs / 5)));
    this.histogram = monitorEventLoopDelay({ resolution: Math.min(20, this.sampleMs) });
  }

  /** Starts measuring and beating (unref'd: it never holds the process open). */
  start(): this {
    if (this.timer) return this;
    this.histogram.enable();
    this.board.beat(this.thread);
    this.lastBeatAt = performance.now();
    this.timer = setInterval(() => this.sample(), this.sampleMs).unref();
    return this;
  }

  /** One heartbeat, and how late it came; called by the timer. */
  sample(): void {
    const now = performance.now();
    const delayMs = Math.round(now - this.lastBeatAt - this.sampleMs);
    this.lastBeatAt = now;
    this.board.beat(this.thread);
    this.maxSinceScrapeMs = Math.max(this.maxSinceScrapeMs, delayMs);
    if (delayMs <= this.boundMs) return;
    this.board.countStall();
    this.stalledAt ??= { at: new Date().toISOString(), ms: delayMs };
    const inFlight = this.thread === "main" ? this.board.inFlight() : [];
    this.logger.error(
      { blockedThread: this.thread, stalledMs: delayMs, boundMs: this.boundMs, inFlight },
      `the ${this.thread} thread's event loop was blocked for ${delayMs} ms (EVENT_LOOP_STALL_MS ${this.boundMs}): the process reports itself not alive from now on`,
    );
  }

  /** Not alive once a watched thread's loop has stalled past the bound (a restart clears it). */
  liveness(): Liveness {
    if (!this.stalledAt && this.board.stalls > 0)
      return {
        ok: false,
        detail: `another thread's event loop was blocked past EVENT_LOOP_STALL_MS (${this.boundMs})`,
      };
    if (!this.stalledAt) return { ok: true };
    return {
      ok: false,
      detail: `the event loop was blocked for ${this.stalledAt.ms} ms at ${this.stalledAt.at}, past EVENT_LOOP_STALL_MS (${this.boundMs})`,
    };
  }

  /** The longest delay (seconds) since the last call: for /metrics. */
  delayMaxSeconds(): number {
    const ms = Math.max(this.maxSinceScrapeMs, this.histogram.max / 1e6);
    this.maxSinceScrapeMs = 0;
    this.histogram.reset();
    return ms / 1000;
  }

  /** Stalls past the bound, counted here and by the watchdog: for /metrics. */
  stalls(): number {
    return this.board.stalls;
  }

  /**
   * Starts the watchdog thread over this board: it ends the process when a watched thread's
   * heartbeat is older than the bound. Only the process's entry point starts it (never a test
   * that builds services in its own process).
   */
  async startWatchdog(log: {
    readonly level: string;
    readonly output: LogOutput;
    readonly base: Record<string, unknown>;
  }): Promise<void> {
    const source = workerSource("./stall-watchdog-worker.ts", import.meta.url);
    const worker = new Worker(source.code, {
      eval: source.eval,
      workerData: {
        buffer: this.board.buffer,
        boundMs: this.boundMs,
        checkMs: Math.max(10, Math.min(500, Math.floor(this.boundMs / 10))),
        logLevel: log.level,
        logOutput: log.output,
        base: log.base,
      },
    });
    worker.once("error", (error) => this.logger.error({ err: error }, "the watchdog thread failed"));
    // Resolved once it watches (its module loaded, its timer set), not merely started.
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
      worker.once("exit", (code) =>
        reject(new Error(`the watchdog thread exited (${code}) before it watched`)),
      );
    });
    // It never holds the process open by itself.
    worker.unref();
    this.watchdog = worker;
  }

  /** Stops measuring and the watchdog. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram.disable();
    await this.watchdog?.terminate();
    this.watchdog = undefined;
  }
}
