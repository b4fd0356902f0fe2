import { EventEmitter } from "node:events";
import { type Position, reached } from "../../event-store/position.js";

/** Anything that announces processors' committed positions (the runtime, or its proxy in another thread). */
export interface ProgressSource {
  onAdvance(listener: (name: string, position: Position) => void): () => void;
}

/**
 * Resolves when `source` announces that `name` committed `position` or later; rejects when
 * `signal` aborts. It hears only what is announced from now on: a caller that may be there
 * already checks its checkpoint after calling this and before awaiting it.
 */
export function advancedTo(
  source: ProgressSource,
  name: string,
  position: Position,
  signal?: AbortSignal,
): Promise<void> {
  return untilHeard(
    (heard) =>
      source.onAdvance((advanced, at) => {
        if (advanced === name && reached(at, position)) heard();
      }),
    signal,
  );
}

/**
 * Resolves the first time `listen`'s listener calls `heard()`; rejects with the signal's reason
 * when `signal` aborts first. Either way the listener and the abort handler are removed.
 */
export function untilHeard(listen: (heard: () => void) => () => void, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      off();
      signal?.removeEventListener("abort", aborted);
    };
    const off = listen(() => {
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

/** Where each processor stands as the runtime commits its batches: advances and catch-ups, heard. */
export class Progress implements ProgressSource {
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

  /** Called by the runtime once everything in the log when `name` subscribed is stored. */
  caughtUp(name: string): void {
    this.events.emit("caught-up", name);
  }

  /** Subscribe to progress: called after every committed batch with each processor's position. */
  onAdvance(listener: (name: string, position: Position) => void): () => void {
    this.events.on("advance", listener);
    return () => this.events.off("advance", listener);
  }

  /** Subscribe to processors catching up (and to failures: `name` stopped on an event). */
  onSettled(listener: (name: string) => void): () => void {
    this.events.on("caught-up", listener);
    return () => this.events.off("caught-up", listener);
  }

  /** Resolves once `name` has committed `position`; rejects when `signal` aborts first. */
  whenReached(name: string, position: Position, signal?: AbortSignal): Promise<void> {
    if (reached(this.positions.get(name) ?? null, position)) return Promise.resolve();
    return advancedTo(this, name, position, signal);
  }
}
