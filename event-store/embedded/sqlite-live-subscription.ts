import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Subscriber } from "rxjs";
import { EventStoreClosedError, SubscriptionDroppedError } from "../errors.js";
import type { LogMessage, RecordedEvent } from "../port.js";
import type { EventRow } from "./sqlite-schema.js";

/** Events just committed by this process, handed to live subscriptions without a read. */
export interface AppendedBatch {
  /** Position of the first event; the batch occupies first … first + events.length - 1. */
  readonly first: number;
  readonly last: number;
  readonly streamId: string;
  readonly firstRevision: number;
  readonly createdAt: number;
  /** [id, type, data JSON, metadata JSON] per event, in order. */
  readonly events: readonly (readonly [string, string, string, string])[];
}

/** One page of a position-ordered read (see SqliteEventStore.readPage). */
export interface LogPage {
  readonly rows: readonly EventRow[];
  /** True when nothing selected is left in the range. */
  readonly exhausted: boolean;
  /** Otherwise: everything up to and including this position has been examined. */
  readonly cursor: number;
}

/** What a live subscription needs from the store. */
export interface LogReader {
  /** The highest committed position, 0 for an empty log. */
  head(): number;
  /** The selected events in (after, upTo], at most `limit` of them. */
  readForwards(after: number, upTo: number, limit: number): LogPage;
  /** Whether a live event passes the subscription's filter. */
  matches(streamId: string, type: string): boolean;
}

const PAGE_SIZE = 1000;
/** Past this many undelivered live batches, drop them and read from the file instead. */
const MAX_INBOX = 10_000;

export function decodeRow(row: EventRow): RecordedEvent {
  const position = row[0];
  return {
    id: row[3],
    streamId: row[1],
    revision: row[2],
    position: { commit: position, prepare: position },
    type: row[4],
    data: JSON.parse(row[6]),
    metadata: JSON.parse(row[7]) as Record<string, unknown>,
    createdAt: new Date(row[5]),
  };
}

const at = (position: number) => ({ commit: position, prepare: position });

/**
 * One subscriber's catch-up-then-live feed, with its progress (see LogMessage): a checkpoint at the
 * cursor whenever the cursor moves past events the filter does not select, and "caught up" the
 * first time the pump finds nothing left below the head. `cursor` is the highest position examined: everything
 * selected at or below it has been delivered, nothing above it has. Two ways forward, both only
 * ever deliver positions above the cursor and then move it:
 * - the pump reads pages from the file up to the head (catch-up, appends by other processes seen by
 *   the store's poll, or anything the fast path cannot prove contiguous);
 * - the fast path delivers a batch this process just committed straight from memory when it starts
 *   right after the cursor (the usual live case: no read at all).
 * Work is started from a microtask, never from inside the appender's call.
 */
export class LiveSubscription {
  private inbox: AppendedBatch[] = [];
  private needPump = true;
  private pumping = false;
  private scheduled = false;
  private stopped = false;
  private caughtUp = false;
  /** Position of the last event delivered (to tell whether the cursor moved past unselected ones). */
  private delivered = 0;

  constructor(
    private readonly reader: LogReader,
    private readonly subscriber: Subscriber<LogMessage>,
    private cursor: number,
    private readonly onStop: (subscription: LiveSubscription) => void,
  ) {
    this.delivered = cursor;
    this.wake();
  }

  /** Called by the store right after it committed a batch. */
  offer(batch: AppendedBatch): void {
    if (this.stopped) return;
    if (this.inbox.length >= MAX_INBOX) {
      this.inbox = [];
      this.needPump = true;
    } else {
      this.inbox.push(batch);
    }
    this.wake();
  }

  /** Called by the store's poll with the current head. */
  observeHead(head: number): void {
    if (this.stopped || head <= this.cursor) return;
    this.needPump = true;
    this.wake();
  }

  /** Unsubscribed: stop at once, quietly. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.inbox = [];
    this.onStop(this);
  }

  /** Ended by the store (closed, or a read failed): tell the subscriber. */
  fail(error: Error): void {
    if (this.stopped) return;
    this.stop();
    this.subscriber.error(error);
  }

  private wake(): void {
    if (this.scheduled || this.pumping || this.stopped) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.stopped || this.pumping) return;
    if (!this.needPump) {
      while (this.inbox.length > 0) {
        const batch = this.inbox.shift() as AppendedBatch;
        if (batch.last <= this.cursor) continue;
        if (batch.first !== this.cursor + 1) {
          this.needPump = true; // someone else's events in between: read them from the file
          break;
        }
        if (!this.deliver(batch)) return;
      }
      if (!this.needPump) return;
    }
    void this.pump();
  }

  private deliver(batch: AppendedBatch): boolean {
    const { events, streamId, firstRevision, createdAt, first } = batch;
    for (let i = 0; i < events.length; i++) {
      const [id, type, data, metadata] = events[i] as readonly [string, string, string, string];
      if (!this.reader.matches(streamId, type)) continue;
      const position = first + i;
      this.delivered = position;
      this.emit({
        id,
        streamId,
        revision: firstRevision + i,
        position: { commit: position, prepare: position },
        type,
        data: JSON.parse(data),
        metadata: JSON.parse(metadata) as Record<string, unknown>,
        createdAt: new Date(createdAt),
      });
      if (this.stopped) return false;
    }
    this.cursor = batch.last;
    this.checkpoint();
    return !this.stopped;
  }

  private emit(event: RecordedEvent): void {
    this.subscriber.next({ kind: "event", event });
  }

  /** Tells the subscriber the cursor moved past events it did not select. */
  private checkpoint(): void {
    if (this.cursor > this.delivered && !this.stopped) {
      this.delivered = this.cursor;
      this.subscriber.next({ kind: "checkpoint", position: at(this.cursor) });
    }
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    this.needPump = false;
    this.inbox = []; // all committed, so at or below the head read next: the pump reads them
    try {
      for (;;) {
        const head = this.reader.head();
        if (head <= this.cursor) {
          if (!this.caughtUp) {
            this.caughtUp = true;
            this.subscriber.next({ kind: "caught-up", position: this.cursor > 0 ? at(this.cursor) : null });
            if (this.stopped) return;
          }
          break;
        }
        while (this.cursor < head) {
          const page = this.reader.readForwards(this.cursor, head, PAGE_SIZE);
          for (const row of page.rows) {
            const event = decodeRow(row);
            this.delivered = event.position.commit;
            this.emit(event);
            if (this.stopped) return;
          }
          this.cursor = page.exhausted ? head : page.cursor;
          this.checkpoint();
          if (this.stopped) return;
          await yieldToEventLoop();
          if (this.stopped) return;
        }
      }
    } catch (error) {
      this.fail(
        error instanceof EventStoreClosedError
          ? error
          : new SubscriptionDroppedError("reading the event log failed", { cause: error }),
      );
      return;
    } finally {
      this.pumping = false;
    }
    this.run(); // batches that arrived meanwhile (or a poke from the poll)
  }
}
