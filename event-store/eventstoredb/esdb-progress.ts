import type { LogMessage, RecordedEvent } from "../port.js";
import { isAfter, type Position } from "../position.js";

const later = (a: Position | undefined, b: Position): Position => (a === undefined || isAfter(b, a) ? b : a);

/**
 * Turns what @eventstore/db-client 6.x reports about a catch-up subscription to $all into the port's
 * ordered LogMessages. The client calls `checkpointReached` (and emits `caughtUp`) while it
 * transforms the gRPC stream, which can be before events it transformed earlier have left its
 * buffer as "data": a progress message is held back until the buffer is empty, so that it never
 * overtakes an event it covers. The server's filter may also skip the newest events without a
 * checkpoint after them; once caught up, `probe` finds how far the log holds nothing selected.
 */
export class ProgressGate {
  /** The furthest position examined: the last event seen (delivered or not) or checkpoint. */
  private examined: Position | undefined;
  /** The furthest position the consumer has been told about (event or progress). */
  private reported: Position | undefined;
  private serverCheckpoint: Position | undefined;
  private caughtUp: "no" | "pending" | "probing" | "sent" = "no";
  private closed = false;

  constructor(
    after: Position | undefined,
    private readonly emit: (message: LogMessage) => void,
    /** Whether the client's buffer is empty (everything transformed so far has been emitted). */
    private readonly bufferEmpty: () => boolean,
    /** The last position after `from` up to which the log holds no selected event (best effort). */
    private readonly probe: (from: Position | undefined) => Promise<Position | undefined>,
  ) {
    this.examined = after;
    this.reported = after;
  }

  /** An event left the client's buffer ("data"), selected by the subscription or not. */
  event(recorded: RecordedEvent, selected: boolean): void {
    if (this.closed) return;
    this.examined = later(this.examined, recorded.position);
    if (selected) {
      this.reported = later(this.reported, recorded.position);
      this.emit({ kind: "event", event: recorded });
    }
    // Nothing transformed before the server's last checkpoint is left in the buffer: report it.
    if (this.serverCheckpoint && this.bufferEmpty())
      this.examined = later(this.examined, this.serverCheckpoint);
    this.flush();
  }

  /** The client's checkpointReached: every event up to `position` examined, some maybe still buffered. */
  checkpoint(position: Position): void {
    this.serverCheckpoint = later(this.serverCheckpoint, position);
    queueMicrotask(() => {
      if (this.closed || !this.bufferEmpty()) return; // the next "data" that empties the buffer reports it
      this.examined = later(this.examined, position);
      this.flush();
    });
  }

  /** The client's caughtUp event. */
  caughtUpSignal(): void {
    if (this.caughtUp === "no") this.caughtUp = "pending";
    queueMicrotask(() => this.flush());
  }

  close(): void {
    this.closed = true;
  }

  private flush(): void {
    if (this.closed || !this.bufferEmpty()) return;
    const { examined } = this;
    if (examined !== undefined && (this.reported === undefined || isAfter(examined, this.reported))) {
      this.reported = examined;
      this.emit({ kind: "checkpoint", position: examined });
    }
    if (this.caughtUp !== "pending") return;
    this.caughtUp = "probing";
    void this.probe(this.examined).then((tail) => {
      if (this.closed) return;
      if (tail !== undefined) this.examined = later(this.examined, tail);
      if (tail !== undefined && (this.reported === undefined || isAfter(tail, this.reported))) {
        this.reported = tail;
        this.emit({ kind: "checkpoint", position: tail });
      }
      this.caughtUp = "sent";
      this.emit({ kind: "caught-up", position: this.examined ?? null });
    });
  }
}
