import type { Document, DocumentStore, WriteOp } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";

/**
 * Checkpoints, in the read models' store (a batch's writes and its checkpoint commit together).
 * Generation N of a projection writes `{collection}_g{N}`; the active one (PROJECTION_STATE) is
 * read and maintained, a replay builds N+1 beside it and switches once caught up.
 */
export const CHECKPOINTS = "projection_checkpoints";
export const PROJECTION_STATE = "projection_state";

export type ProjectionRunState = "running" | "stopped" | "failed";

export interface CheckpointDocument extends Document {
  readonly projection: string;
  readonly generation: number;
  readonly position: Position | null;
  readonly state: ProjectionRunState;
  readonly error?: string;
  readonly failedAt?: Position;
  readonly updatedAt: string;
  /** The projection's version that started this generation (none: 1). */
  readonly version?: number;
}

/** The version that built a generation, by its checkpoint (null: nothing built yet). */
export const builtVersion = (checkpoint: CheckpointDocument | null): number | null =>
  checkpoint === null ? null : (checkpoint.version ?? 1);

export interface ProjectionStateDocument extends Document {
  readonly generation: number;
  readonly activatedAt: string;
}

export const physicalCollection = (logical: string, generation: number): string =>
  `${logical}_g${generation}`;

export const checkpointId = (projection: string, generation: number): string => `${projection}@${generation}`;

export async function activeGenerations(store: DocumentStore): Promise<Map<string, number>> {
  // In `_id` order: the `_id` index serves it (MongoDB with notablescan refuses a collection scan).
  const docs = await store.find<ProjectionStateDocument>(PROJECTION_STATE, {}, { sort: { _id: 1 } });
  return new Map(docs.map((d) => [d._id, d.generation]));
}

export function readCheckpoint(store: DocumentStore, projection: string, generation: number) {
  return store.findById<CheckpointDocument>(CHECKPOINTS, checkpointId(projection, generation));
}

export function checkpointOp(
  projection: string,
  generation: number,
  fields: { position: Position | null; state: ProjectionRunState; error?: string; failedAt?: Position },
  /** The version of the code writing it: recorded only when the checkpoint is created. */
  version?: number,
): WriteOp {
  const unset = fields.state === "failed" ? {} : { $unset: { error: "", failedAt: "" } };
  const created = version === undefined ? {} : { $setOnInsert: { version } };
  return {
    op: "update",
    collection: CHECKPOINTS,
    id: checkpointId(projection, generation),
    upsert: true,
    update: {
      $set: { projection, generation, ...fields, updatedAt: new Date().toISOString() },
      ...unset,
      ...created,
    },
  };
}

export const activateOp = (projection: string, generation: number): WriteOp => ({
  op: "update",
  collection: PROJECTION_STATE,
  id: projection,
  upsert: true,
  update: { $set: { generation, activatedAt: new Date().toISOString() } },
});
