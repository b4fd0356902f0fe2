import type { Subscription } from "rxjs";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";

/** What forgets a process's in-memory copies of personal data: the lots named, or all when none are. */
export type Eviction = (parkingLotIds?: readonly string[]) => void;

/** How long a dropped subscription waits before it follows the erasures again. */
const RESUBSCRIBE_MS = 1_000;

/**
 * Erasure reaches the memory of every process (issue 36): the command handler's cached lot
 * states, the read side's lot states, and time travel's checkpoints and kept answers hold the
 * plaintext they were folded with. Each is registered here and evicted on every `CustomerErased`:
 * at once when this process made the erasure (`erased`, before the request is answered), and
 * through a live subscription to the log when another process did (a command-api, the retention
 * reactor). A dropped subscription evicts everything before it follows again, so an erasure made
 * while it was down is not missed.
 */
export class ErasureEvictions {
  private readonly evictions: Eviction[] = [];
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  add(eviction: Eviction): void {
    this.evictions.push(eviction);
  }

  /** The customer's lots were erased: forget them (every lot when the erasure listed none). */
  erased(parkingLotIds?: readonly string[]): void {
    const lots = parkingLotIds && parkingLotIds.length > 0 ? parkingLotIds : undefined;
    for (const evict of this.evictions) evict(lots);
  }

  /** Follows the erasure facts appended from now on, by any process. */
  follow(eventStore: EventStore, logger: Logger): void {
    if (this.closed) return;
    this.subscription = eventStore
      .subscribeToAll({ from: "end", filter: { eventTypes: ["CustomerErased"] } })
      .subscribe({
        next: (recorded) =>
          this.erased((recorded.data as { parkingLotIds?: readonly string[] } | null)?.parkingLotIds),
        error: (error: unknown) => {
          this.erased();
          if (this.closed) return;
          logger.warn({ err: error }, "erasures: the subscription dropped; following again");
          this.timer = setTimeout(() => this.follow(eventStore, logger), RESUBSCRIBE_MS);
          this.timer.unref();
        },
      });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.subscription?.unsubscribe();
  }
}
