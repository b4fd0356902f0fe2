import { setTimeout as sleep } from "node:timers/promises";
import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import type { Projection } from "./read-models/projection.js";
import { ReplayInProgressError, rebuildProjections } from "./replay.js";
import { activeGenerations, builtVersion, readCheckpoint } from "./runtime/checkpoints.js";

/** How long a generation replaced for a new version stays after the switch, for queries in flight. */
export const VERSION_REBUILD_GRACE_MS = 5000;

/** How often a process refused the rebuild looks again (the holder may finish, or die and let it expire). */
export const REFUSED_RETRY_MS = 2000;

/** A projection whose live generation was built by another version of its code. */
export interface StaleProjection {
  readonly projection: Projection;
  readonly generation: number;
  /** The version recorded for the live generation. */
  readonly built: number;
}

/** The projections whose live generation records a version other than the code's (none yet: not stale). */
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
  /** How often to look again while another process holds the replay lease (REFUSED_RETRY_MS). */
  readonly retryMs?: number;
  /** Aborted when the processors stop: a process waiting for another's rebuild gives up then. */
  readonly signal?: AbortSignal;
}

/** How a version check ended (refused: another process rebuilt them; failed: the live generation stays). */
export type UpgradeOutcome = "current" | "rebuilt" | "refused" | "failed";

/**
 * At start-up, every projection whose live generation another version built is rebuilt blue/green
 * through the replay (under its replay lease). Refused, it does not take the other process's word:
 * that one may die mid-rebuild and leave a stale generation live, so it looks again every
 * `retryMs` until the live generations are current, rebuilding them itself once the lease is free.
 */
export async function upgradeProjections(options: UpgradeOptions): Promise<UpgradeOutcome> {
  let refused = false;
  for (;;) {
    const outcome = await upgradeOnce(options, refused);
    if (outcome === "current" && refused) return "refused";
    if (outcome !== "refused") return outcome;
    refused = true;
    try {
      await sleep(options.retryMs ?? REFUSED_RETRY_MS, undefined, { signal: options.signal });
    } catch {
      return "refused"; // stopping
    }
  }
}

/** One look; `again` (a look after a refusal) logs what it finds at debug, not every 2 s at info. */
async function upgradeOnce(options: UpgradeOptions, again: boolean): Promise<UpgradeOutcome> {
  const { logger } = options;
  const note = again ? logger.debug.bind(logger) : logger.info.bind(logger);
  const stale = await staleProjections(options.documentStore, options.projections);
  if (stale.length === 0) return "current";
  const versions = Object.fromEntries(
    stale.map((s) => [
      s.projection.name,
      { generation: s.generation, from: s.built, to: s.projection.version },
    ]),
  );
  note({ versions }, "projection versions changed: rebuilding beside the live generations");
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
      note(
        { projections: error.projections },
        "another process is already rebuilding them: looking again until they are current",
      );
      return "refused";
    }
    logger.error({ err: error }, "rebuild for the new versions failed: the live generations stay");
    return "failed";
  }
}
