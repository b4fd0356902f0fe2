import { find as mingoFind, Query } from "mingo";
import type { MutableDocument } from "../../document-store/embedded/update-semantics.js";
import {
  type CountByOptions,
  type Document,
  type DocumentStore,
  DocumentStoreError,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type QueryPlan,
  type Scalar,
  type WriteOp,
} from "../../document-store/port.js";

/** A collection's documents by id (a Map, or a persistent map: fold-state.ts). */
export interface DocumentsById {
  get(id: string): MutableDocument | undefined;
  values(): IterableIterator<MutableDocument>;
}

/**
 * A read-only document store over a fold's documents, held in memory: MongoDB query semantics
 * through mingo, as the embedded store's (which uses mingo for them too). What a time-travel answer
 * is read from: a fold's state holds a lot's live reservations and a few hours of ended ones (see
 * FoldState), so scanning it costs less than building a store with indexes for one query.
 */
export class MemoryDocumentStore implements DocumentStore {
  constructor(private readonly collections: ReadonlyMap<string, DocumentsById>) {}

  private docs(collection: string): Iterable<MutableDocument> {
    return this.collections.get(collection)?.values() ?? [];
  }

  private matching(collection: string, filter: Filter): MutableDocument[] {
    const query = new Query(filter as Record<string, unknown>, { scriptEnabled: false });
    const out: MutableDocument[] = [];
    for (const doc of this.docs(collection)) if (query.test(doc)) out.push(doc);
    return out;
  }

  async ensureIndexes(_collection: string, _indexes: readonly IndexSpec[]): Promise<void> {}

  async prepareIndexes(_collection: string, _indexes: readonly IndexSpec[]): Promise<void> {}

  async findById<T extends Document = Document>(collection: string, id: string): Promise<T | null> {
    const doc = this.collections.get(collection)?.get(id);
    return doc ? (structuredClone(doc) as unknown as T) : null;
  }

  async find<T extends Document = Document>(
    collection: string,
    filter: Filter,
    options: FindOptions = {},
  ): Promise<T[]> {
    let cursor = mingoFind<MutableDocument>(this.matching(collection, filter), {});
    if (options.sort && Object.keys(options.sort).length > 0) {
      cursor = cursor.sort(options.sort as Record<string, 1 | -1>);
    }
    if (options.skip) cursor = cursor.skip(options.skip);
    if (options.limit) cursor = cursor.limit(options.limit);
    return cursor.all().map((d) => structuredClone(d) as unknown as T);
  }

  async count(collection: string, filter: Filter): Promise<number> {
    return this.matching(collection, filter).length;
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

  async explain(_collection: string, _filter: Filter, _options?: FindOptions): Promise<QueryPlan> {
    return { indexed: false, detail: "in-memory scan of a fold" };
  }

  async listCollections(): Promise<string[]> {
    return [...this.collections.keys()];
  }

  async dropCollection(_collection: string): Promise<void> {
    throw new DocumentStoreError("a time-travel view is read-only");
  }

  async close(): Promise<void> {}
}
