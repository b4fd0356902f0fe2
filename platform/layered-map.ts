import { Map as ImmutableMap, Set as ImmutableSet } from "immutable";

/**
 * Persistent string-keyed maps and id indexes that load from a stored form without rebuilding:
 * a base of entries sorted by key, kept as stored and searched by binary search, under an
 * immutable.js map of the changes since. Built change by change, a map has no base and is that
 * immutable.js map alone. Loading N entries thus costs no insert per entry (a persistent insert
 * each, most of it garbage collection, is what this avoids: issue 48's cold lot). Both kinds
 * answer every question the same way; only the order of iteration differs (a base's entries,
 * sorted, then the changes'), so nothing that depends on iteration order may use it. Pure, no
 * I/O, no domain.
 */

/** Binary search of `key` among entries sorted by key; its index, or -1. */
function indexOf(entries: readonly (readonly [string, unknown])[], key: string): number {
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = (entries[mid] as readonly [string, unknown])[0];
    if (at === key) return mid;
    if (at < key) low = mid + 1;
    else high = mid - 1;
  }
  return -1;
}

const GONE: unique symbol = Symbol("gone");

/** A persistent map of string keys: sorted base entries and an immutable.js map of changes on top. */
export class LayeredMap<V> {
  private static readonly EMPTY = new LayeredMap<never>([], ImmutableMap(), 0);

  private constructor(
    private readonly base: readonly (readonly [string, V])[],
    private readonly changes: ImmutableMap<string, V | typeof GONE>,
    readonly size: number,
  ) {}

  static empty<V>(): LayeredMap<V> {
    return LayeredMap.EMPTY as LayeredMap<V>;
  }

  /** A map of these entries, one insert at a time (any order; a later duplicate key wins). */
  static of<V>(entries: Iterable<readonly [string, V]>): LayeredMap<V> {
    let map = LayeredMap.empty<V>();
    for (const [key, value] of entries) map = map.set(key, value);
    return map;
  }

  /**
   * A map over these entries as they are (kept, not copied): their keys must be strictly ascending
   * (strictly ascending), or lookups miss.
   */
  static fromSorted<V>(entries: readonly (readonly [string, V])[]): LayeredMap<V> {
    return entries.length === 0
      ? LayeredMap.empty()
      : new LayeredMap(entries, ImmutableMap(), entries.length);
  }

  get(key: string): V | undefined {
    const changed = this.changes.get(key);
    if (changed !== undefined) return changed === GONE ? undefined : changed;
    const at = indexOf(this.base, key);
    return at < 0 ? undefined : (this.base[at] as readonly [string, V])[1];
  }

  has(key: string): boolean {
    const changed = this.changes.get(key);
    if (changed !== undefined) return changed !== GONE;
    return indexOf(this.base, key) >= 0;
  }

  set(key: string, value: V): LayeredMap<V> {
    const added = !this.has(key);
    return new LayeredMap(this.base, this.changes.set(key, value), this.size + (added ? 1 : 0));
  }

  delete(key: string): LayeredMap<V> {
    if (!this.has(key)) return this;
    const changes = indexOf(this.base, key) >= 0 ? this.changes.set(key, GONE) : this.changes.delete(key);
    return new LayeredMap(this.base, changes, this.size - 1);
  }

  /** Every entry: the base's (sorted), then the changed ones the base does not hold. */
  *entries(): IterableIterator<[string, V]> {
    for (const [key, value] of this.base) {
      const changed = this.changes.get(key);
      if (changed === undefined) yield [key, value];
      else if (changed !== GONE) yield [key, changed];
    }
    for (const [key, changed] of this.changes)
      if (changed !== GONE && (this.base.length === 0 || indexOf(this.base, key) < 0)) yield [key, changed];
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}

/** Ids by key (keys distinct, in any order), each key's ids non-empty: an IdIndex's base. */
export type IdLists = readonly (readonly [string, readonly string[]])[];

/** What changed of a key's ids since the base: never both holding one id. */
interface Delta {
  readonly added: ImmutableSet<string>;
  readonly removed: ImmutableSet<string>;
}

const NO_IDS = ImmutableSet<string>();
const NO_DELTA: Delta = { added: NO_IDS, removed: NO_IDS };

/** Ids by key as a map (keys distinct, each key's ids non-empty): what a derived base may be made as. */
export type IdListsByKey = ReadonlyMap<string, readonly string[]>;

/** A base made when first needed (a hash map of the lists: no sort), once for every index sharing it. */
class LazyLists {
  private lists: IdListsByKey | undefined;
  constructor(private make: (() => IdLists | IdListsByKey) | undefined) {}
  get(): IdListsByKey {
    if (this.lists === undefined) {
      const made = (this.make as () => IdLists | IdListsByKey)();
      this.lists = made instanceof Map ? made : new Map(made as IdLists);
      this.make = undefined;
    }
    return this.lists;
  }
}

/**
 * A persistent index of ids by key (a customer's, a plate's reservations): a base of id lists by
 * key (possibly derived when first read, then hashed), and per key changed since, the ids added and
 * removed. `add` and `remove` never read the base, so a derived base is only made by a read.
 */
export class IdIndex {
  private static readonly EMPTY = new IdIndex(undefined, ImmutableMap());

  private constructor(
    private readonly base: LazyLists | undefined,
    private readonly changes: ImmutableMap<string, Delta>,
  ) {}

  static empty(): IdIndex {
    return IdIndex.EMPTY;
  }

  /** An index of these lists, one add at a time. */
  static of(lists: Iterable<readonly [string, Iterable<string>]>): IdIndex {
    let index = IdIndex.EMPTY;
    for (const [key, ids] of lists) for (const id of ids) index = index.add(key, id);
    return index;
  }

  /**
   * An index over these lists, or over those `lists` returns when the index is first read: keys
   * distinct (a cold lot's 20,000 customers are not sorted: issue 68), each key's ids non-empty.
   */
  static fromLists(lists: IdLists | (() => IdLists | IdListsByKey)): IdIndex {
    if (typeof lists !== "function" && lists.length === 0) return IdIndex.EMPTY;
    return new IdIndex(new LazyLists(typeof lists === "function" ? lists : () => lists), ImmutableMap());
  }

  /** The key's ids, or undefined when it has none. */
  get(key: string): ImmutableSet<string> | undefined {
    const delta = this.changes.get(key);
    if (this.base === undefined) return delta?.added;
    const listed = this.base.get().get(key);
    const base = listed === undefined ? NO_IDS : ImmutableSet(listed);
    const ids = delta ? base.union(delta.added).subtract(delta.removed) : base;
    return ids.size > 0 ? ids : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  add(key: string, id: string): IdIndex {
    const delta = this.changes.get(key) ?? NO_DELTA;
    const next = { added: delta.added.add(id), removed: delta.removed.delete(id) };
    return new IdIndex(this.base, this.changes.set(key, next));
  }

  remove(key: string, id: string): IdIndex {
    const delta = this.changes.get(key);
    if (this.base === undefined && !delta?.added.has(id)) return this;
    const added = (delta ?? NO_DELTA).added.delete(id);
    // Without a base, nothing is there to remove ids from.
    const removed = this.base === undefined ? NO_IDS : (delta ?? NO_DELTA).removed.add(id);
    return new IdIndex(
      this.base,
      added.size === 0 && removed.size === 0
        ? this.changes.delete(key)
        : this.changes.set(key, { added, removed }),
    );
  }

  /** How many keys have ids. */
  get size(): number {
    if (this.base === undefined) return this.changes.size;
    let size = this.base.get().size;
    for (const key of this.changes.keys()) size += (this.has(key) ? 1 : 0) - (this.inBase(key) ? 1 : 0);
    return size;
  }

  /** Every key with its ids: the base's keys (sorted), then the changed ones the base does not hold. */
  *entries(): IterableIterator<[string, ImmutableSet<string>]> {
    const lists = this.base?.get() ?? new Map<string, readonly string[]>();
    for (const key of lists.keys()) {
      const ids = this.get(key);
      if (ids) yield [key, ids];
    }
    for (const key of this.changes.keys()) {
      if (lists.has(key)) continue;
      const ids = this.get(key);
      if (ids) yield [key, ids];
    }
  }

  *values(): IterableIterator<ImmutableSet<string>> {
    for (const [, ids] of this.entries()) yield ids;
  }

  [Symbol.iterator](): IterableIterator<[string, ImmutableSet<string>]> {
    return this.entries();
  }

  private inBase(key: string): boolean {
    return this.base?.get().has(key) ?? false;
  }
}
