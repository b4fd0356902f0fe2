import fc from "fast-check";
import { Map as ImmutableMap, Set as ImmutableSet } from "immutable";
import { describe, expect, it } from "vitest";
import { IdIndex, type IdLists, LayeredMap } from "./layered-map.js";

/** Strictly ascending keys (code-unit order, as `<` compares strings), or why not. */
function sortedKeysProblem(entries: readonly (readonly [string, unknown])[]): string | undefined {
  for (let i = 1; i < entries.length; i++)
    if (!((entries[i - 1] as readonly [string, unknown])[0] < (entries[i] as readonly [string, unknown])[0]))
      return `keys not strictly ascending at ${i}`;
  return undefined;
}

/** Whether these lists can be an IdIndex's base (keys strictly ascending, no key without ids), or why not. */
function idListsProblem(lists: IdLists): string | undefined {
  const keys = sortedKeysProblem(lists);
  if (keys) return keys;
  for (const [key, ids] of lists) if (ids.length === 0) return `no ids for ${key}`;
  return undefined;
}

/*
 * The indexes a period's opening loads without rebuilding (layered-map.ts) answer as the ones built one
 * insert at a time: random sorted entries are loaded as a base (`fromSorted`, and for IdIndex also
 * derived when first read), the same entries inserted one by one (`of`), and a plain immutable.js
 * model (what the state held before: a Map, or a Map of Sets with remember/forget) each take the
 * same random changes; after each, every key's answer, the size and the entries are the same.
 */

const KEYS = ["a", "b", "c", "d", "e", "f", "g", "h"] as const;
const IDS = ["1", "2", "3", "4", "5"] as const;
const key = fc.constantFrom(...KEYS);
const id = fc.constantFrom(...IDS);
const byKey = <T>(a: readonly [string, T], b: readonly [string, T]) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

describe("LayeredMap: loaded from sorted entries, it answers as the map built one insert at a time", () => {
  const base = fc
    .uniqueArray(fc.tuple(key, fc.integer()), { selector: ([k]) => k })
    .map((entries) => [...entries].sort(byKey));
  const change = fc.oneof(
    fc.record({ op: fc.constant("set" as const), key, value: fc.integer() }),
    fc.record({ op: fc.constant("delete" as const), key }),
  );

  it("get, has, size and entries, after every change", () => {
    fc.assert(
      fc.property(base, fc.array(change, { maxLength: 30 }), (entries, changes) => {
        expect(sortedKeysProblem(entries)).toBeUndefined();
        let loaded = LayeredMap.fromSorted(entries);
        let inserted = LayeredMap.of(entries);
        let model = ImmutableMap<string, number>(entries);
        const same = () => {
          for (const map of [loaded, inserted]) {
            for (const k of KEYS) {
              expect(map.get(k)).toBe(model.get(k));
              expect(map.has(k)).toBe(model.has(k));
            }
            expect(map.size).toBe(model.size);
            expect([...map.entries()].sort(byKey)).toEqual([...model.entries()].sort(byKey));
            expect([...map.keys()].sort()).toEqual([...model.keys()].sort());
          }
        };
        same();
        for (const c of changes) {
          if (c.op === "set") {
            loaded = loaded.set(c.key, c.value);
            inserted = inserted.set(c.key, c.value);
            model = model.set(c.key, c.value);
          } else {
            loaded = loaded.delete(c.key);
            inserted = inserted.delete(c.key);
            model = model.delete(c.key);
          }
          same();
        }
      }),
      { numRuns: 300 },
    );
  });

  it("an earlier version stays as it was (persistent)", () => {
    const before = LayeredMap.fromSorted([
      ["a", 1],
      ["b", 2],
    ]);
    const after = before.delete("a").set("c", 3).set("b", 4);
    expect([...before.entries()]).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    expect([...after.entries()].sort(byKey)).toEqual([
      ["b", 4],
      ["c", 3],
    ]);
  });
});

describe("IdIndex: loaded from sorted id lists, it answers as the index built one add at a time", () => {
  const lists = fc
    .uniqueArray(fc.tuple(key, fc.uniqueArray(id, { minLength: 1 })), { selector: ([k]) => k })
    .map((entries): IdLists => [...entries].sort(byKey));
  const change = fc.record({ op: fc.constantFrom("add" as const, "remove" as const), key, id });

  /** The state's index before layered-map.ts: a Map of Sets, a key without ids left out. */
  type Model = ImmutableMap<string, ImmutableSet<string>>;
  const remember = (m: Model, k: string, i: string): Model => m.set(k, (m.get(k) ?? ImmutableSet()).add(i));
  const forget = (m: Model, k: string, i: string): Model => {
    const ids = m.get(k)?.delete(i);
    return ids?.size ? m.set(k, ids) : m.delete(k);
  };
  const sortedIds = (ids: Iterable<string> | undefined) => (ids ? [...ids].sort() : undefined);

  it("get, has, size and entries, after every change; a derived base is made only by a read", () => {
    fc.assert(
      fc.property(lists, fc.array(change, { maxLength: 30 }), fc.boolean(), (base, changes, readEarly) => {
        expect(idListsProblem(base)).toBeUndefined();
        let derivedAt = 0;
        let derived = IdIndex.fromLists(() => {
          derivedAt++;
          return base;
        });
        let loaded = IdIndex.fromLists(base);
        let added = IdIndex.of(base);
        let model: Model = ImmutableMap(base.map(([k, ids]) => [k, ImmutableSet(ids)] as const));
        const same = () => {
          for (const index of [loaded, added, derived]) {
            for (const k of KEYS) {
              expect(sortedIds(index.get(k)), k).toEqual(sortedIds(model.get(k)));
              expect(index.has(k)).toBe(model.has(k));
            }
            expect(index.size).toBe(model.size);
            const entries = (i: Iterable<[string, Iterable<string>]>) =>
              [...i].map(([k, ids]): [string, string[] | undefined] => [k, sortedIds(ids)]).sort(byKey);
            expect(entries(index.entries())).toEqual(entries(model.entries()));
            expect([...index.values()].length).toBe(model.size);
          }
        };
        if (readEarly) same();
        for (const c of changes) {
          loaded = c.op === "add" ? loaded.add(c.key, c.id) : loaded.remove(c.key, c.id);
          added = c.op === "add" ? added.add(c.key, c.id) : added.remove(c.key, c.id);
          derived = c.op === "add" ? derived.add(c.key, c.id) : derived.remove(c.key, c.id);
          model = c.op === "add" ? remember(model, c.key, c.id) : forget(model, c.key, c.id);
        }
        // Changes never read a derived base: it is made at the first read, once for every version.
        expect(derivedAt).toBe(readEarly ? 1 : 0);
        same();
        expect(derivedAt).toBe(1);
      }),
      { numRuns: 300 },
    );
  });
});
