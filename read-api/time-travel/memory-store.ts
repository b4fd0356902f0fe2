import { find as mingoFind, Query } from "mingo";
import type { MutableDocument } from "../../document-store/embedded/update-semantics.js";
import {
  type CountByOptions,
  type Document,
  type DocumentStore,
  DocumentStoreError,
  type Filter,
  type FindOptions,
  type AnyIndexSpec as IndexSpec,
  type Near,
  type NearQuery,
  type QueryPlan,
  type Scalar,
  type WriteOp,
} from "../../document-store/port.js";
import { distanceMeters } from "../../platform/geo.js";
import { type IndexedDocs, type IndexPlan, planFind } from "./fold-index.js";

/**
 * A read-only document store over a fold's documents, held in memory: MongoDB query semantics
 * through mingo, as the embedded store's (which uses mingo for them too). What a time-travel answer
 * is read from. A find whose filter pins an index's first fields by equality, sorted by its next
 * (a page of a listing: `planFind`), walks that index's range in order, testing each document
 * against the whole filter, and stops at the page's end: its cost grows with the page (and the
 * documents of the range the filter's other conditions pass over), not with the collection.
 * Anything else scans the collection's documents (a fold holds a lot's present: FoldState) and
 * sorts them, ties by `_id` as an index walk yields them, and `explain` says so.
 */
export class MemoryDocumentStore implements DocumentStore {
  constructor(private readonly collections: ReadonlyMap<string, IndexedDocs>) {}

  private docs(collection: string): Iterable<MutableDocument> {
    return this.collections.get(collection)?.values() ?? [];
  }

  private plan(collection: string, filter: Filter, sort: FindOptions["sort"]): IndexPlan | null {
    const indexes = this.collections.get(collection)?.indexes ?? [];
    return indexes.length === 0 ? null : planFind(filter, sort, indexes);
  }

  /** The documents `filter` matches: from the plan's index range when given (in its order), else a scan. */
  private *matches(collection: string, filter: Filter, plan: IndexPlan | null): Generator<MutableDocument> {
    const query = new Query(filter as Record<string, unknown>, { scriptEnabled: false });
    const docs = this.collections.get(collection);
    const candidates = plan && docs ? docs.walk(plan) : this.docs(collection);
    for (const doc of candidates) if (query.test(doc)) yield doc;
  }

  private matching(collection: string, filter: Filter): MutableDocument[] {
    return [...this.matches(collection, filter, null)];
  }

  async ensureIndexes(_collection: string, _indexes: readonly IndexSpec[]): Promise<void> {}

  async prepareIndexes(_collection: string, _indexes: readonly IndexSpec[]): Promise<void> {}

  async findById<T extends Document = Document>(collection: string, id: string): Promise<T | null> {
    const doc = this.collections.get(collection)?.get(id);
    return doc ? (structuredClone(doc) as unknown as T) : null;
  }

  /** Every document of the collection measured (a fold holds few lots), nearest first, ties by `_id`. */
  async findNear<T extends Document = Document>(collection: string, query: NearQuery): Promise<Near<T>[]> {
    const center = { latitude: query.latitude, longitude: query.longitude };
    const found: Near<T>[] = [];
    for (const doc of this.docs(collection)) {
      const point = valueAtPath(doc, query.field) as { type?: unknown; coordinates?: unknown } | undefined;
      const [longitude, latitude] = Array.isArray(point?.coordinates) ? point.coordinates : [];
      if (point?.type !== "Point" || typeof longitude !== "number" || typeof latitude !== "number") continue;
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
    const sort = options.sort && Object.keys(options.sort).length > 0 ? options.sort : undefined;
    const plan = sort ? this.plan(collection, filter, sort) : null;
    if (plan) {
      // In the sort's order already: the page is the first skip + limit matches of the range.
      const out: T[] = [];
      let skip = options.skip ?? 0;
      for (const doc of this.matches(collection, filter, plan)) {
        if (skip > 0) {
          skip--;
          continue;
        }
        out.push(structuredClone(doc) as unknown as T);
        if (out.length === options.limit) break;
      }
      return out;
    }
    let cursor = mingoFind<MutableDocument>(this.matching(collection, filter), {});
    if (sort)
      cursor = cursor.sort({ ...(sort as Record<string, 1 | -1>), ...("_id" in sort ? {} : { _id: 1 }) });
    if (options.skip) cursor = cursor.skip(options.skip);
    if (options.limit) cursor = cursor.limit(options.limit);
    return cursor.all().map((d) => structuredClone(d) as unknown as T);
  }

  async count(collection: string, filter: Filter): Promise<number> {
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
    const counts = new Map<Scalar, number>();
    let seen = 0;
    for (const doc of this.matching(collection, filter)) {
      if (options.limit && seen >= options.limit) break;
      seen++;
      const value = field.split(".").reduce<unknown>((v, key) => (v as Record<string, unknown>)?.[key], doc);
      const key: Scalar =
        typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : null;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  async write(_ops: readonly WriteOp[]): Promise<void> {
    throw new DocumentStoreError("a time-travel view is read-only");
  }

  async explain(collection: string, filter: Filter, options: FindOptions = {}): Promise<QueryPlan> {
    const sort = options.sort && Object.keys(options.sort).length > 0 ? options.sort : undefined;
    const plan = this.plan(collection, filter, sort);
    if (!plan) {
      return {
        indexed: false,
        detail: "in-memory scan of a fold: no index kept has the filter's equalities followed by the sort",
      };
    }
    const pinned = plan.index.fields.slice(0, plan.prefix.length);
    return {
      indexed: true,
      detail: `range of the fold's index ${plan.index.spec.name} (${pinned.join(", ") || "no field"} pinned${plan.bound ? `, from ${plan.index.fields[pinned.length]} ${String(plan.bound.value)}` : ""})`,
    };
  }

  async listCollections(): Promise<string[]> {
    return [...this.collections.keys()];
  }

  async dropCollection(_collection: string): Promise<void> {
    throw new DocumentStoreError("a time-travel view is read-only");
  }

  async close(): Promise<void> {}
}

/** The value at a dotted path of a document. */
function valueAtPath(doc: MutableDocument, path: string): unknown {
  let value: unknown = doc;
  for (const key of path.split(".")) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}
