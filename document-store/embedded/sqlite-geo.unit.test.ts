import { describe, expect, it } from "vitest";
import { distanceMeters } from "../../platform/geo.js";
import { Database } from "../../platform/sqlite.js";
import type { NearQuery } from "../port.js";
import { ensureGeoIndex, nearIds } from "./sqlite-geo.js";
import type { Db } from "./sqlite-schema.js";

/*
 * "The search costs what its page costs" (SPEC, Places): the entries of the geo index one page of
 * `nearIds` reads (each one read, measured and sorted) must not grow with the documents in the
 * circle. Counted at the R*Tree's own rows, so the count cannot silently read zero.
 */

const GANGNAM = { latitude: 37.4979, longitude: 127.0276 };

/** A store's table of `n` lots on a grid about 100 m apart within ~5 km of Gangnam station. */
function lotsTable(n: number): Db {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE c_lots (id TEXT PRIMARY KEY, doc TEXT NOT NULL)");
  ensureGeoIndex(db, "lots", "c_lots", { name: "by_place", geo: "location" });
  const insert = db.prepare("INSERT INTO c_lots (id, doc) VALUES (?, ?)");
  for (let k = 0; k < n; k++) {
    const latitude = GANGNAM.latitude + ((k % 70) - 35) / 1000;
    const longitude = GANGNAM.longitude + (Math.floor(k / 70) - 35) / 1000;
    const id = `lot-${String(k).padStart(5, "0")}`;
    insert.run(
      id,
      JSON.stringify({ _id: id, location: { type: "Point", coordinates: [longitude, latitude] } }),
    );
  }
  return db;
}

/** The db with every row its statements yield counted in `read.rows`. */
function counting(db: Db): { db: Db; read: { rows: number } } {
  const read = { rows: 0 };
  const prepare = (sql: string) => {
    const statement = db.prepare(sql);
    return new Proxy(statement, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === "iterate")
          return function* (...args: unknown[]) {
            for (const row of (value as (...a: unknown[]) => Iterable<unknown>).apply(target, args)) {
              read.rows++;
              yield row;
            }
          };
        if (property === "get")
          return (...args: unknown[]) => {
            const row = (value as (...a: unknown[]) => unknown).apply(target, args);
            if (row !== undefined) read.rows++;
            return row;
          };
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
  return { db: new Proxy(db, { get: (t, p) => (p === "prepare" ? prepare : Reflect.get(t, p, t)) }), read };
}

const query = (limit: number, after?: NearQuery["after"]): NearQuery => ({
  field: "location",
  ...GANGNAM,
  maxDistanceMeters: 50_000,
  limit,
  ...(after ? { after } : {}),
});

/** Every lot of the table, nearest first (ties by id): the oracle. */
function allNearestFirst(db: Db): { id: string; distanceMeters: number }[] {
  const rows = db.prepare("SELECT id, doc FROM c_lots").all() as { id: string; doc: string }[];
  return rows
    .map(({ id, doc }) => {
      const [longitude, latitude] = (JSON.parse(doc) as { location: { coordinates: [number, number] } })
        .location.coordinates;
      return { id, distanceMeters: distanceMeters(GANGNAM, { latitude, longitude }) };
    })
    .sort((a, b) => a.distanceMeters - b.distanceMeters || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

describe("nearIds: the work of a page of the embedded geo index", () => {
  it("reads about as many entries for a first page of 1 among 4,900 lots as among 100", () => {
    const read = (n: number) => {
      const table = lotsTable(n);
      const { db, read } = counting(table);
      const page = nearIds(db, "lots", query(1));
      expect(page).toEqual(allNearestFirst(table).slice(0, 1));
      table.close();
      return read.rows;
    };
    const small = read(100);
    const large = read(4_900);
    expect(small).toBeGreaterThan(0); // the count counts
    expect(large, `${small} entries read among 100 lots, ${large} among 4,900`).toBeLessThanOrEqual(
      Math.max(small, 50) * 2,
    );
  });

  it("pages through every lot in order, each page reading about its own ring", () => {
    const table = lotsTable(4_900);
    const oracle = allNearestFirst(table);
    const { db, read } = counting(table);
    const seen: { id: string; distanceMeters: number }[] = [];
    let after: NearQuery["after"];
    for (let page = 0; page < 3; page++) {
      read.rows = 0;
      const ids = nearIds(db, "lots", query(20, after));
      expect(read.rows, `page ${page}: ${read.rows} entries read`).toBeLessThan(4_900 / 4);
      seen.push(...ids);
      const last = ids.at(-1);
      if (!last) break;
      after = { distanceMeters: last.distanceMeters, id: last.id };
    }
    expect(seen).toEqual(oracle.slice(0, seen.length));
    expect(seen).toHaveLength(60);
    table.close();
  });
});
