import { EventEmitter } from "node:events";
import { type Position, reached } from "../../event-store/position.js";

/**
 * Resolves when `source` (the runtime, or its progress) announces that `name` committed `position`
 * or later; rejects with the signal's reason when `signal` aborts first (either way it stops
 * listening). It hears only what is announced from now on: a caller that may be there already
 * checks its checkpoint after calling this and before awaiting it.
 */
export function advancedTo(
  source: Pick<Progress, "onAdvance">,
  name: string,
  position: Position,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      off();
      signal?.removeEventListener("abort", aborted);
    };
    const off = source.onAdvance((advanced, at) => {
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

/** Where each processor stands as the runtime commits its batches, heard. */
export class Progress {
  private readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  /** Called by the runtime after a batch that moved `name` to `position` is stored. */
  advanced(name: string, position: Position): void {
    this.events.emit("advance", name, position);
  }

  /** Subscribe to progress: called after every committed batch with each processor's position. */
  onAdvance(listener: (name: string, position: Position) => void): () => void {
    this.events.on("advance", listener);
    return () => this.events.off("advance", listener);
  }
}
