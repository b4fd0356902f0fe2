import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import type { Projection } from "./read-models/projection.js";
import { ReplayInProgressError, rebuildProjections } from "./replay.js";
import { activeGenerations, builtVersion, readCheckpoint } from "./runtime/checkpoints.js";

/**
 * How long the collections of a generation replaced for a new version stay after the switch, for
 * queries that resolved them just before (the replay CLI's default).
 */
export const VERSION_REBUILD_GRACE_MS = 5000;

/** A projection whose live generation was built by another version of its code. */
export interface StaleProjection {
  readonly projection: Projection;
  readonly generation: number;
  /** The version recorded for the live generation. */
  readonly built: number;
}

/**
 * The projections whose live (active) generation records a version other than the code's. A
 * generation with no checkpoint yet is not stale: the code building it now is the code's version.
 */
export async function staleProjections(
  store: DocumentStore,
  projections: readonly Projection[],
): Promise<StaleProjection[]> {
  const active = await activeGenerations(store);
  const stale: StaleProjection[] = [];
  for (const projection of projections) {
    const generation = active.get(projection.name) ?? 1;
    const built = builtVersion(await readCheckpoint(store, projection.name, generation));
    if (built !== null && built !== projection.version) stale.push({ projection, generation, built });
  }
  return stale;
}

export interface UpgradeOptions {
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly projections: readonly Projection[];
  readonly logger: Logger;
  readonly graceMs?: number;
}

/**
 * How a version check ended: nothing to rebuild; rebuilt (and switched); refused because a rebuild
 * of these projections is already running elsewhere (it will record the new version); or failed
 * (logged; the live generation stays, and the next start tries again).
 */
export type UpgradeOutcome = "current" | "rebuilt" | "refused" | "failed";

/**
 * The projection lifecycle at start-up: every projection whose live generation was built by
 * another version is rebuilt blue/green through the replay (under its replay lease: a second
 * rebuild is refused, never destructive), while queries keep reading the live generation until
 * the rebuilt one is activated. The live runtime notices the activation at its next look at the
 * generations and carries on from the new generation's checkpoint.
 */
export async function upgradeProjections(options: UpgradeOptions): Promise<UpgradeOutcome> {
  const { logger } = options;
  const stale = await staleProjections(options.documentStore, options.projections);
  if (stale.length === 0) return "current";
  const versions = Object.fromEntries(
    stale.map((s) => [
      s.projection.name,
      { generation: s.generation, from: s.built, to: s.projection.version },
    ]),
  );
  logger.info({ versions }, "projection versions changed: rebuilding beside the live generations");
  try {
    const result = await rebuildProjections({
      eventStore: options.eventStore,
      documentStore: options.documentStore,
      projections: stale.map((s) => s.projection),
      logger,
      graceMs: options.graceMs ?? VERSION_REBUILD_GRACE_MS,
    });
    logger.info(
      { generations: result.generations, elapsedMs: result.elapsedMs },
      "rebuilt for the new versions",
    );
    return "rebuilt";
  } catch (error) {
    if (error instanceof ReplayInProgressError) {
      logger.info({ projections: error.projections }, "another process is already rebuilding them");
      return "refused";
    }
    logger.error({ err: error }, "rebuild for the new versions failed: the live generations stay");
    return "failed";
  }
}
