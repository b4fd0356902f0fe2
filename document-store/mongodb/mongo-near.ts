/**
 * A page of `findNear` over MongoDB's `$geoNear` (MongoDB manual, "$geoNear (aggregation)": the
 * pipeline's first stage, `key` naming the 2dsphere index's field, GeoJSON distances in meters,
 * nearest first; `minDistance` "at least" and `maxDistance` "at most" that far, both inclusive).
 * The manual gives documents at one distance no order, while the port pages by (distance, `_id`):
 * so a read that stops inside a run of equal distances reads that run apart, in `_id` order.
 * Kept apart from the adapter to be tested without a server, over a model of `$geoNear`.
 */
import type { Document, Near, NearQuery } from "../port.js";
import type { StoredDocument } from "./mongo-support.js";

/** The field $geoNear writes each document's distance to (removed before the document is answered). */
export const DISTANCE = "__distanceMeters";

/** Documents read past what a page still needs, so that a short run of ties costs no second read. */
export const NEAR_TIES = 64;

export type NearRow = StoredDocument & { [DISTANCE]: number };

/** Runs one aggregation pipeline on the collection. */
export type Aggregate = (pipeline: readonly Record<string, unknown>[]) => Promise<NearRow[]>;

/** Where the next read starts: past `distanceMeters`, or at it with an `_id` past `id`. */
interface From {
  readonly distanceMeters: number;
  readonly id?: string;
}

const order = (a: NearRow, b: NearRow): number =>
  a[DISTANCE] - b[DISTANCE] || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);

const beyond =
  (from: From | undefined) =>
  (row: NearRow): boolean =>
    from === undefined ||
    row[DISTANCE] > from.distanceMeters ||
    (from.id !== undefined && row[DISTANCE] === from.distanceMeters && row._id > from.id);

export async function nearPage<T extends Document>(
  aggregate: Aggregate,
  query: NearQuery,
): Promise<Near<T>[]> {
  const { field, latitude, longitude, maxDistanceMeters, after, limit } = query;
  const geoNear = (min: number | undefined, max: number, idAfter?: string) => ({
    $geoNear: {
      near: { type: "Point", coordinates: [longitude, latitude] },
      key: field,
      distanceField: DISTANCE,
      maxDistance: max,
      ...(min !== undefined ? { minDistance: min } : {}),
      ...(idAfter !== undefined ? { query: { _id: { $gt: idAfter } } } : {}),
      spherical: true,
    },
  });
  const page: NearRow[] = [];
  let from: From | undefined = after;
  // Each turn either fills the page, reaches the radius, or moves `from` strictly outwards.
  while (page.length < limit) {
    const want = limit - page.length;
    const strict = from !== undefined && from.id === undefined;
    const rows = await aggregate([
      geoNear(from?.distanceMeters, maxDistanceMeters),
      ...(strict ? [{ $match: { [DISTANCE]: { $gt: from?.distanceMeters } } }] : []),
      { $limit: want + NEAR_TIES },
    ]);
    const next = rows.filter(beyond(from)).sort(order);
    if (rows.length < want + NEAR_TIES) {
      page.push(...next.slice(0, want));
      break;
    }
    // The read stopped at `last`: every document nearer was read, but not every one at `last`.
    const last = Math.max(...rows.map((row) => row[DISTANCE]));
    const nearer = next.filter((row) => row[DISTANCE] < last);
    page.push(...nearer.slice(0, want));
    if (nearer.length >= want) break;
    const tiesWanted = want - nearer.length;
    const ties = await aggregate([
      geoNear(last, last, from?.id !== undefined && from.distanceMeters === last ? from.id : undefined),
      { $match: { [DISTANCE]: last } },
      { $sort: { _id: 1 } },
      { $limit: tiesWanted },
    ]);
    page.push(...ties);
    if (ties.length < tiesWanted) from = { distanceMeters: last };
    else break;
  }
  return page.map(({ [DISTANCE]: distanceMeters, ...document }) => ({
    document: document as unknown as T,
    distanceMeters,
  }));
}
