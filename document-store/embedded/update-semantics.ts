/**
 * MongoDB write semantics for the embedded store, applied to plain objects. The update operators
 * are mingo's, but for the projections' common case ($set, $inc, $unset, $min, $max, $push and
 * $setOnInsert on plain dotted paths), applied directly with the same outcome (the fast path,
 * held to the general path by a property test); this module adds what MongoDB does around them:
 * upserts addressed by `_id` with `$setOnInsert`, replacements, and the errors MongoDB raises where
 * mingo silently does nothing (so a batch fails in both adapters alike and is rolled back).
 */
import type { Modifier } from "mingo/updater";
import { update as mingoUpdate } from "mingo/updater";
import { cloneDeep, isEqual } from "mingo/util";
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

const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One path of an update shape, split once. */
interface PathPlan {
  readonly path: string;
  readonly parents: readonly string[];
  readonly last: string;
}

type FastOperator = "$set" | "$inc" | "$unset" | "$min" | "$max" | "$push";

interface OperatorPlan {
  readonly operator: FastOperator;
  /** The update's key holding the argument: the operator, or $setOnInsert (applied as $set). */
  readonly source: string;
  readonly paths: readonly PathPlan[];
}

/**
 * What does not depend on the values or the document, worked out once per update shape (its
 * operators and paths, in order): the conflict check, and the split paths for the fast path.
 */
interface ShapePlan {
  /** The shape itself: the update's operators and each one's paths, in order. */
  readonly operators: readonly string[];
  readonly keys: readonly (readonly string[])[];
  readonly conflict: [string, string] | undefined;
  /** The operators other than $setOnInsert, in order; undefined when one of them needs mingo. */
  readonly modifier: readonly OperatorPlan[] | undefined;
  /** $setOnInsert applied as a $set; undefined when absent or when it needs mingo. */
  readonly setOnInsert: readonly OperatorPlan[] | undefined;
}

const FAST_OPERATORS: ReadonlySet<string> = new Set(["$set", "$inc", "$unset", "$min", "$max", "$push"]);
/** Operators whose shape can be cached (a $rename's conflicts depend on its values). */
const SHAPE_OPERATORS: ReadonlySet<string> = new Set([...FAST_OPERATORS, "$setOnInsert"]);
const SHAPE_CACHE_SIZE = 512;
/** Plans by first operator and its first path (no key string to build per op), then compared. */
const shapes = new Map<string, Map<string, ShapePlan[]>>();
let shapeCount = 0;

function pathPlan(path: string): PathPlan | undefined {
  if (path === "_id" || path.startsWith("_id.")) return undefined; // mingo raises MongoDB's immutable-_id error
  const segments = path.split(".");
  // Names Object.prototype has (constructor, __proto__, …) are left to mingo and its checks.
  if (!segments.every((segment) => PLAIN_SEGMENT.test(segment) && !(segment in Object.prototype)))
    return undefined;
  const last = segments.pop() as string;
  return { path, parents: segments, last };
}

function operatorPlan(
  operator: FastOperator,
  source: string,
  argument: Record<string, unknown>,
): OperatorPlan | undefined {
  const paths: PathPlan[] = [];
  for (const path of Object.keys(argument)) {
    const plan = pathPlan(path);
    if (plan === undefined) return undefined;
    paths.push(plan);
  }
  return { operator, source, paths };
}

/** Whether `update` has exactly the operators and paths of `shape`, in the same order. */
function hasShape(update: UpdateDocument, shape: ShapePlan): boolean {
  let i = 0;
  for (const operator in update) {
    if (shape.operators[i] !== operator) return false;
    const keys = shape.keys[i] as readonly string[];
    const argument = update[operator] as Record<string, unknown>;
    let j = 0;
    for (const path in argument) if (keys[j++] !== path) return false;
    if (j !== keys.length) return false;
    i++;
  }
  return i === shape.operators.length;
}

/**
 * The plan of an update's shape, cached by its operators and paths; undefined for updates with
 * other operators (left to the general path).
 */
function shapeOf(update: UpdateDocument): ShapePlan | undefined {
  let first: string | undefined;
  let firstPath = "";
  for (const operator in update) {
    first = operator;
    const argument = update[operator];
    if (!isPlainObject(argument)) return undefined;
    for (const path in argument) {
      firstPath = path;
      break;
    }
    break;
  }
  if (first === undefined) return undefined;
  const candidates = shapes.get(first)?.get(firstPath);
  if (candidates !== undefined) for (const shape of candidates) if (hasShape(update, shape)) return shape;

  const operators = Object.keys(update);
  if (!operators.every((operator) => SHAPE_OPERATORS.has(operator) && isPlainObject(update[operator])))
    return undefined;
  const keys = operators.map((operator) => Object.keys(update[operator] as Record<string, unknown>));
  let modifier: OperatorPlan[] | undefined = [];
  let setOnInsert: OperatorPlan[] | undefined;
  for (const operator of operators) {
    const argument = update[operator] as Record<string, unknown>;
    if (operator === "$setOnInsert") {
      const plan = operatorPlan("$set", operator, argument);
      setOnInsert = plan === undefined ? undefined : [plan];
      continue;
    }
    const plan = operatorPlan(operator as FastOperator, operator, argument);
    if (plan === undefined) modifier = undefined;
    else modifier?.push(plan);
  }
  const shape: ShapePlan = { operators, keys, conflict: findConflictingPaths(update), modifier, setOnInsert };
  if (shapeCount >= SHAPE_CACHE_SIZE) {
    shapes.clear();
    shapeCount = 0;
  }
  let byPath = shapes.get(first);
  if (byPath === undefined) {
    byPath = new Map();
    shapes.set(first, byPath);
  }
  byPath.set(firstPath, [...(byPath.get(firstPath) ?? []), shape]);
  shapeCount++;
  return shape;
}

/** A value as JSON has it: null, a string, a number, a boolean, an array or a plain object. */
function jsonValue(value: unknown): boolean {
  return (
    value === null ||
    typeof value === "string" ||
    typeof value === "number" ||
    typeof value === "boolean" ||
    Array.isArray(value) ||
    isPlainObject(value)
  );
}

/**
 * Whether `value` is an argument the fast path handles for `operator` as mingo would. Rules of
 * MongoDB's update operators (https://www.mongodb.com/docs/manual/reference/operator/update/):
 * - $set replaces the field's value with the given one, whatever its type, and creates the
 *   field (and missing embedded documents on a dotted path) when absent (…/update/set/).
 * - $inc takes a number; a missing field is created with the increment (…/update/inc/).
 * - $min/$max compare with BSON's order; the fast path takes only a number against a number and
 *   a string against a string, where that order is JavaScript's (…/update/min/, …/update/max/).
 * - $push appends the value as one element, creating the array when the field is absent; a
 *   value with the $each/$slice/$sort/$position modifiers is not one element (…/update/push/):
 *   any `$` key in a pushed document is left to mingo.
 */
function fastArgument(operator: FastOperator, value: unknown): boolean {
  switch (operator) {
    case "$set":
      return jsonValue(value);
    case "$push":
      return jsonValue(value) && !(isPlainObject(value) && Object.keys(value).some((k) => k.startsWith("$")));
    case "$inc":
      return typeof value === "number" && !Number.isNaN(value);
    case "$min":
    case "$max":
      return typeof value === "number" || typeof value === "string";
    case "$unset":
      return true;
  }
}

/**
 * Whether every path of the plan is one the fast path applies exactly as assertUpdateApplicable
 * and mingo would, on `doc` as it is: every existing parent a plain object, and the existing
 * value of a type the operator takes without an error or a cross-type comparison. Mutates nothing.
 */
function fastApplicable(
  doc: MutableDocument,
  plans: readonly OperatorPlan[],
  update: UpdateDocument,
): boolean {
  for (const { operator, source, paths } of plans) {
    const argument = update[source] as Record<string, unknown>;
    for (const { path, parents, last } of paths) {
      const value = argument[path];
      if (!fastArgument(operator, value)) return false;
      let parent: Record<string, unknown> | undefined = doc;
      for (const segment of parents) {
        const next: unknown = parent[segment];
        if (next === undefined) {
          parent = undefined; // created on the way ($unset: nothing to do)
          break;
        }
        if (!isPlainObject(next)) return false; // an error, or mingo's handling of arrays: the general path
        parent = next;
      }
      if (parent === undefined) continue;
      const before = parent[last];
      if (before === undefined) continue;
      if (operator === "$inc" && (typeof before !== "number" || Number.isNaN(before))) return false;
      if ((operator === "$min" || operator === "$max") && typeof before !== typeof value) return false;
      // $push on a field that is not an array: MongoDB's error (assertUpdateApplicable raises it).
      if (operator === "$push" && !Array.isArray(before)) return false;
    }
  }
  return true;
}

/**
 * Applies $set, $inc, $unset, $min, $max and $push on plain dotted paths directly, with mingo's
 * semantics (its equality and deep copy for $set, its comparison for $min/$max): mingo's updater
 * rebuilds its operator tables on every call, which dominated replays. Only called once
 * fastApplicable has said yes. Returns whether anything changed.
 */
function fastUpdate(doc: MutableDocument, plans: readonly OperatorPlan[], update: UpdateDocument): boolean {
  let changed = false;
  for (const { operator, source, paths } of plans) {
    const argument = update[source] as Record<string, unknown>;
    for (const { path, parents, last } of paths) {
      const value = argument[path];
      let parent: Record<string, unknown> = doc;
      let missingParent = false;
      for (const segment of parents) {
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
      switch (operator) {
        case "$set":
          if (before === value || (before !== undefined && isEqual(before, value))) break;
          parent[last] = typeof value === "object" && value !== null ? cloneDeep(value) : value;
          changed = true;
          break;
        case "$inc": {
          const after = ((before as number | undefined) || 0) + (value as number);
          parent[last] = after;
          if (after !== before) changed = true;
          break;
        }
        case "$min":
          if (before !== undefined && !((before as number | string) > (value as number | string))) break;
          parent[last] = value;
          changed = true;
          break;
        case "$max":
          if (before !== undefined && !((before as number | string) < (value as number | string))) break;
          parent[last] = value;
          changed = true;
          break;
        case "$push": {
          const element = typeof value === "object" && value !== null ? cloneDeep(value) : value;
          if (before === undefined) parent[last] = [element];
          else (before as unknown[]).push(element);
          changed = true;
          break;
        }
        case "$unset":
          if (Object.hasOwn(parent, last)) {
            delete parent[last];
            if (before !== undefined) changed = true;
          }
          break;
      }
    }
  }
  return changed;
}

export function runMingo(doc: MutableDocument, modifier: Record<string, unknown>): boolean {
  if (Object.keys(modifier).length === 0) return false;
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
  const shape = shapeOf(update);
  const conflict = shape === undefined ? findConflictingPaths(update) : shape.conflict;
  if (conflict !== undefined) {
    throw new DocumentStoreError(
      `Updating the path '${conflict[0]}' would create a conflict at '${conflict[1]}'`,
    );
  }
  if (current !== null) {
    return { doc: current, changed: applyModifier(current, update, shape?.modifier) };
  }
  if (!upsert) return { doc: null, changed: false };
  const created: MutableDocument = { _id: id };
  applyModifier(created, update, shape?.modifier);
  const { $setOnInsert } = update;
  if (isPlainObject($setOnInsert)) {
    const setOnInsert = shape?.setOnInsert;
    if (setOnInsert !== undefined && fastApplicable(created, setOnInsert, update)) {
      fastUpdate(created, setOnInsert, update);
    } else {
      assertUpdateApplicable(created, { $set: $setOnInsert });
      runMingo(created, { $set: $setOnInsert });
    }
  }
  return { doc: created, changed: true };
}

/**
 * The update's operators but $setOnInsert, applied to `doc`: directly when the shape's plan and
 * the document allow it, else checked (assertUpdateApplicable) and applied by mingo. Both give
 * the same document, changed flag and errors (update-semantics.unit.test.ts compares them).
 */
function applyModifier(
  doc: MutableDocument,
  update: UpdateDocument,
  plans: readonly OperatorPlan[] | undefined,
): boolean {
  if (plans !== undefined && fastApplicable(doc, plans, update)) return fastUpdate(doc, plans, update);
  const { $setOnInsert: _ignored, ...modifier } = update;
  assertUpdateApplicable(doc, modifier);
  return runMingo(doc, modifier);
}

/** The stored form of a replace op: the document with `_id` first, deep-copied. */
export function replacementDocument(
  id: string,
  document: Readonly<Record<string, unknown>>,
): MutableDocument {
  const { _id: _ignored, ...rest } = structuredClone(document) as Record<string, unknown>;
  return { _id: id, ...rest };
}
