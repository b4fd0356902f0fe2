/**
 * MongoDB write semantics for the embedded store, applied to plain objects. The update operators
 * themselves are mingo's; this module adds what MongoDB does around them: upserts addressed by
 * `_id` with `$setOnInsert`, replacements, and the errors MongoDB raises where mingo silently does
 * nothing (so a batch fails in both adapters alike and is rolled back).
 */
import type { Modifier } from "mingo/updater";
import { update as mingoUpdate } from "mingo/updater";
import { DocumentStoreError, type UpdateDocument } from "../port.js";
import { isPlainObject } from "../validation.js";

export type MutableDocument = Record<string, unknown> & { _id: string };

const NUMERIC_OPERATORS = new Set(["$inc", "$mul"]);
const ARRAY_OPERATORS = new Set(["$push", "$addToSet", "$pop", "$pull", "$pullAll"]);

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  return typeof value;
}

function describe(field: string, value: unknown): string {
  const json = JSON.stringify(value);
  return `{${field}: ${json === undefined ? String(value) : json.length > 60 ? `${json.slice(0, 57)}...` : json}}`;
}

/**
 * Throws the error MongoDB would raise for `modifier` on `doc` where mingo would skip silently:
 * `$inc`/`$mul` on a non-number, array operators on a non-array, and creating a field inside a
 * scalar (`$set: { "a.b": 1 }` where `a` is a string). Paths with positional parts are left to mingo.
 */
export function assertUpdateApplicable(
  doc: Readonly<Record<string, unknown>>,
  modifier: UpdateDocument,
): void {
  for (const [operator, argument] of Object.entries(modifier)) {
    if (!isPlainObject(argument)) continue;
    for (const path of Object.keys(argument)) {
      const segments = path.split(".");
      if (segments.some((s) => s.startsWith("$"))) continue;
      let parent: unknown = doc;
      let reached = true;
      for (let i = 0; i < segments.length - 1; i++) {
        const segment = segments[i]!;
        const next: unknown = Array.isArray(parent)
          ? /^\d+$/.test(segment)
            ? parent[Number(segment)]
            : undefined
          : (parent as Record<string, unknown>)[segment];
        if (next === undefined) {
          reached = false; // will be created (or, for $unset, nothing to do)
          break;
        }
        if (typeof next !== "object" || next === null) {
          if (
            operator === "$unset" ||
            operator === "$pull" ||
            operator === "$pullAll" ||
            operator === "$pop"
          ) {
            reached = false;
            break;
          }
          throw new DocumentStoreError(
            `Cannot create field '${segments[i + 1]}' in element ${describe(segment, next)} (${operator} ${path})`,
          );
        }
        parent = next;
      }
      if (!reached) continue;
      const last = segments[segments.length - 1]!;
      const value: unknown = Array.isArray(parent)
        ? /^\d+$/.test(last)
          ? parent[Number(last)]
          : undefined
        : (parent as Record<string, unknown>)[last];
      if (value === undefined) continue;
      if (NUMERIC_OPERATORS.has(operator) && typeof value !== "number") {
        throw new DocumentStoreError(
          `Cannot apply ${operator} to a value of non-numeric type ${typeName(value)} (field '${path}')`,
        );
      }
      if (ARRAY_OPERATORS.has(operator) && !Array.isArray(value)) {
        throw new DocumentStoreError(
          `The field '${path}' must be an array but is of type ${typeName(value)} (${operator})`,
        );
      }
    }
  }
}

function pathsConflict(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/** MongoDB refuses an update touching one path (or a path and its prefix) from two operators. */
export function findConflictingPaths(update: UpdateDocument): [string, string] | undefined {
  const paths: string[] = [];
  for (const [operator, argument] of Object.entries(update)) {
    if (!isPlainObject(argument)) continue;
    paths.push(...Object.keys(argument));
    if (operator === "$rename") {
      for (const target of Object.values(argument)) if (typeof target === "string") paths.push(target);
    }
  }
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      if (pathsConflict(paths[i]!, paths[j]!)) return [paths[i]!, paths[j]!];
    }
  }
  return undefined;
}

const FAST_OPERATORS = new Set(["$set", "$inc", "$unset"]);
const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The operators projections use on every event ($set, $inc, $unset on plain dotted paths) applied
 * directly: mingo's updater rebuilds its operator tables and deep-copies the document on every
 * call, which dominated replays. Returns undefined when the modifier needs anything else, and the
 * caller falls back to mingo. assertUpdateApplicable has already rejected type errors. The
 * contract's model-based property test checks the two paths agree.
 */
function fastUpdate(doc: MutableDocument, modifier: Record<string, unknown>): boolean | undefined {
  for (const [operator, argument] of Object.entries(modifier)) {
    if (!FAST_OPERATORS.has(operator) || !isPlainObject(argument)) return undefined;
    for (const [path, value] of Object.entries(argument)) {
      if (path === "_id" || path.startsWith("_id.")) return undefined; // mingo raises MongoDB's immutable-_id error
      if (!path.split(".").every((segment) => PLAIN_SEGMENT.test(segment))) return undefined;
      if (operator === "$inc" && typeof value !== "number") return undefined;
      if (operator === "$set" && value !== null && typeof value === "object" && !isPlainObject(value))
        return undefined;
    }
  }
  let changed = false;
  for (const [operator, argument] of Object.entries(modifier) as [string, Record<string, unknown>][]) {
    for (const [path, value] of Object.entries(argument)) {
      const segments = path.split(".");
      const last = segments.pop() as string;
      let parent: Record<string, unknown> = doc;
      let missingParent = false;
      for (const segment of segments) {
        let next = parent[segment];
        if (next === undefined) {
          if (operator === "$unset") {
            missingParent = true;
            break;
          }
          next = {};
          parent[segment] = next;
        }
        parent = next as Record<string, unknown>;
      }
      if (missingParent) continue;
      const before = parent[last];
      if (operator === "$unset") {
        if (before !== undefined) {
          delete parent[last];
          changed = true;
        }
      } else if (operator === "$inc") {
        parent[last] = (typeof before === "number" ? before : 0) + (value as number);
        if (before === undefined || value !== 0) changed = true;
      } else {
        if (value !== null && typeof value === "object") {
          const copy = structuredClone(value);
          if (before === undefined || JSON.stringify(before) !== JSON.stringify(copy)) changed = true;
          parent[last] = copy;
        } else {
          if (before !== value) changed = true;
          parent[last] = value;
        }
      }
    }
  }
  return changed;
}

function runMingo(doc: MutableDocument, modifier: Record<string, unknown>): boolean {
  if (Object.keys(modifier).length === 0) return false;
  const fast = fastUpdate(doc, modifier);
  if (fast !== undefined) return fast;
  try {
    const changed = mingoUpdate(doc, modifier as Modifier<MutableDocument>, undefined, undefined, {
      cloneMode: "deep",
    });
    return changed.length > 0;
  } catch (error) {
    if (error instanceof DocumentStoreError) throw error;
    throw new DocumentStoreError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

export interface UpdateOutcome {
  /** The document after the op, null when it does not exist. */
  readonly doc: MutableDocument | null;
  /** Whether the op changed anything that must be written. */
  readonly changed: boolean;
}

/**
 * Applies an update op addressed by `_id` to `current` (mutated in place), as MongoDB's
 * `updateOne({ _id: id }, update, { upsert })`: a missing document is created from `_id`, the
 * update and `$setOnInsert` only when upserting; otherwise a missing document stays missing.
 */
export function applyUpdate(
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

/** The stored form of a replace op: the document with `_id` first, deep-copied. */
export function replacementDocument(
  id: string,
  document: Readonly<Record<string, unknown>>,
): MutableDocument {
  const { _id: _ignored, ...rest } = structuredClone(document) as Record<string, unknown>;
  return { _id: id, ...rest };
}
