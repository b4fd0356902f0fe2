import type { WriteOp } from "../../document-store/port.js";
import { ACTIVITY_PREFIX, CLOSURE_PREFIX, CONTROL_CENTER } from "./control-center.js";
import { ENDS_PREFIX, STARTS_PREFIX } from "./control-center-clock.js";
import type { CollectionOf } from "./projection.js";
import { PLATE_SUFFIXES, RESERVATIONS } from "./reservations.js";

/**
 * What a fold of the read models over the log (time travel, the control center's books) leaves
 * out, so it stays the size of the present: documents that ended this long before its latest fact
 * (no view reads further back than the last 24 hours' no-shows, and an update of a missing
 * document without upsert brings none back).
 */
export const PRUNE_HORIZON_MS = 25 * 3_600_000;

/** The horizon (ISO) before which a fold whose latest fact is stamped `stampMs` leaves out what ended ("": none). */
export const pruneHorizon = (stampMs: number): string =>
  Number.isFinite(stampMs) ? new Date(stampMs - PRUNE_HORIZON_MS).toISOString() : "";

const isBoundary = (id: string): boolean => id.startsWith(STARTS_PREFIX) || id.startsWith(ENDS_PREFIX);

/** Whether a fold keeps a write: not the plate search's index nor the windows' instants (live-only, and growing). */
export const keptInFold = (op: WriteOp, collection: CollectionOf): boolean =>
  op.collection !== collection(PLATE_SUFFIXES) &&
  !(op.collection === collection(CONTROL_CENTER) && op.op !== "deleteMany" && isBoundary(op.id));

/** Whether a document of the (physical) collection ended before the horizon: a fold leaves it out. */
export function endedBefore(
  physical: string,
  doc: { readonly _id: string } & Readonly<Record<string, unknown>>,
  horizon: string,
  collection: CollectionOf,
): boolean {
  if (physical === collection(RESERVATIONS))
    return doc.status !== "CHECKED_IN" && typeof doc.heldUntil === "string" && doc.heldUntil < horizon;
  if (physical === collection(CONTROL_CENTER)) {
    if (doc._id.startsWith(ACTIVITY_PREFIX)) return `${ACTIVITY_PREFIX}${horizon}` > doc._id;
    if (doc._id.startsWith(CLOSURE_PREFIX)) return typeof doc.until === "string" && doc.until < horizon;
  }
  return false;
}
