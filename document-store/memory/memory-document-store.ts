import { find as mingoFind, Query } from "mingo";
import { distanceMeters } from "../../platform/geo.js";
import { chargeWork } from "../../platform/work-budget.js";
import { applyUpdate, type MutableDocument, replacementDocument } from "../embedded/update-semantics.js";
import {
  type AnyIndexSpec,
  type CountByOptions,
  type Document,
  type DocumentStore,
  DocumentStoreError,
  type Filter,
  type FindOptions,
  isGeoIndex,
  keyIndexes,
  type Near,
  type NearQuery,
  type QueryPlan,
  type Scalar,
  WriteConditionFailedError,
  type WriteOp,
  type WriteOpById,
} from "../port.js";
import { checkArgs, isPlainObject } from "../validation.js";
import { IndexedDocs, type IndexPlan, planFind } from "./memory-index.js";

/**
 * A document store held in this process's memory, nothing on disk: MongoDB query and update
 * semantics through mingo and the embedded store's update code (update-semantics.ts), its key
 * indexes B+ trees (memory-index.ts). It runs the document-store contract suite as the other
 * adapters do. What time travel folds the log into (read-api/time-travel/fold-state.ts), for it
 * has what a fold needs and a file does not: `copy()`, O(collections), shares every document and
 * index node with the original (copy-on-write), so a checkpoint costs what the writes after it
 * change, and writes are synchronous (`writeNow`).
 *
 * A find whose filter pins an index's first fields by equality, sorted by its next (a page of a
 * listing: `planFind`), walks that index's range in order, testing each document against the whole
 * filter, and stops at the page's end: its cost grows with the page, not with the collection.
 * Without a sort, a range of an index whose first fields the filter pins (or bounds).
 * Anything else scans the collection's documents and sorts them, ties by `_id` as an index walk
 * yields them, and `explain` says so; findNear measures every document of the collection.
 */
export class MemoryDocumentStore implements DocumentStore {
  constructor(
    private readonly collections = new Map<string, IndexedDocs>(),
    /** The geo-indexed fields, by collection. */
    private readonly geo = new Map<string, ReadonlySet<string>>(),
  ) {}

  /** A copy sharing every document and index node (copy-on-write): O(collections). */
  copy(): MemoryDocumentStore {
    const copy = new MemoryDocumentStore(new Map(), new Map(this.geo));
    for (const [collection, docs] of this.collections) copy.collections.set(collection, docs.copy());
    return copy;
  }

  private plan(collection: string, filter: Filter, sort: FindOptions["sort"]): IndexPlan | null {
    const indexes = this.collections.get(collection)?.indexes ?? [];
    return indexes.length === 0 ? null : planFind(filter, sort, indexes);
  }

  /** The documents `filter` matches: by `_id`, from the plan's index range (in its order), else a scan. */
  private *matches(collection: string, filter: Filter, plan: IndexPlan | null): Generator<MutableDocument> {
    const query = new Query(filter as Record<string, unknown>, { scriptEnabled: false });
    const docs = this.collections.get(collection);
    if (!docs) return;
    const ids = idsOf(filter);
    const byId = ids?.map((id) => docs.get(id)).filter((d) => d !== undefined);
    // What a request's query examines is charged to its work budget (platform/work-budget.ts). A
    // fold's throwaway store is bounded by its fold: its queries are not refused (bounds.ts).
    for (const doc of byId ?? (plan ? docs.walk(plan) : docs.values())) {
      chargeWork("documents", 1);
      if (query.test(doc)) yield doc;
    }
  }

  async ensureIndexes(collection: string, specs: readonly AnyIndexSpec[]): Promise<void> {
    this.ensureIndexesNow(collection, specs);
  }

  /** ensureIndexes(), synchronously. */
  ensureIndexesNow(collection: string, specs: readonly AnyIndexSpec[]): void {
    checkArgs.indexes(collection, specs);
    const docs = this.collections.get(collection) ?? IndexedDocs.of([], []);
    const indexes = [...docs.indexes.map((index) => index.spec)];
    for (const spec of keyIndexes(specs)) {
      const keys = JSON.stringify(Object.entries(spec.keys));
      const same = indexes.find((i) => i.name === spec.name);
      const other = indexes.find(
        (i) => i.name !== spec.name && JSON.stringify(Object.entries(i.keys)) === keys,
      );
      if (same && JSON.stringify(Object.entries(same.keys)) === keys && !same.unique === !spec.unique)
        continue;
      if (same || other)
        throw new DocumentStoreError(
          `index ${spec.name} of ${collection} conflicts with ${(same ?? other)?.name}`,
        );
      indexes.push(spec);
    }
    // Built over the documents (a unique one refuses a duplicate), then swapped in.
    this.collections.set(collection, IndexedDocs.of(docs.values(), indexes));
    const fields = specs.filter(isGeoIndex).map((spec) => spec.geo);
    if (fields.length > 0)
      this.geo.set(collection, new Set([...(this.geo.get(collection) ?? []), ...fields]));
  }

  /** Creates the collection: its indexes are built by ensureIndexes (over what is written by then). */
  async prepareIndexes(collection: string, specs: readonly AnyIndexSpec[]): Promise<void> {
    checkArgs.indexes(collection, specs);
    if (!this.collections.has(collection)) this.collections.set(collection, IndexedDocs.of([], []));
  }

  async findById<T extends Document = Document>(collection: string, id: string): Promise<T | null> {
    checkArgs.findById(collection, id);
    const doc = this.collections.get(collection)?.get(id);
    if (!doc) return null;
    chargeWork("documents", 1);
    return structuredClone(doc) as unknown as T;
  }

  /** Every document of the collection with a point measured, nearest first, ties by `_id`. */
  async findNear<T extends Document = Document>(collection: string, query: NearQuery): Promise<Near<T>[]> {
    checkArgs.near(collection, query);
    if (!this.geo.get(collection)?.has(query.field))
      throw new DocumentStoreError(`findNear: ${collection} has no geo index on ${query.field}`);
    const center = { latitude: query.latitude, longitude: query.longitude };
    const found: Near<T>[] = [];
    for (const doc of this.collections.get(collection)?.values() ?? []) {
      const point = valueAtPath(doc, query.field) as { type?: unknown; coordinates?: unknown } | undefined;
      const [longitude, latitude] = Array.isArray(point?.coordinates) ? point.coordinates : [];
      if (point?.type !== "Point" || !inRange(latitude, 90) || !inRange(longitude, 180)) continue;
      const distance = distanceMeters(center, { latitude, longitude });
      const { after } = query;
      if (distance > query.maxDistanceMeters) continue;
      if (
        after &&
        !(distance > after.distanceMeters || (distance === after.distanceMeters && doc._id > after.id))
      )
        continue;
      found.push({ document: structuredClone(doc) as unknown as T, distanceMeters: distance });
    }
    return found
      .sort((a, b) => a.distanceMeters - b.distanceMeters || (a.document._id < b.document._id ? -1 : 1))
      .slice(0, query.limit);
  }

  async find<T extends Document = Document>(
    collection: string,
    filter: Filter,
    options: FindOptions = {},
  ): Promise<T[]> {
    const { sort, skip, limit } = checkArgs.find(collection, filter, options);
    const plan = this.plan(collection, filter, sort);
    if (plan && sort && idsOf(filter) === undefined) {
      // In the sort's order already: the page is the first skip + limit matches of the range.
      const out: T[] = [];
      let skipped = skip ?? 0;
      for (const doc of this.matches(collection, filter, plan)) {
        if (skipped > 0) skipped--;
        else out.push(structuredClone(doc) as unknown as T);
        if (out.length === limit) break;
      }
      return out;
    }
    let cursor = mingoFind<MutableDocument>([...this.matches(collection, filter, plan)], {});
    if (sort) cursor = cursor.sort({ ...sort, ...("_id" in sort ? {} : { _id: 1 }) });
    if (skip) cursor = cursor.skip(skip);
    if (limit) cursor = cursor.limit(limit);
    return cursor.all().map((d) => structuredClone(d) as unknown as T);
  }

  async count(collection: string, filter: Filter): Promise<number> {
    checkArgs.query(collection, filter);
    let n = 0;
    for (const _ of this.matches(collection, filter, this.plan(collection, filter, undefined))) n++;
    return n;
  }

  async countBy(
    collection: string,
    filter: Filter,
    field: string,
    options: CountByOptions = {},
  ): Promise<Map<Scalar, number>> {
    const limit = checkArgs.countBy(collection, filter, field, options);
    const counts = new Map<Scalar, number>();
    let seen = 0;
    for (const doc of this.matches(collection, filter, this.plan(collection, filter, undefined))) {
      if (limit && seen >= limit) break;
      seen++;
      const value = valueAtPath(doc, field);
      const key: Scalar =
        typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : null;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  async write(ops: readonly WriteOp[]): Promise<void> {
    this.writeNow(ops);
  }

  /**
   * write(), synchronously: the ops in order, each document changed as a copy (never in place:
   * copies share it); when one fails, every earlier one is undone before the error is thrown.
   */
  writeNow(ops: readonly WriteOp[]): void {
    checkArgs.write(ops);
    const undo: (() => void)[] = [];
    try {
      for (const op of ops) {
        let docs = this.collections.get(op.collection);
        if (!docs) {
          const created = IndexedDocs.of([], []);
          docs = created;
          this.collections.set(op.collection, created);
          undo.push(() => this.collections.delete(op.collection));
        }
        if (op.op === "deleteMany") {
          const query = new Query(op.filter as Record<string, unknown>);
          const collection = docs;
          for (const doc of [...docs.values()].filter((d) => query.test(d))) {
            collection.put(doc._id, undefined);
            undo.push(() => collection.put(doc._id, doc));
          }
          continue;
        }
        const before = docs.get(op.id);
        const after = written(before, op);
        if (after === before) continue;
        docs.put(op.id, after);
        const collection = docs;
        undo.push(() => collection.put(op.id, before));
      }
    } catch (error) {
      for (const step of undo.reverse()) step();
      throw error;
    }
  }

  async explain(collection: string, filter: Filter, options: FindOptions = {}): Promise<QueryPlan> {
    const { sort } = checkArgs.find(collection, filter, options);
    if (idsOf(filter) !== undefined) return { indexed: true, detail: "the documents by _id" };
    const plan = this.plan(collection, filter, sort);
    if (!plan) {
      return {
        indexed: false,
        detail: "in-memory scan: no index has the filter's equalities followed by the sort",
      };
    }
    const pinned = plan.index.fields.slice(0, plan.prefix.length);
    const next = plan.index.fields[pinned.length];
    const from = plan.bound ? `, from ${next} ${String(plan.bound.value)}` : "";
    return {
      indexed: true,
      detail: `range of the fold's index ${plan.index.spec.name} (${pinned.join(", ") || "no field"} pinned${from})`,
    };
  }

  async listCollections(): Promise<string[]> {
    return [...this.collections.keys()];
  }

  async dropCollection(collection: string): Promise<void> {
    checkArgs.collection(collection);
    this.collections.delete(collection);
    this.geo.delete(collection);
  }

  async close(): Promise<void> {}

  /** Every document (shared: never to be changed in place), with its collection. */
  *documents(): Generator<[string, MutableDocument]> {
    for (const [collection, docs] of this.collections)
      for (const doc of docs.values()) yield [collection, doc];
  }
}

/** The document after `op` (a changed copy; `before` itself when nothing changed; undefined: none). */
function written(before: MutableDocument | undefined, op: WriteOpById): MutableDocument | undefined {
  if (op.op === "delete") return undefined;
  if (op.op === "replace") return replacementDocument(op.id, op.document);
  if (op.if !== undefined) {
    const matches = before ? new Query(op.if as Record<string, unknown>).test(before) : op.upsert === true;
    if (!matches) throw new WriteConditionFailedError(op.collection, op.id);
  }
  const { doc, changed } = applyUpdate(
    before ? structuredClone(before) : null,
    op.id,
    op.update,
    op.upsert === true,
  );
  return changed && doc ? doc : before;
}

const inRange = (value: unknown, max: number): value is number =>
  typeof value === "number" && Number.isFinite(value) && Math.abs(value) <= max;

/** The value at a dotted path of a document. */
function valueAtPath(doc: MutableDocument, path: string): unknown {
  let value: unknown = doc;
  for (const key of path.split(".")) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

/** The ids a filter reads by `_id` (an equality, or an `$in` of strings: each looked up once). */
function idsOf(filter: Filter): readonly string[] | undefined {
  const id = filter._id;
  if (typeof id === "string") return [id];
  const list = (id as { $in?: unknown } | null | undefined)?.$in;
  if (!isPlainObject(id) || Object.keys(id).length !== 1 || !Array.isArray(list)) return undefined;
  return list.every((v) => typeof v === "string") ? [...new Set(list as string[])] : undefined;
}
