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
  /** The highest head a wake told of; undefined: none yet, ask the database. */
  private knownHead: number | undefined;
  /** A wake without a head (the polling timer, the start): the head is read from the database. */
  private askHead = true;

  constructor(
    private readonly source: FollowSource,
    private readonly subscriber: Subscriber<LogMessage>,
    /** Position after which to deliver; "end": the head when the subscription starts. */
    private cursor: number | "end",
    private readonly ended: (follower: Follower) => void,
  ) {}

  /**
   * Reads what is new. `head`, when known (a NOTIFY's payload, this process's own append): every
   * position up to it is committed, so the follower reads up to it without asking the head.
   */
  wake(head?: number): void {
    if (this.stopped) return;
    if (head !== undefined) this.knownHead = Math.max(this.knownHead ?? 0, head);
    else this.askHead = true;
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
    let head = this.knownHead ?? 0;
    if (this.askHead || this.knownHead === undefined) {
      this.askHead = false;
      head = Math.max(head, await this.source.head());
    }
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

/** A row of the log as the shared tail keeps it: data and metadata still JSON text. */
export interface TailRow {
  readonly position: number;
  readonly streamId: string;
  readonly revision: number;
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
  readonly createdAt: Date;
}

/** How many of the log's latest events the tail keeps. */
const TAIL_EVENTS = 4096;

/**
 * The log's latest events, read once for every follower of this process instead of once per
 * follower: followers at the head (every processor after an append) take their selection from it;
 * one behind it (catching up) reads the database itself. Positions are gapless (pg-schema.ts), so
 * the tail is an array from `first + 1` on. Each follower decodes the rows it selects (its own
 * objects, as from a read of its own).
 */
export class LogTail {
  private rows: TailRow[] = [];
  /** The position before rows[0]. */
  private first = 0;
  private extending: Promise<boolean> | undefined;

  constructor(private readonly read: (after: number, upTo: number, limit: number) => Promise<TailRow[]>) {}

  /** The rows in (after, upTo], at most `limit` from the first; undefined when the tail cannot serve them. */
  async slice(after: number, upTo: number, limit: number): Promise<readonly TailRow[] | undefined> {
    if (this.rows.length === 0 || after > this.end() + TAIL_EVENTS) {
      this.rows = [];
      this.first = after;
    }
    const want = Math.min(upTo, after + limit);
    while (after >= this.first && this.end() < want) {
      this.extending ??= this.extend(want).finally(() => {
        this.extending = undefined;
      });
      if (!(await this.extending)) return undefined;
    }
    if (after < this.first) return undefined;
    return this.rows.slice(after - this.first, want - this.first);
  }

  private end(): number {
    return this.first + this.rows.length;
  }

  /** False when the log did not read as contiguous from the tail's end (the tail is emptied). */
  private async extend(upTo: number): Promise<boolean> {
    const from = this.end();
    const rows = await this.read(from, upTo, TAIL_EVENTS);
    if (this.end() !== from) return true;
    const last = rows.at(-1);
    if (!last || last.position !== from + rows.length) {
      this.rows = [];
      return false;
    }
    this.rows.push(...rows);
    if (this.rows.length > TAIL_EVENTS) {
      const drop = this.rows.length - TAIL_EVENTS;
      this.rows.splice(0, drop);
      this.first += drop;
    }
    return true;
  }
}
