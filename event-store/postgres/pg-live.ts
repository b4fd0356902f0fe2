import type { Subscriber } from "rxjs";
import { type EventStoreError, SubscriptionDroppedError } from "../errors.js";
import type { LogMessage, RecordedEvent } from "../port.js";
import type { Position } from "../position.js";

/** What a followed subscription reads from the log. */
export interface FollowSource {
  /** The highest committed position (0 when empty): every position at or below it is committed too. */
  head(): Promise<number>;
  /** Selected events in (after, upTo], in position order, at most `limit`. */
  readSelected(after: number, upTo: number, limit: number): Promise<readonly RecordedEvent[]>;
}

const PAGE = 1000;

export const positionAt = (n: number): Position => ({ commit: n, prepare: n });

/**
 * One followed subscription on PostgreSQL. It is woken (a NOTIFY from an append, this process's own
 * append, the polling timer) and then reads the head and every selected event up to it, delivers
 * them, and reports the head as a checkpoint: since appends commit in position order (pg-schema.ts),
 * every position at or below a visible head is committed, so nothing below it can still appear.
 * Wakes that arrive while it reads make it read once more; it never reads twice at once.
 */
export class Follower {
  private running = false;
  private again = false;
  private stopped = false;
  private caughtUp = false;

  constructor(
    private readonly source: FollowSource,
    private readonly subscriber: Subscriber<LogMessage>,
    /** Position after which to deliver; "end": the head when the subscription starts. */
    private cursor: number | "end",
    private readonly ended: (follower: Follower) => void,
  ) {}

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ended(this);
  }

  fail(error: EventStoreError): void {
    if (this.stopped) return;
    this.stop();
    this.subscriber.error(error);
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.readToHead();
      } while (this.again && !this.stopped);
    } catch (error) {
      this.fail(
        error instanceof SubscriptionDroppedError
          ? error
          : new SubscriptionDroppedError("reading the event log failed", { cause: error }),
      );
    } finally {
      this.running = false;
    }
  }

  private async readToHead(): Promise<void> {
    const head = await this.source.head();
    if (this.stopped) return;
    if (this.cursor === "end") this.cursor = head;
    const start = this.cursor;
    while (this.cursor < head) {
      const events = await this.source.readSelected(this.cursor, head, PAGE);
      if (this.stopped) return;
      for (const event of events) {
        this.subscriber.next({ kind: "event", event });
        if (this.stopped) return;
      }
      const last = events[events.length - 1];
      this.cursor = events.length < PAGE || last === undefined ? head : last.position.commit;
    }
    if (this.cursor > start && this.caughtUp)
      this.subscriber.next({ kind: "checkpoint", position: positionAt(head) });
    if (!this.caughtUp) {
      this.caughtUp = true;
      this.subscriber.next({ kind: "caught-up", position: head === 0 ? null : positionAt(head) });
    }
  }
}
