import {
  assertUpdateApplicable,
  findConflictingPaths,
  type MutableDocument,
  runMingo,
  type UpdateOutcome,
} from "../document-store/embedded/update-semantics.js";
import { DocumentStoreError, type UpdateDocument } from "../document-store/port.js";
import { isPlainObject } from "../document-store/validation.js";

/** applyUpdate without the fast path and the shape cache: the reference it is tested against. */
export function applyUpdateGenerally(
  current: MutableDocument | null,
  id: string,
  update: UpdateDocument,
  upsert: boolean,
): UpdateOutcome {
  const conflict = findConflictingPaths(update);
  if (conflict !== undefined) {
    throw new DocumentStoreError(
      `Updating the path '${conflict[0]}' would create a conflict at '${conflict[1]}'`,
    );
  }
  const { $setOnInsert, ...modifier } = update;
  if (current !== null) {
    assertUpdateApplicable(current, modifier);
    return { doc: current, changed: runMingo(current, modifier) };
  }
  if (!upsert) return { doc: null, changed: false };
  const created: MutableDocument = { _id: id };
  assertUpdateApplicable(created, modifier);
  runMingo(created, modifier);
  if (isPlainObject($setOnInsert)) {
    assertUpdateApplicable(created, { $set: $setOnInsert });
    runMingo(created, { $set: $setOnInsert });
  }
  return { doc: created, changed: true };
}
