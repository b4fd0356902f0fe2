import { setTimeout as sleep } from "node:timers/promises";
import type { DocumentStore } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import { formatPosition, type Position, reached } from "../../event-store/position.js";
import { PROJECTIONS } from "../../projections/read-models/index.js";
import type { ProjectionsInfo } from "../projections-info.js";
import type { LotAt } from "./lots-at.js";

/** Which projection keeps each read model (query routing), derived from the projections themselves. */
const OWNER: Readonly<Record<string, string>> = Object.fromEntries(
  PROJECTIONS.flatMap((projection) => Object.keys(projection.collections).map((c) => [c, projection.name])),
);
export const ownerOf = (logical: string): string => OWNER[logical] as string;

export interface PageOf<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** The view has not reached the position the caller asked for within the wait bound. */
export class PositionNotReachedError extends Error {
  override name = "PositionNotReachedError";
  constructor(
    readonly wanted: Position,
    readonly projection: string,
    readonly applied: Position | null,
  ) {
    super(
      `${projection} is at ${applied ? formatPosition(applied) : "nothing"}, not yet at ${formatPosition(wanted)}`,
    );
  }
}

/** The caller asked for a position the log has not reached: no wait would ever answer it. */
export class PositionBeyondHeadError extends Error {
  override name = "PositionBeyondHeadError";
  constructor(
    readonly wanted: Position,
    readonly head: Position | null,
  ) {
    super(
      `minPosition ${formatPosition(wanted)} is beyond the newest position of the log (${head ? formatPosition(head) : "the log is empty"})`,
    );
  }
}

/** Too many queries are already waiting for their position: this one is refused at once. */
export class TooManyWaitingError extends Error {
  override name = "TooManyWaitingError";
}

/** Source of in-process progress notifications (the projector, when it runs in this process). */
export interface ProgressSource {
  onAdvance(listener: (name: string, position: Position) => void): () => void;
}

/** How long the active generations are trusted without a signal (a switch by another process). */
export const GENERATION_TTL_MS = 200;

export interface ReadOptions {
  /** Where the lots' states are loaded from (lots-at.ts), and the log's head read. */
  readonly eventStore?: EventStore;
  /** Each lot's state as the views read it instead (time travel's: as of a moment). */
  readonly lots?: (parkingLotId: string) => Promise<LotAt>;
  readonly progress?: ProgressSource;
  /** What the query side knows of the projections (default: read from the document store). */
  readonly projections?: ProjectionsInfo;
  readonly readYourWritesTimeoutMs: number;
  /** Most queries waiting for their position at once; past it they are refused at once. */
  readonly readYourWritesMaxWaiting?: number;
  /** The clock "free now" and "the next hours" are computed with (ms since the epoch). */
  readonly now?: () => number;
}

/** The ProjectionsInfo read from the document store, the processors' module loaded on first use. */
function storedByDefault(store: DocumentStore): ProjectionsInfo {
  let loaded: Promise<ProjectionsInfo> | undefined;
  let resolved: ProjectionsInfo | undefined;
  const info = () => {
    loaded ??= import("../stored-projections.js").then((m) => {
      resolved = m.storedProjections(store);
      return resolved;
    });
    return loaded;
  };
  return {
    activeGenerations: async () => (await info()).activeGenerations(),
    // Asked only with a generation, i.e. after activeGenerations() loaded the module.
    physicalCollection: (logical, generation) => {
      if (!resolved) throw new Error("the projections' generations were not read yet");
      return resolved.physicalCollection(logical, generation);
    },
    appliedPosition: async (projection, generation) => (await info()).appliedPosition(projection, generation),
    builtBy: async (projection, generation) => (await info()).builtBy?.(projection, generation) ?? null,
    statuses: async (generations, head) => (await info()).statuses(generations, head),
  };
}

/**
 * What every view reads through: the active generations (a rebuild swaps collections under running
 * queries), the wait for a position (read-your-writes), and the service's clock.
 */
export class ReadContext {
  readonly projections: ProjectionsInfo;
  private generations: { at: number; value: Promise<ReadonlyMap<string, number>> } | undefined;
  /** Queries waiting for their position right now (bounded by readYourWritesMaxWaiting). */
  private waiting = 0;

  constructor(
    readonly store: DocumentStore,
    readonly options: ReadOptions,
  ) {
    this.projections = options.projections ?? storedByDefault(store);
    // A switch in this process is a signal: forget the cached generations at once.
    this.projections.onGenerationSwitch?.(() => {
      this.generations = undefined;
    });
  }

  /** What time it is for the views (the service's one clock). */
  now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  /** The active generations, read at most every GENERATION_TTL_MS (or after a switch signal). */
  activeGenerations(): Promise<ReadonlyMap<string, number>> {
    const now = Date.now();
    if (!this.generations || now - this.generations.at > GENERATION_TTL_MS) {
      const value = this.projections.activeGenerations();
      this.generations = { at: now, value };
      // A failed read is not cached.
      value.catch(() => {
        if (this.generations?.value === value) this.generations = undefined;
      });
    }
    return this.generations.value;
  }

  async generationOf(projection: string): Promise<number> {
    return (await this.activeGenerations()).get(projection) ?? 1;
  }

  /** The collection the active generation of `logical` is in. */
  async collection(logical: string): Promise<string> {
    const projection = ownerOf(logical);
    return this.projections.physicalCollection(logical, await this.generationOf(projection));
  }

  /** The active generation's collection of `logical`, and its applied position (at least what it holds). */
  async applied(
    logical: string,
  ): Promise<{ readonly collection: string; readonly position: Position | null }> {
    const projection = ownerOf(logical);
    const generation = await this.generationOf(projection);
    const position = await this.projections.appliedPosition(projection, generation);
    return { collection: this.projections.physicalCollection(logical, generation), position };
  }

  private async appliedPosition(projection: string): Promise<Position | null> {
    return this.projections.appliedPosition(projection, await this.generationOf(projection));
  }

  /**
   * Waits (bounded) until the projection serving `logical` has applied `position`. It listens before
   * it looks again, so an advance announced in between wakes it at once.
   */
  async awaitPosition(logical: string, position: Position | null): Promise<void> {
    if (!position) return;
    const projection = ownerOf(logical);
    const deadline = Date.now() + this.options.readYourWritesTimeoutMs;
    let applied = await this.appliedPosition(projection);
    if (reached(applied, position)) return;
    let heard = false;
    let wake: (() => void) | undefined;
    const unsubscribe = this.options.progress?.onAdvance((name, p) => {
      if (name !== projection || !reached(p, position)) return;
      heard = true;
      wake?.();
    });
    let counted = false;
    try {
      applied = await this.appliedPosition(projection);
      if (reached(applied, position)) return;
      // A position the log has not reached yet was never answered by a command: refuse it now
      // rather than hold a connection for the whole wait.
      if (this.options.eventStore) {
        const head = await this.options.eventStore.headPosition();
        if (head === null || position.commit > head.commit) throw new PositionBeyondHeadError(position, head);
      }
      if (this.waiting >= (this.options.readYourWritesMaxWaiting ?? Number.POSITIVE_INFINITY))
        throw new TooManyWaitingError(`${this.waiting} queries are already waiting for their position`);
      this.waiting++;
      counted = true;
      let interval = 5;
      while (Date.now() < deadline) {
        if (!heard)
          await Promise.race([
            sleep(Math.min(interval, Math.max(1, deadline - Date.now()))),
            new Promise<void>((r) => (wake = r)),
          ]);
        heard = false;
        applied = await this.appliedPosition(projection);
        if (reached(applied, position)) return;
        interval = Math.min(50, interval * 2);
      }
      throw new PositionNotReachedError(position, projection, applied);
    } finally {
      if (counted) this.waiting--;
      unsubscribe?.();
    }
  }
}
