import { EventEmitter } from "node:events";
import { type Position, reached } from "../../event-store/position.js";

/**
 * Where each processor stands, as the runtime commits its batches: listeners hear every advance,
 * and `whenReached` resolves once a processor has committed a position (read-your-writes waits on
 * it instead of polling the checkpoints).
 */
export class Progress {
  private readonly events = new EventEmitter();
  private readonly positions = new Map<string, Position>();

  constructor() {
    this.events.setMaxListeners(0);
  }

  /** Called by the runtime after a batch that moved `name` to `position` is stored. */
  advanced(name: string, position: Position): void {
    this.positions.set(name, position);
    this.events.emit("advance", name, position);
  }

  /** The last position committed for `name` by this runtime, if any. */
  positionOf(name: string): Position | undefined {
    return this.positions.get(name);
  }

  /** Subscribe to progress: called after every committed batch with each processor's position. */
  onAdvance(listener: (name: string, position: Position) => void): () => void {
    this.events.on("advance", listener);
    return () => this.events.off("advance", listener);
  }

  /**
   * Resolves once `name` has committed `position` (at once if it has), or rejects with the
   * signal's reason when `signal` aborts first (a deadline: `AbortSignal.timeout(ms)`).
   */
  whenReached(name: string, position: Position, signal?: AbortSignal): Promise<void> {
    const now = this.positions.get(name);
    if (reached(now ?? null, position)) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        off();
        signal?.removeEventListener("abort", aborted);
      };
      const off = this.onAdvance((advanced, at) => {
        if (advanced !== name || !reached(at, position)) return;
        done();
        resolve();
      });
      const aborted = () => {
        done();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", aborted, { once: true });
    });
  }
}
