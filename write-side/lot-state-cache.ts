import type { Position } from "../event-store/position.js";
import type { ParkingLotState } from "./parking-lot/decider.js";

/** A lot's folded state as of a stream revision (-1: the stream does not exist yet). */
export interface LotAtRevision {
  readonly state: ParkingLotState;
  readonly revision: number;
  /** Global position of the stream's last event, null for an empty stream. */
  readonly position: Position | null;
}

/** A cached lot, and the revision it was last loaded from the store at (see the command handler). */
export interface CachedLot extends LotAtRevision {
  readonly loadedRevision: number;
}

/**
 * Least-recently-used cache of lot states, so a command's cost does not grow with the lot's
 * history: only events newer than the cached revision are ever read again.
 */
export class LotStateCache {
  private readonly entries = new Map<string, CachedLot>();

  constructor(private readonly capacity: number) {}

  get(lotId: string): CachedLot | undefined {
    const entry = this.entries.get(lotId);
    if (entry) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.entries.delete(lotId);
      this.entries.set(lotId, entry);
    }
    return entry;
  }

  set(lotId: string, lot: CachedLot): void {
    this.entries.delete(lotId);
    this.entries.set(lotId, lot);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  delete(lotId: string): void {
    this.entries.delete(lotId);
  }

  get size(): number {
    return this.entries.size;
  }
}
