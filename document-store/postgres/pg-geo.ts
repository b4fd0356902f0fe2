import { boxesAround, distanceMeters } from "../../platform/geo.js";
import { nearestFirst } from "../embedded/sqlite-geo.js";
import { DocumentStoreError, type NearQuery } from "../port.js";
import { type CollectionState, geoExpression } from "./pg-schema.js";
import { quoteIdentifier } from "./pg-sql.js";

/** The first ring's width past the cursor (meters); each next one is wider. */
const FIRST_RING_METERS = 100;

/**
 * The ids and distances of the documents of the geo index on `query.field` nearest the point, as the
 * embedded store finds them (sqlite-geo.ts): the entries in the bounding boxes of a circle growing
 * from the cursor's distance, read through the GiST index on the points (`<@ box`), measured exactly
 * (haversine), until the circle holds `limit` entries past the cursor or reaches the radius.
 */
export async function nearIds(
  select: <Row>(sql: string, params: readonly unknown[]) => Promise<Row[]>,
  state: CollectionState,
  query: NearQuery,
): Promise<{ readonly id: string; readonly distanceMeters: number }[]> {
  if (!state.geoFields.has(query.field))
    throw new DocumentStoreError(`no geo index on ${query.field} of ${state.name}: findNear needs one`);
  const g = geoExpression(query.field);
  const sql =
    `SELECT id, (${g})[0] AS lng, (${g})[1] AS lat FROM ${quoteIdentifier(state.table)} ` +
    `WHERE ${g} <@ box(point($1, $2), point($3, $4))`;
  const center = { latitude: query.latitude, longitude: query.longitude };
  const from = query.after?.distanceMeters ?? 0;
  for (let width = FIRST_RING_METERS; ; ) {
    const reach = Math.min(query.maxDistanceMeters, from + width);
    const found: { id: string; distanceMeters: number }[] = [];
    for (const box of boxesAround(center, reach)) {
      const rows = await select<{ id: string; lng: number; lat: number }>(sql, [
        box.west,
        box.south,
        box.east,
        box.north,
      ]);
      for (const entry of rows) {
        const distance = distanceMeters(center, { latitude: entry.lat, longitude: entry.lng });
        if (distance > reach) continue;
        const after = query.after;
        if (
          after &&
          !(distance > after.distanceMeters || (distance === after.distanceMeters && entry.id > after.id))
        )
          continue;
        found.push({ id: entry.id, distanceMeters: distance });
      }
    }
    if (found.length >= query.limit || reach >= query.maxDistanceMeters)
      return found.sort(nearestFirst).slice(0, query.limit);
    width *= found.length === 0 ? 4 : Math.max(2, 1.25 * Math.sqrt(query.limit / found.length));
  }
}
