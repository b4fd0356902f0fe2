import { createRequire } from "node:module";
import { Map as ImmutableMap } from "immutable";
import { compare as mingoCompare } from "mingo/util";
import type { MutableDocument } from "../embedded/update-semantics.js";
import { DocumentStoreError, type Filter, type IndexSpec, type SortSpec } from "../port.js";

/**
 * A collection of the in-memory store with its indexes (issue 34: time travel's lot page listing
 * as of a moment bounded by its page, as the embedded store answers it from an index). Each index
 * is a B+ tree (`sorted-btree`) keyed by the index's fields, then `_id`, in the order mingo sorts
 * them; a clone is O(1) and copy-on-write, so a copy of a collection (a write batch's staging, a
 * fold's checkpoint) shares every node, as the persistent map of the documents does, and a write
 * after it copies O(log n) nodes.
 */

type Tree<K, V> = import("sorted-btree").default<K, V>;
const { default: BTree } = createRequire(import.meta.url)("sorted-btree") as typeof import("sorted-btree");

type Docs = ImmutableMap<string, MutableDocument>;
type Key = readonly unknown[];

/** Seek bounds: before, or after, every value at their place in a key. */
const LOW: unique symbol = Symbol("low");
const HIGH: unique symbol = Symbol("high");

/** What an index keys by: a value mingo orders and compares as equal exactly when it sorts as equal. */
function isKeyValue(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === "number") return !Number.isNaN(value);
  return typeof value === "string" || typeof value === "boolean";
}

/** The value at a (dotted) path; an array or an object on the way makes it no key value. */
function valueAt(doc: MutableDocument, path: string): unknown {
  if (!path.includes(".")) return doc[path];
  let value: unknown = doc;
  for (const part of path.split(".")) {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) return Number.NaN;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** One index of a collection: a persistent ordered tree of its documents' keys. */
export class OrderedIndex {
  readonly fields: readonly string[];
  private readonly directions: readonly (1 | -1)[];

  constructor(
    readonly spec: IndexSpec,
    private tree: Tree<Key, undefined> | null = null,
    /** Documents a key field of which is no key value (an array, an object): kept out of the tree. */
    private irregular = 0,
  ) {
    this.fields = Object.keys(spec.keys);
    this.directions = this.fields.map((f) => spec.keys[f] as 1 | -1);
    this.tree ??= new BTree<Key, undefined>(undefined, (a, b) => this.compareKeys(a, b));
  }

  /** In tree order: each field as mingo sorts it, in the index's direction; then `_id` ascending. */
  private compareKeys(a: Key, b: Key): number {
    for (let i = 0; i <= this.fields.length; i++) {
      const x = a[i];
      const y = b[i];
      if (x === y) continue;
      if (x === LOW || y === HIGH) return -1;
      if (x === HIGH || y === LOW) return 1;
      if (i === this.fields.length) return (x as string) < (y as string) ? -1 : 1;
      // Two strings or two numbers (nearly every key): ordered as mingo orders them, without it.
      const c =
        typeof x === typeof y && (typeof x === "string" || typeof x === "number")
          ? (x as string) < (y as string)
            ? -1
            : 1
          : mingoCompare(x, y);
      if (c !== 0) return c * (this.directions[i] as number);
    }
    return 0;
  }

  private keyOf(doc: MutableDocument): Key | null {
    // A missing field sorts as null (MongoDB's order, and mingo's sort): one key value for both, so
    // documents without it and with null tie, ordered by `_id` as a scan orders them.
    const key = this.fields.map((f) => valueAt(doc, f) ?? null);
    return key.every(isKeyValue) ? [...key, doc._id] : null;
  }

  get size(): number {
    return (this.tree as Tree<Key, undefined>).size;
  }

  /** Whether every document is in the tree: only then does a range of it hold every match. */
  get complete(): boolean {
    return this.irregular === 0;
  }

  /**
   * `before` replaced by `after` (either absent: an insert, a delete). The tree holds keys only
   * (the id last), so a write that changes none of the index's fields changes nothing in it.
   */
  replace(before: MutableDocument | undefined, after: MutableDocument | undefined): void {
    const tree = this.tree as Tree<Key, undefined>;
    const old = before ? this.keyOf(before) : undefined;
    const next = after ? this.keyOf(after) : undefined;
    if (old && next && this.compareKeys(old, next) === 0) return;
    if (old) tree.delete(old);
    else if (old === null) this.irregular--;
    if (next) tree.set(next, undefined);
    else if (next === null) this.irregular++;
  }

  /**
   * Whether `doc`'s key is held by another document (what a unique index refuses). A key with a
   * missing or null field is not checked, as the embedded store's SQL index does not.
   */
  collides(doc: MutableDocument): boolean {
    const key = this.keyOf(doc);
    if (!key || key.slice(0, -1).some((v) => v === null)) return false;
    for (const id of this.range(key.slice(0, -1))) if (id !== doc._id) return true;
    return false;
  }

  /** A copy sharing every node (copy-on-write both ways). */
  clone(): OrderedIndex {
    return new OrderedIndex(this.spec, (this.tree as Tree<Key, undefined>).clone(), this.irregular);
  }

  /**
   * The ids of the documents whose first `prefix.length` fields equal `prefix`, in tree order,
   * starting after the values of the next field that come before `bound` in tree order
   * (`bound.inclusive`: from it).
   */
  *range(prefix: readonly unknown[], bound?: { value: unknown; inclusive: boolean }): Generator<string> {
    const seek: unknown[] = [...prefix];
    if (bound) seek.push(bound.value, bound.inclusive ? LOW : HIGH);
    else seek.push(LOW);
    const tree = this.tree as Tree<Key, undefined>;
    for (const key of tree.keys(seek)) {
      for (let i = 0; i < prefix.length; i++)
        if (key[i] !== prefix[i] && mingoCompare(key[i], prefix[i]) !== 0) return;
      yield key[key.length - 1] as string;
    }
  }
}

/** A collection: its documents by id (persistent) and the indexes kept beside them. */
export class IndexedDocs {
  constructor(
    private docs: Docs = ImmutableMap(),
    readonly indexes: readonly OrderedIndex[] = [],
  ) {}

  /** `docs` with `specs`' indexes built over them. */
  static of(docs: Iterable<MutableDocument>, specs: readonly IndexSpec[]): IndexedDocs {
    const indexed = new IndexedDocs(
      ImmutableMap(),
      specs.map((spec) => new OrderedIndex(spec)),
    );
    for (const doc of docs) indexed.put(doc._id, doc);
    return indexed;
  }

  get(id: string): MutableDocument | undefined {
    return this.docs.get(id);
  }

  values(): IterableIterator<MutableDocument> {
    return this.docs.values();
  }

  entries(): IterableIterator<[string, MutableDocument]> {
    return this.docs.entries();
  }

  get size(): number {
    return this.docs.size;
  }

  /** The documents of an index plan's range (see planFind), in its order. */
  *walk(plan: IndexPlan): Generator<MutableDocument> {
    for (const id of plan.index.range(plan.prefix, plan.bound)) yield this.docs.get(id) as MutableDocument;
  }

  /**
   * Sets (or with `doc` undefined, deletes) the document `id`, and its keys in every index; a key
   * a unique index holds for another document is refused before anything changes.
   */
  put(id: string, doc: MutableDocument | undefined): void {
    const before = this.docs.get(id);
    if (before === undefined && doc === undefined) return;
    for (const index of this.indexes)
      if (doc && index.spec.unique && index.collides(doc))
        throw new DocumentStoreError(`duplicate key in the unique index ${index.spec.name}`);
    this.docs = doc === undefined ? this.docs.delete(id) : this.docs.set(id, doc);
    for (const index of this.indexes) index.replace(before, doc);
  }

  /** A copy: the documents shared, each index cloned (O(1), copy-on-write). */
  copy(): IndexedDocs {
    return new IndexedDocs(
      this.docs,
      this.indexes.map((index) => index.clone()),
    );
  }
}

/** An index range that holds every document a find's filter matches, in the find's sort order. */
export interface IndexPlan {
  readonly index: OrderedIndex;
  /** The values of the index's first fields the filter pins by equality. */
  readonly prefix: readonly unknown[];
  /** Where the walk starts within the prefix, from the filter's bound on the next field (a cursor). */
  readonly bound?: { value: unknown; inclusive: boolean };
}

/** The value a filter's condition pins by equality (one an index keys by and mingo matches exactly). */
function pinned(condition: unknown): unknown {
  if (condition !== null && typeof condition === "object" && !Array.isArray(condition)) {
    const keys = Object.keys(condition);
    return keys.length === 1 && keys[0] === "$eq" ? pinned((condition as { $eq: unknown }).$eq) : undefined;
  }
  return condition !== null && isKeyValue(condition) ? condition : undefined;
}

/**
 * The range of the index whose fields the filter pins the most of by equality, the next being
 * the sort's only field in the index's direction: walked in order it yields the matches in the
 * sort's order (ties by `_id`, as the scan sorts them). With no sort, the index whose first fields
 * the filter pins the most of, or whose next field it bounds (a range: walked from its start).
 * Null when none fits, or when the fitting one misses documents (a key field holding an array or
 * an object: mingo matches those in ways an index range cannot).
 */
export function planFind(
  filter: Filter,
  sort: SortSpec | undefined,
  indexes: readonly OrderedIndex[],
): IndexPlan | null {
  const sortKeys = Object.keys(sort ?? {});
  if (sortKeys.length > 1) return null;
  let best: IndexPlan | null = null;
  const score = (plan: IndexPlan) => plan.prefix.length * 2 + (plan.bound ? 1 : 0);
  for (const index of indexes) {
    const prefix: unknown[] = [];
    for (const field of index.fields) {
      const value = field in filter ? pinned(filter[field]) : undefined;
      if (value === undefined) break;
      prefix.push(value);
    }
    const next = index.fields[prefix.length];
    if (sort && (next === undefined || next !== sortKeys[0] || index.spec.keys[next] !== sort[next]))
      continue;
    if (!index.complete) continue;
    const bound = next === undefined ? undefined : boundOf(filter[next], index.spec.keys[next] as 1 | -1);
    const plan: IndexPlan = { index, prefix, ...(bound ? { bound } : {}) };
    if (!sort && score(plan) === 0) continue;
    if (!best || score(plan) > score(best)) best = plan;
  }
  return best;
}

/**
 * Where a range condition on the field after the prefix lets a walk start: in a descending field
 * a `$lt`/`$lte` on a number or a string (a page's cursor), in an ascending one a `$gt`/`$gte`.
 * mingo compares only values of one type, so nothing before that point in the tree can match.
 */
function boundOf(condition: unknown, direction: 1 | -1): IndexPlan["bound"] {
  if (condition === null || typeof condition !== "object") return undefined;
  const c = condition as Record<string, unknown>;
  const [strict, loose] = direction === -1 ? ["$lt", "$lte"] : ["$gt", "$gte"];
  const keyed = (v: unknown) => (typeof v === "number" && Number.isFinite(v)) || typeof v === "string";
  if (keyed(c[strict as string])) return { value: c[strict as string], inclusive: false };
  if (keyed(c[loose as string])) return { value: c[loose as string], inclusive: true };
  return undefined;
}
