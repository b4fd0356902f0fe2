import type { StorageFailure } from "../platform/storage-failure.js";

/**
 * The document store port: where projections keep their read models and checkpoints.
 * MongoDB query and update semantics in both adapters (MongoDB itself, and an embedded
 * file-backed store that uses mingo for the semantics and SQLite for durability and indexes).
 */

/** A stored document. `_id` is always a string in this project. */
export type Document = { readonly _id: string } & { readonly [field: string]: unknown };

/** A MongoDB query document, e.g. `{ parkingLotId: "1", status: "RESERVED", seq: { $lt: 42 } }`. */
export type Filter = Readonly<Record<string, unknown>>;

/** A MongoDB update document using operators: `$set`, `$inc`, `$unset`, `$setOnInsert`, `$max`, `$min`, `$push`. */
export type UpdateDocument = Readonly<Record<string, unknown>>;

export type SortSpec = Readonly<Record<string, 1 | -1>>;

/** One write addressed by `_id` (projections know the id of what they change). */
export type WriteOpById =
  | {
      readonly op: "update";
      readonly collection: string;
      readonly id: string;
      readonly update: UpdateDocument;
      /** Create the document from `_id`, `$setOnInsert` and the update when it does not exist. */
      readonly upsert?: boolean;
      /**
       * A condition on this document as it stands at this op (earlier ops of the batch applied):
       * the whole batch is written only if the document matches it (a missing document counts as
       * matching only with `upsert`); otherwise write() throws WriteConditionFailedError and
       * nothing of the batch is written. Checked and written atomically, like a compare-and-set:
       * what leases and fencing tokens are built on.
       */
      readonly if?: Filter;
    }
  | {
      readonly op: "replace";
      readonly collection: string;
      readonly id: string;
      readonly document: Record<string, unknown>;
    }
  | { readonly op: "delete"; readonly collection: string; readonly id: string };

/**
 * A delete of every document `filter` matches, as the batch's earlier ops left them: for a range
 * an index serves.
 */
export type DeleteManyOp = {
  readonly op: "deleteMany";
  readonly collection: string;
  readonly filter: Filter;
};

/** What a write batch may hold: ops by `_id`, and deletes by filter. */
export type WriteOp = WriteOpById | DeleteManyOp;

export interface IndexSpec {
  readonly name: string;
  /** Compound key in order, e.g. `{ parkingLotId: 1, seq: -1 }`. */
  readonly keys: Readonly<Record<string, 1 | -1>>;
  readonly unique?: boolean;
}

/**
 * A geospatial index (MongoDB's `2dsphere`) on `field`, which holds a GeoJSON point
 * `{ type: "Point", coordinates: [longitude, latitude] }` (a document without a valid one is not
 * in it). What findNear reads.
 */
export interface GeoIndexSpec {
  readonly name: string;
  readonly geo: string;
}

/** Any index a collection may declare. */
export type AnyIndexSpec = IndexSpec | GeoIndexSpec;
export const isGeoIndex = (spec: AnyIndexSpec): spec is GeoIndexSpec => "geo" in spec;
/** The key indexes of a declaration (what every store orders by). */
export const keyIndexes = (specs: readonly AnyIndexSpec[]): IndexSpec[] =>
  specs.filter((spec): spec is IndexSpec => !isGeoIndex(spec));

/** The documents near a point, nearest first (see DocumentStore.findNear). */
export interface NearQuery {
  /** The field of a geo index. */
  readonly field: string;
  readonly latitude: number;
  readonly longitude: number;
  /** Only documents at most this far (great-circle meters, on the sphere MongoDB measures with). */
  readonly maxDistanceMeters: number;
  /** Past a page: documents farther than this one, or as far with a greater `_id`. */
  readonly after?: { readonly distanceMeters: number; readonly id: string };
  readonly limit: number;
}

export interface Near<T extends Document = Document> {
  readonly document: T;
  readonly distanceMeters: number;
}

export interface FindOptions {
  readonly sort?: SortSpec;
  readonly limit?: number;
  readonly skip?: number;
}

/** The values `countBy` groups by. */
export type Scalar = string | number | boolean | null;

export interface CountByOptions {
  /** Count at most this many matching documents (0 or undefined: all of them). */
  readonly limit?: number;
}

/** How a query would be executed, for tests and operators: does it use an index or scan everything? */
export interface QueryPlan {
  readonly indexed: boolean;
  /** Adapter-specific description (SQLite's EXPLAIN QUERY PLAN, or MongoDB's winning plan stages). */
  readonly detail: string;
}

export interface DocumentStore {
  /** Creates the indexes if missing (idempotent). Creates the collection if missing. */
  ensureIndexes(collection: string, indexes: readonly AnyIndexSpec[]): Promise<void>;

  /**
   * Announces indexes that ensureIndexes will create later, after a bulk load into the collection
   * (a rebuild): queries do not use them before that, but the store may prepare for them (the
   * embedded store keeps their fields in columns from the first write on, so the later build
   * reads no JSON). Idempotent; creates the collection if missing.
   */
  prepareIndexes(collection: string, indexes: readonly AnyIndexSpec[]): Promise<void>;

  findById<T extends Document = Document>(collection: string, id: string): Promise<T | null>;

  find<T extends Document = Document>(
    collection: string,
    filter: Filter,
    options?: FindOptions,
  ): Promise<T[]>;

  count(collection: string, filter: Filter): Promise<number>;

  /**
   * The documents of the geo index on `query.field` within `maxDistanceMeters` of the point,
   * nearest first (ties by `_id`), at most `limit`, each with its distance: the index narrows the
   * candidates to the circle's surroundings, so the work grows with the documents near the point,
   * not with the collection. A collection without that geo index is an error (as in MongoDB).
   */
  findNear<T extends Document = Document>(collection: string, query: NearQuery): Promise<Near<T>[]>;

  /**
   * How many documents match `filter`, per value of `field` (a field path like an index key's):
   * one entry per value found (scalars; a document without the field counts under `null`), in one
   * pass over the matches, which reads only index entries when an index serves the filter and
   * holds the field. With `limit`, at most that many matching documents are counted in all (a
   * bound on the work: past it the counts are lower bounds).
   */
  countBy(
    collection: string,
    filter: Filter,
    field: string,
    options?: CountByOptions,
  ): Promise<Map<Scalar, number>>;

  /**
   * Applies every op in order, atomically: after a crash either all of them are visible or none.
   * This is what makes a projector's effects land exactly once (its checkpoint is one of the ops).
   */
  write(ops: readonly WriteOp[]): Promise<void>;

  explain(collection: string, filter: Filter, options?: FindOptions): Promise<QueryPlan>;

  listCollections(): Promise<string[]>;

  dropCollection(collection: string): Promise<void>;

  /**
   * Starts a bulk load of fresh collections (a rebuild's next generation), which nothing else
   * writes and nobody queries until it is over. Announce each collection with prepareIndexes, write
   * through the load, build the indexes with its ensureIndexes once every document is in (one
   * sort per index instead of maintaining each on every write), then close it. Optional: without
   * it, the caller writes to the store itself.
   */
  openBulkLoad?(): Promise<BulkLoad>;

  /**
   * Makes what was overwritten or deleted so far unreadable in the store's files, not only in its
   * collections (issue 36: an erased customer's plate rewritten to `erased` by the read models).
   * The embedded store zeroes freed content as it writes (`secure_delete`) and here checkpoints and
   * truncates its write-ahead log, which still holds the old page images. Optional: a server store
   * (MongoDB) leaves it to its own storage engine.
   */
  compact?(): Promise<void>;

  close(): Promise<void>;
}

/**
 * A store for a bulk load (see DocumentStore.openBulkLoad). Its write() may return once the batch
 * is handed over (the embedded store applies it in a thread of its own while the caller prepares
 * the next): each batch is still applied atomically and in order, its checkpoint with it, and a
 * batch refused makes every later call fail. Every other call answers after the writes before it.
 * flush() waits until every batch handed over is stored (or throws the first failure); close()
 * ends the load, not the store.
 */
export interface BulkLoad extends DocumentStore {
  flush(): Promise<void>;
  /** The failure that ended the load, if a batch was refused since the last call. */
  failed(): Error | undefined;
}

/** Collection names: lower-case letters, digits and underscores (safe as SQLite table and MongoDB names). */
export const COLLECTION_NAME = /^[a-z][a-z0-9_]{0,100}$/;

export class DocumentStoreError extends Error {
  override name = "DocumentStoreError";
}

export class DocumentStoreUnavailableError extends DocumentStoreError {
  override name = "DocumentStoreUnavailableError";
}

/** The disk under the store is full or read-only: nothing of the write was kept; retry once it has room. */
export class DocumentStoreStorageError extends DocumentStoreUnavailableError {
  override name = "DocumentStoreStorageError";
  constructor(
    message: string,
    readonly storage: StorageFailure,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A conditional op's document did not match its `if` condition: nothing of the batch was written. */
export class WriteConditionFailedError extends DocumentStoreError {
  override name = "WriteConditionFailedError";
  constructor(
    readonly collection: string,
    readonly id: string,
  ) {
    super(`${collection}/${id} does not match the write's condition; nothing was written`);
  }
}
