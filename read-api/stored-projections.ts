import type { DocumentStore } from "../document-store/port.js";
import { formatPosition } from "../event-store/position.js";
import { PROCESSOR_NAMES, REACTOR_NAMES } from "../projections/processors.js";
import {
  activeGenerations,
  builtVersion,
  CHECKPOINTS,
  type CheckpointDocument,
  checkpointId,
  physicalCollection,
  readCheckpoint,
} from "../projections/runtime/checkpoints.js";
import { onGenerationSwitch } from "../projections/runtime/generation-switches.js";
import { readLeases } from "../projections/runtime/leases.js";
import type { ControlCenterView } from "../schemas/read-models.js";
import type { ProjectionsInfo } from "./projections-info.js";

/** The projections as the document store says, with this process's rebuild switches signalled. */
export function storedProjections(store: DocumentStore): ProjectionsInfo {
  return {
    activeGenerations: () => activeGenerations(store),
    physicalCollection,
    appliedPosition: async (projection, generation) =>
      (await readCheckpoint(store, projection, generation))?.position ?? null,
    builtBy: async (projection, generation) =>
      builtVersion(await readCheckpoint(store, projection, generation)),
    statuses: (generations, head) => statuses(store, generations, head),
    onGenerationSwitch,
  };
}

/** Each processor's (projections, then reactors) applied position and lag behind the head of the log. */
async function statuses(
  store: DocumentStore,
  generations: ReadonlyMap<string, number>,
  head: Parameters<ProjectionsInfo["statuses"]>[1],
): Promise<ControlCenterView["projections"]> {
  const ids = PROCESSOR_NAMES.map((name) =>
    checkpointId(name, REACTOR_NAMES.has(name) ? 1 : (generations.get(name) ?? 1)),
  );
  // One read for every checkpoint (a handful of documents), and one for the leases.
  const [docs, leases] = await Promise.all([
    store.find<CheckpointDocument>(CHECKPOINTS, { _id: { $in: ids } }),
    readLeases(store),
  ]);
  const byId = new Map(docs.map((d) => [d._id, d]));
  const now = Date.now();
  return PROCESSOR_NAMES.map((name, i) => {
    const checkpoint = byId.get(ids[i] as string) ?? null;
    const position = checkpoint?.position ?? null;
    const lease = leases.get(name);
    const leaseState = lease && (lease.owner === null ? "free" : lease.expiresAt > now ? "held" : "expired");
    // Failed is what the checkpoint says; otherwise a processor runs while someone holds its
    // lease (a fresh one has no checkpoint yet), and has stopped when nobody does.
    const state =
      checkpoint?.state === "failed"
        ? "failed"
        : leaseState === undefined
          ? (checkpoint?.state ?? "stopped")
          : leaseState === "held"
            ? "running"
            : "stopped";
    return {
      name,
      state,
      position: position ? formatPosition(position) : null,
      headPosition: head ? formatPosition(head) : null,
      lag: head === undefined ? null : Math.max(0, (head?.commit ?? 0) - (position?.commit ?? 0)),
      ...(checkpoint?.error ? { error: checkpoint.error } : {}),
      ...(lease && leaseState
        ? {
            lease: {
              holder: lease.owner,
              state: leaseState,
              expiresAt: lease.expiresAt > 0 ? new Date(lease.expiresAt).toISOString() : null,
            } as const,
          }
        : {}),
    };
  });
}
