import type { Position } from "../event-store/position.js";
import type { ControlCenterView } from "../schemas/read-models.js";

/**
 * What the query side needs to know about the projections that keep its read models, and nothing
 * more: which generation of each is active (and so which collections to read), how far each has
 * applied the log, and the state of every processor for the control center. The composition root
 * supplies it (app/services.ts), so the query side neither builds the processors nor knows how
 * their checkpoints and leases are stored.
 */
export interface ProjectionsInfo {
  /** The active generation of each projection (a projection absent from it is at generation 1). */
  activeGenerations(): Promise<ReadonlyMap<string, number>>;
  /** The collection generation `generation` of the read model `logical` is kept in. */
  physicalCollection(logical: string, generation: number): string;
  /** The position `projection` has applied in `generation` (null: nothing yet). */
  appliedPosition(projection: string, generation: number): Promise<Position | null>;
  /**
   * The version of `projection` that built `generation` (null: nothing built yet). Optional: a
   * view that needs a version's documents (the control center's clock, version 2) does without
   * what they give when it is absent.
   */
  builtBy?(projection: string, generation: number): Promise<number | null>;
  /**
   * Each processor (projections, then reactors) with its state, applied position and lag behind
   * `head` (undefined: the log could not be reached, so the lag is unknown), reading each
   * projection's generation in `generations`.
   */
  statuses(
    generations: ReadonlyMap<string, number>,
    head: Position | null | undefined,
  ): Promise<ControlCenterView["projections"]>;
  /**
   * Calls `listener` when a rebuild activates a generation in this process (any thread); without
   * it, or for a switch made by another process, the query side notices by reading the active
   * generations again (at most GENERATION_TTL_MS later). Returns the unsubscribe function.
   */
  onGenerationSwitch?(listener: () => void): () => void;
}
