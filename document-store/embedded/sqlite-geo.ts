import { boxesAround, distanceMeters } from "../../platform/geo.js";
import { DocumentStoreError, type GeoIndexSpec, type Near, type NearQuery } from "../port.js";
import { quoteIdentifier } from "./sql-translation.js";
import type { Db } from "./sqlite-schema.js";

/**
 * The embedded store's geo index (MongoDB's 2dsphere, in SQLite's R*Tree, which better-sqlite3
 * builds in): per indexed field of a collection, an R*Tree of the documents' points, keyed by the
 * document row's rowid and kept by triggers on the collection's table, so every writer of the file
 * (a projector, a bulk load's thread) keeps it without knowing of it. Its boxes are 32-bit floats
 * rounded outwards (a prefilter); each entry also holds the exact coordinates and the document's
 * id, from which the distance is computed exactly (haversine, platform/geo.ts).
 *
 * The triggers key the entries by rowid: the store never VACUUMs its file (which may renumber
 * the rowids of a table without an INTEGER PRIMARY KEY).
 */

const geoTable = (collection: string, field: string): string =>
  `g_${Buffer.from(collection, "utf8").toString("hex")}_${Buffer.from(field, "utf8").toString("hex")}`;

/** The JSON path of a GeoJSON point's coordinate in `doc` (field paths are dotted identifiers). */
const coordinate = (field: string, index: 0 | 1, row: "NEW" | "OLD" | "c") =>
  `json_extract(${row}.doc, '$.${field}.coordinates[${index}]')`;

/** The point's longitude and latitude are numbers in range, and it says it is a Point. */
const validPoint = (field: string, row: "NEW" | "OLD" | "c") =>
  `json_extract(${row}.doc, '$.${field}.type') = 'Point' ` +
  `AND json_type(${row}.doc, '$.${field}.coordinates[0]') IN ('integer', 'real') ` +
  `AND json_type(${row}.doc, '$.${field}.coordinates[1]') IN ('integer', 'real') ` +
  `AND ${coordinate(field, 0, row)} BETWEEN -180 AND 180 AND ${coordinate(field, 1, row)} BETWEEN -90 AND 90`;

const entryValues = (field: string, row: "NEW" | "c") => {
  const lng = coordinate(field, 0, row);
  const lat = coordinate(field, 1, row);
  return `${row}.rowid, ${lng}, ${lng}, ${lat}, ${lat}, ${lng}, ${lat}, ${row}.id`;
};

/**
 * Creates the collection's geo index on `spec.geo` if missing: the R*Tree filled from the documents
 * already stored, and the triggers that keep it. Inside the caller's write transaction, the
 * collection's table existing.
 */
export function ensureGeoIndex(db: Db, collection: string, table: string, spec: GeoIndexSpec): void {
  const geo = geoTable(collection, spec.geo);
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(geo);
  if (exists !== undefined) return;
  const g = quoteIdentifier(geo);
  const t = quoteIdentifier(table);
  const f = spec.geo;
  db.exec(
    `CREATE VIRTUAL TABLE ${g} USING rtree(id, min_lng, max_lng, min_lat, max_lat, +lng, +lat, +doc_id)`,
  );
  db.exec(`INSERT INTO ${g} SELECT ${entryValues(f, "c")} FROM ${t} AS c WHERE ${validPoint(f, "c")}`);
  const trigger = (suffix: string) => quoteIdentifier(`${geo}_${suffix}`);
  db.exec(
    `CREATE TRIGGER ${trigger("insert")} AFTER INSERT ON ${t} WHEN ${validPoint(f, "NEW")} BEGIN ` +
      `INSERT INTO ${g} VALUES (${entryValues(f, "NEW")}); END`,
  );
  // Only when the point changed: a lot's counters are rewritten far more often than its place.
  db.exec(
    `CREATE TRIGGER ${trigger("update")} AFTER UPDATE OF doc ON ${t} ` +
      `WHEN json_extract(OLD.doc, '$.${f}') IS NOT json_extract(NEW.doc, '$.${f}') BEGIN ` +
      `DELETE FROM ${g} WHERE id = OLD.rowid; ` +
      `INSERT INTO ${g} SELECT ${entryValues(f, "NEW")} WHERE ${validPoint(f, "NEW")}; END`,
  );
  db.exec(
    `CREATE TRIGGER ${trigger("delete")} AFTER DELETE ON ${t} BEGIN DELETE FROM ${g} WHERE id = OLD.rowid; END`,
  );
}

/** Drops the geo indexes of a dropped collection (its triggers went with its table). */
export function dropGeoIndexes(db: Db, collection: string): void {
  const prefix = `g_${Buffer.from(collection, "utf8").toString("hex")}_`;
  const tables = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, length(?)) = ? AND sql LIKE 'CREATE VIRTUAL TABLE%'",
    )
    .pluck()
    .all(prefix, prefix) as string[];
  for (const name of tables) db.exec(`DROP TABLE IF EXISTS ${quoteIdentifier(name)}`);
}

interface Entry {
  readonly lng: number;
  readonly lat: number;
  readonly id: string;
}

/** The first ring's width past the cursor (meters); each next one is wider (see nearIds). */
const FIRST_RING_METERS = 100;

/**
 * The ids and distances of the documents of the geo index on `query.field` nearest the point:
 * the entries in the bounding boxes (an R*Tree range) of a circle that grows from the cursor's
 * distance (its width past it at least doubled, or widened as far as the entries found so far say
 * `limit` need) until it holds `limit` entries past the cursor or reaches the radius, measured exactly, those beyond the circle or before `after` left out, sorted, at most
 * `limit`. Every entry not read lies beyond the last circle, so the nearest `limit` read are the
 * nearest of all; a page reads the entries about its own circle, not every one within the radius.
 * The caller reads the page's documents.
 */
export function nearIds(
  db: Db,
  collection: string,
  query: NearQuery,
): { readonly id: string; readonly distanceMeters: number }[] {
  const geo = geoTable(collection, query.field);
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(geo);
  if (exists === undefined)
    throw new DocumentStoreError(`no geo index on ${query.field} of ${collection}: findNear needs one`);
  const select = db.prepare<[number, number, number, number]>(
    `SELECT lng, lat, doc_id AS id FROM ${quoteIdentifier(geo)} ` +
      "WHERE max_lng >= ? AND min_lng <= ? AND max_lat >= ? AND min_lat <= ?",
  );
  const center = { latitude: query.latitude, longitude: query.longitude };
  const from = query.after?.distanceMeters ?? 0;
  for (let width = FIRST_RING_METERS; ; ) {
    const reach = Math.min(query.maxDistanceMeters, from + width);
    const found: { id: string; distanceMeters: number }[] = [];
    for (const box of boxesAround(center, reach)) {
      for (const entry of select.iterate(box.west, box.east, box.south, box.north) as Iterable<Entry>) {
        const distance = distanceMeters(center, { latitude: entry.lat, longitude: entry.lng });
        if (distance > reach) continue;
        if (query.after && !isAfter(distance, entry.id, query.after)) continue;
        found.push({ id: entry.id, distanceMeters: distance });
      }
    }
    // Two boxes never overlap (they split at the antimeridian), so no entry is found twice.
    if (found.length >= query.limit || reach >= query.maxDistanceMeters)
      return found.sort(nearestFirst).slice(0, query.limit);
    // Entries spread over an area: a ring holding `found` holds `limit` about sqrt(limit / found) wider.
    width *= found.length === 0 ? 4 : Math.max(2, 1.25 * Math.sqrt(query.limit / found.length));
  }
}

const isAfter = (distance: number, id: string, after: NonNullable<NearQuery["after"]>): boolean =>
  distance > after.distanceMeters || (distance === after.distanceMeters && id > after.id);

export const nearestFirst = (a: { id: string; distanceMeters: number }, b: typeof a): number =>
  a.distanceMeters - b.distanceMeters || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The documents of `ids` in their order, each with its distance (a document deleted since is skipped). */
export function inOrder<T>(
  ids: readonly { readonly id: string; readonly distanceMeters: number }[],
  docs: ReadonlyMap<string, T>,
): Near<T & { _id: string }>[] {
  return ids.flatMap(({ id, distanceMeters }) => {
    const document = docs.get(id);
    return document === undefined ? [] : [{ document: document as T & { _id: string }, distanceMeters }];
  });
}
