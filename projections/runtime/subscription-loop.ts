import { setTimeout as sleep } from "node:timers/promises";
import { concatMap, from, Observable, type OperatorFunction, type Subscription, tap } from "rxjs";
import type { EventFilter, EventStore, LogMessage } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { Logger } from "../../platform/logger.js";

export interface SubscriptionLoopOptions {
  readonly name: string;
  readonly eventStore: EventStore;
  readonly filter: EventFilter;
  readonly logger: Logger;
  /** Largest batch handed to handleBatch. */
  readonly batchSize: number;
  /** Events received but not yet handled past which the loop drops the subscription until it drains. */
  readonly maxPending: number;
  /** Where to (re)subscribe from, read before each subscription; null: wait for resubscribe(). */
  readonly resumeFrom: () => Promise<Position | "start" | null>;
  /** Handles one batch of messages in log order; a rejection resubscribes after a backoff. */
  readonly handleBatch: (messages: readonly LogMessage[]) => Promise<void>;
  /** Called when the loop gives up a subscription because of an error (metrics). */
  readonly onDrop: (error: unknown) => void;
}

/** Thrown to restart the subscription at once (no backoff), e.g. after a projection generation changed. */
export class ResubscribeSignal extends Error {
  override name = "ResubscribeSignal";
}

class BackpressureSignal extends Error {
  override name = "BackpressureSignal";
}

/**
 * Catch-up-then-live consumption of the global log with rxjs, in batches handled one after
 * another. When the subscription drops or a batch fails, it resubscribes from the stored position
 * after a capped exponential backoff: what was in flight comes again (handlers are idempotent).
 */
export class SubscriptionLoop {
  private stopping = false;
  private subscription: Subscription | undefined;
  private wakeUp: (() => void) | undefined;
  /** Set by resubscribe(): whatever resumeFrom answered before may be out of date. */
  private nudged = false;
  private inFlight: Promise<void> = Promise.resolve();
  private pending = 0;
  readonly done: Promise<void>;

  constructor(private readonly options: SubscriptionLoopOptions) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    const { logger, name } = this.options;
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.inFlight; // never overlap a batch of the previous subscription
        this.nudged = false;
        const resume = await this.options.resumeFrom();
        if (this.stopping) break;
        if (resume === null) {
          // Unless resubscribe() came while resumeFrom was answering (its answer may be stale).
          if (!this.nudged) await new Promise<void>((resolve) => (this.wakeUp = resolve));
          continue;
        }
        logger.debug({ subscription: name, from: resume }, "subscribing");
        await this.consume(resume, () => {
          failures = 0;
        });
      } catch (error) {
        if (this.stopping) break;
        if (error instanceof ResubscribeSignal) continue;
        if (error instanceof BackpressureSignal) {
          await this.inFlight;
          continue;
        }
        failures++;
        this.options.onDrop(error);
        const delay = Math.min(30_000, 100 * 2 ** Math.min(failures, 9)) * (0.5 + Math.random() / 2);
        logger.warn(
          { subscription: name, err: error, retryInMs: Math.round(delay), failures },
          "subscription dropped; resubscribing from checkpoint",
        );
        await Promise.race([sleep(delay), new Promise<void>((resolve) => (this.wakeUp = resolve))]);
      }
    }
    await this.inFlight;
  }

  private consume(resume: Position | "start", onProgress: () => void): Promise<void> {
    const { eventStore, filter, batchSize, maxPending } = this.options;
    this.pending = 0;
    return new Promise<void>((resolve, reject) => {
      this.rejectCurrent = reject;
      this.subscription = eventStore
        .followAll({ from: resume, filter })
        .pipe(
          batchMessages(batchSize, () => this.pending > 0),
          tap((batch) => {
            this.pending += batch.length;
            if (this.pending > maxPending) throw new BackpressureSignal();
          }),
          concatMap((batch) => {
            const handled = this.inFlight.then(() => this.options.handleBatch(batch));
            this.inFlight = handled.then(
              () => undefined,
              () => undefined,
            );
            return from(
              handled.then(() => {
                this.pending -= batch.length;
                onProgress();
              }),
            );
          }),
        )
        .subscribe({
          error: reject,
          complete: () => reject(new Error("subscription completed unexpectedly")),
        });
      if (this.stopping) {
        this.subscription.unsubscribe();
        resolve();
      }
      this.resolveOnStop = resolve;
    });
  }

  private resolveOnStop: (() => void) | undefined;
  private rejectCurrent: ((error: unknown) => void) | undefined;

  /** Subscribes again from `resumeFrom()` at once (after the batch in flight): its answer changed. */
  resubscribe(reason: string): void {
    if (this.stopping) return;
    this.nudged = true;
    this.subscription?.unsubscribe();
    this.rejectCurrent?.(new ResubscribeSignal(reason));
    this.wakeUp?.();
  }

  /** Stops consuming; resolves once the batch in flight (if any) has been handled and stored. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.subscription?.unsubscribe();
    this.resolveOnStop?.();
    this.wakeUp?.();
    await this.done;
  }
}

/** How long a partial batch may wait for more events: live (latency vs batching), and catching up. */
const LIVE_FLUSH_MS = 5;
const CATCH_UP_FLUSH_MS = 1000;

/**
 * Cuts the feed into batches of at most `batchSize` messages. Catching up, a batch waits until it
 * is full (flushing every LIVE_FLUSH_MS would cut a rebuild into one transaction per page), the
 * store reports it caught up, or CATCH_UP_FLUSH_MS passed. Live, a batch goes at the end of its
 * first message's event-loop turn when none is being handled (an idle service applies an event at
 * once), else within LIVE_FLUSH_MS.
 */
function batchMessages(batchSize: number, busy: () => boolean): OperatorFunction<LogMessage, LogMessage[]> {
  return (source) =>
    new Observable<LogMessage[]>((subscriber) => {
      let buffer: LogMessage[] = [];
      let live = false;
      let timer: NodeJS.Timeout | undefined;
      let immediate: NodeJS.Immediate | undefined;
      const flush = () => {
        clearTimeout(timer);
        timer = undefined;
        clearImmediate(immediate);
        immediate = undefined;
        if (buffer.length === 0) return;
        const batch = buffer;
        buffer = [];
        subscriber.next(batch);
      };
      const subscription = source.subscribe({
        next(message) {
          buffer.push(message);
          if (message.kind === "caught-up") live = true;
          if (message.kind === "caught-up" || buffer.length >= batchSize) flush();
          else if (live && !busy()) immediate ??= setImmediate(flush);
          else timer ??= setTimeout(flush, live ? LIVE_FLUSH_MS : CATCH_UP_FLUSH_MS);
        },
        error(error: unknown) {
          clearTimeout(timer);
          clearImmediate(immediate);
          subscriber.error(error);
        },
        complete() {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        clearTimeout(timer);
        clearImmediate(immediate);
        subscription.unsubscribe();
      };
    });
}
