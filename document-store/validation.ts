/**
 * Input checks shared by both adapters, so a bad call fails the same way (a DocumentStoreError
 * with the same message) whichever store runs, and never reaches a driver or SQL.
 */
import type {
  AnyIndexSpec,
  CountByOptions,
  Filter,
  FindOptions,
  NearQuery,
  SortSpec,
  WriteOp,
} from "./port.js";
import { COLLECTION_NAME, DocumentStoreError } from "./port.js";

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function assertCollectionName(collection: string): void {
  if (typeof collection !== "string" || !COLLECTION_NAME.test(collection)) {
    throw new DocumentStoreError(
      `invalid collection name ${JSON.stringify(collection)}: use lower-case letters, digits and underscores, starting with a letter`,
    );
  }
}

/**
 * The query operators the stores answer: those the read models and leases use, and no more.
 * MongoDB and mingo know many others ($where and $function run JavaScript, $expr and $regex open
 * other doors); a filter naming any of them is refused before either store sees it, so a value
 * that ever slipped into a filter as an object could not become an operator (both adapters).
 */
export const ALLOWED_QUERY_OPERATORS: ReadonlySet<string> = new Set([
  "$eq",
  "$ne",
  "$gt",
  "$gte",
  "$lt",
  "$lte",
  "$in",
  "$nin",
  "$exists",
  "$and",
  "$or",
  "$nor",
  "$not",
]);

function assertAllowedOperators(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) assertAllowedOperators(item);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, item] of Object.entries(value)) {
    if (key.startsWith("$") && !ALLOWED_QUERY_OPERATORS.has(key))
      throw new DocumentStoreError(`invalid filter: operator ${key} is not supported by this store`);
    assertAllowedOperators(item);
  }
}

export function assertFilter(filter: Filter): void {
  if (!isPlainObject(filter)) throw new DocumentStoreError("a filter must be a plain object");
  assertAllowedOperators(filter);
}

/** Field paths the adapters accept in index keys: dotted segments of letters, digits and underscores. */
export const INDEX_FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export function validateIndexSpecs(collection: string, indexes: readonly AnyIndexSpec[]): void {
  assertCollectionName(collection);
  if (!Array.isArray(indexes)) throw new DocumentStoreError("indexes must be an array");
  const names = new Set<string>();
  for (const index of indexes) {
    if (typeof index.name !== "string" || index.name.length === 0 || index.name.length > 120) {
      throw new DocumentStoreError(`index name must be a non-empty string (≤ 120 characters)`);
    }
    if (names.has(index.name)) throw new DocumentStoreError(`index name ${index.name} is given twice`);
    names.add(index.name);
    if ("geo" in index) {
      if (typeof index.geo !== "string" || !INDEX_FIELD_PATH.test(index.geo))
        throw new DocumentStoreError(
          `geo index ${index.name}: field path ${JSON.stringify(index.geo)} is not supported`,
        );
      continue;
    }
    const keys = Object.entries(index.keys ?? {});
    if (keys.length === 0) throw new DocumentStoreError(`index ${index.name} has no keys`);
    for (const [path, direction] of keys) {
      if (!INDEX_FIELD_PATH.test(path)) {
        throw new DocumentStoreError(
          `index ${index.name}: field path ${JSON.stringify(path)} is not supported (letters, digits, underscores and dots only)`,
        );
      }
      if (direction !== 1 && direction !== -1) {
        throw new DocumentStoreError(`index ${index.name}: direction of ${path} must be 1 or -1`);
      }
    }
  }
}

/** The most documents one findNear answers. */
export const MAX_NEAR_LIMIT = 10_000;

/** A near query both adapters can run: a geo field, a point in range, a finite radius, a page size. */
export function validateNearQuery(collection: string, query: NearQuery): void {
  assertCollectionName(collection);
  const finite = (value: unknown, min: number, max: number) =>
    typeof value === "number" && Number.isFinite(value) && value >= min && value <= max;
  if (typeof query.field !== "string" || !INDEX_FIELD_PATH.test(query.field))
    throw new DocumentStoreError(`findNear: field path ${JSON.stringify(query.field)} is not supported`);
  if (!finite(query.latitude, -90, 90) || !finite(query.longitude, -180, 180))
    throw new DocumentStoreError("findNear: latitude must be in [-90, 90] and longitude in [-180, 180]");
  if (!finite(query.maxDistanceMeters, 0, 20_037_600))
    throw new DocumentStoreError("findNear: maxDistanceMeters must be a finite number of meters, at least 0");
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > MAX_NEAR_LIMIT)
    throw new DocumentStoreError(`findNear: limit must be an integer from 1 to ${MAX_NEAR_LIMIT}`);
  const after = query.after;
  if (
    after !== undefined &&
    (!finite(after.distanceMeters, 0, Number.MAX_VALUE) || typeof after.id !== "string")
  )
    throw new DocumentStoreError("findNear: after needs a distance in meters and an id");
}

/** The update operators both adapters accept (MongoDB's field update and array operators we can honour). */
export const UPDATE_OPERATORS: ReadonlySet<string> = new Set([
  "$set",
  "$unset",
  "$setOnInsert",
  "$inc",
  "$mul",
  "$min",
  "$max",
  "$rename",
  "$push",
  "$addToSet",
  "$pull",
  "$pullAll",
  "$pop",
]);

export function validateWriteOp(op: WriteOp): void {
  if (!isPlainObject(op)) throw new DocumentStoreError("a write op must be a plain object");
  assertCollectionName(op.collection);
  if (op.op === "deleteMany") {
    if (!isPlainObject(op.filter))
      throw new DocumentStoreError(`deleteMany on ${op.collection}: the filter must be a plain object`);
    assertFilter(op.filter);
    return;
  }
  if (typeof op.id !== "string")
    throw new DocumentStoreError(`write op on ${op.collection}: id must be a string`);
  switch (op.op) {
    case "update": {
      const update: unknown = op.update;
      if (!isPlainObject(update)) {
        throw new DocumentStoreError(
          `update of ${op.collection}/${op.id}: the update must be a plain object`,
        );
      }
      const operators = Object.keys(update);
      if (operators.length === 0) {
        throw new DocumentStoreError(`update of ${op.collection}/${op.id}: the update document is empty`);
      }
      for (const operator of operators) {
        if (!operator.startsWith("$")) {
          throw new DocumentStoreError(
            `update of ${op.collection}/${op.id}: update documents need operators ($set, $inc, …), found field ${JSON.stringify(operator)}; use a replace op to write a whole document`,
          );
        }
        if (!UPDATE_OPERATORS.has(operator)) {
          throw new DocumentStoreError(
            `update of ${op.collection}/${op.id}: unsupported update operator ${operator}`,
          );
        }
        if (!isPlainObject(update[operator])) {
          throw new DocumentStoreError(
            `update of ${op.collection}/${op.id}: the argument of ${operator} must be an object`,
          );
        }
      }
      if (op.upsert !== undefined && typeof op.upsert !== "boolean") {
        throw new DocumentStoreError(`update of ${op.collection}/${op.id}: upsert must be a boolean`);
      }
      if (op.if !== undefined) assertFilter(op.if);
      if (op.if !== undefined && !isPlainObject(op.if)) {
        throw new DocumentStoreError(
          `update of ${op.collection}/${op.id}: the condition must be a plain object`,
        );
      }
      return;
    }
    case "replace": {
      const document: unknown = op.document;
      if (!isPlainObject(document)) {
        throw new DocumentStoreError(
          `replace of ${op.collection}/${op.id}: the document must be a plain object`,
        );
      }
      for (const key of Object.keys(document)) {
        if (key.startsWith("$")) {
          throw new DocumentStoreError(
            `replace of ${op.collection}/${op.id}: field names may not start with '$' (${key}); use an update op for operators`,
          );
        }
      }
      if ("_id" in document && document._id !== op.id) {
        throw new DocumentStoreError(
          `replace of ${op.collection}/${op.id}: the document's _id ${JSON.stringify(document._id)} differs from the op's id`,
        );
      }
      return;
    }
    case "delete":
      return;
    default:
      throw new DocumentStoreError(`unknown write op ${JSON.stringify((op as { op?: unknown }).op)}`);
  }
}

export interface NormalizedFindOptions {
  readonly sort: SortSpec | undefined;
  readonly skip: number;
  /** 0 means no limit (as in MongoDB). */
  readonly limit: number;
}

export function normalizeFindOptions(options: FindOptions | undefined): NormalizedFindOptions {
  const skip = options?.skip ?? 0;
  const limit = options?.limit ?? 0;
  if (!Number.isSafeInteger(skip) || skip < 0)
    throw new DocumentStoreError("skip must be a non-negative integer");
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new DocumentStoreError("limit must be a non-negative integer (0 means no limit)");
  }
  let sort: SortSpec | undefined;
  if (options?.sort !== undefined) {
    if (!isPlainObject(options.sort)) throw new DocumentStoreError("sort must be a plain object");
    for (const [field, direction] of Object.entries(options.sort)) {
      if (direction !== 1 && direction !== -1) {
        throw new DocumentStoreError(`sort direction of ${field} must be 1 or -1`);
      }
    }
    sort = Object.keys(options.sort).length > 0 ? options.sort : undefined;
  }
  return { sort, skip, limit };
}

/** Checks countBy's field (a path like an index key's) and options; returns the limit (0: none). */
export function validateCountBy(field: string, options: CountByOptions | undefined): number {
  if (typeof field !== "string" || !INDEX_FIELD_PATH.test(field)) {
    throw new DocumentStoreError(
      `countBy: field path ${JSON.stringify(field)} is not supported (letters, digits, underscores and dots only)`,
    );
  }
  const limit = options?.limit ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new DocumentStoreError("limit must be a non-negative integer (0 means no limit)");
  }
  return limit;
}

/**
 * The arguments of each port operation, checked in the same order by both adapters before they
 * touch their store: what a check returns is the normalized option the operation goes on with.
 */
export const checkArgs = {
  indexes: validateIndexSpecs,
  near: validateNearQuery,
  collection: assertCollectionName,
  findById(collection: string, id: string): void {
    assertCollectionName(collection);
    if (typeof id !== "string") throw new DocumentStoreError("id must be a string");
  },
  /** count's arguments, and the first two of every query. */
  query(collection: string, filter: Filter): void {
    assertCollectionName(collection);
    assertFilter(filter);
  },
  /** find's and explain's. */
  find(collection: string, filter: Filter, options: FindOptions | undefined): NormalizedFindOptions {
    checkArgs.query(collection, filter);
    return normalizeFindOptions(options);
  },
  /** Returns countBy's limit (0: none). */
  countBy(collection: string, filter: Filter, field: string, options: CountByOptions | undefined): number {
    checkArgs.query(collection, filter);
    return validateCountBy(field, options);
  },
  write(ops: readonly WriteOp[]): void {
    if (!Array.isArray(ops)) throw new DocumentStoreError("write expects an array of ops");
    for (const op of ops) validateWriteOp(op);
  },
};
