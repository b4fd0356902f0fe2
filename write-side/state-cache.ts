import type { Position } from "../event-store/position.js";

/** An aggregate's folded state as of a stream revision (-1: the stream does not exist yet). */
export interface StateAtRevision<S> {
  readonly state: S;
  readonly revision: number;
  /** Global position of the stream's last event, null for an empty stream. */
  readonly position: Position | null;
  /** The stream `revision` is of, when it changes over the aggregate's life (a lot's period); absent: `streamOf(key)`. */
  readonly stream?: string;
}

/** Least-recently-used states: a command reads only events newer than the cached revision. */
export class StateCache<S> {
  private readonly entries = new Map<string, StateAtRevision<S>>();

  constructor(private readonly capacity: number) {}

  get(key: string): StateAtRevision<S> | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, state: StateAtRevision<S>): void {
    this.entries.delete(key);
    this.entries.set(key, state);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
