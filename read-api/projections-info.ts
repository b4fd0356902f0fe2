import type { Position } from "../event-store/position.js";
import type { ControlCenterView } from "../schemas/read-models.js";

/**
 * What the query side knows of the projections, and nothing more, supplied by the composition root:
 * it neither builds the processors nor knows how their checkpoints and leases are stored.
 */
export interface ProjectionsInfo {
  /** The active generation of each projection (a projection absent from it is at generation 1). */
  activeGenerations(): Promise<ReadonlyMap<string, number>>;
  /** The collection generation `generation` of the read model `logical` is kept in. */
  physicalCollection(logical: string, generation: number): string;
  /** The position `projection` has applied in `generation` (null: nothing yet). */
  appliedPosition(projection: string, generation: number): Promise<Position | null>;
  /** The version of `projection` that built `generation` (null: nothing yet). */
  builtBy?(projection: string, generation: number): Promise<number | null>;
  /** Each processor with its state, applied position and lag behind `head` (undefined: unknown). */
  statuses(
    generations: ReadonlyMap<string, number>,
    head: Position | null | undefined,
  ): Promise<ControlCenterView["projections"]>;
  /**
   * Calls `listener` when a rebuild activates a generation in this process; a switch by another
   * process is noticed at most GENERATION_TTL_MS later. Returns the unsubscribe function.
   */
  onGenerationSwitch?(listener: () => void): () => void;
}
