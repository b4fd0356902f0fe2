import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { distanceMeters, type GeoPoint } from "../../platform/geo.js";
import type { NearQuery } from "../port.js";
import { type Aggregate, DISTANCE, NEAR_TIES, type NearRow, nearPage } from "./mongo-near.js";

/**
 * A model of the pipeline stages nearPage sends, held to the MongoDB manual: `$geoNear` answers
 * the documents within [minDistance, maxDistance] (both inclusive: "at least", "at most") that
 * match its `query`, nearest first, and documents at one distance in NO particular order (here a
 * hash of each id and the run's seed, so every run orders ties differently); `$match` on the
 * distance field, `$sort` by `_id`, `$limit`. Any other stage fails the test.
 */
function modelOfGeoNear(points: ReadonlyMap<string, GeoPoint>, seed: number, calls: string[]): Aggregate {
  const keys = new Map(
    [...points.keys()].map((id) => [id, createHash("sha1").update(`${seed}:${id}`).digest("hex")]),
  );
  const shuffle = (id: string) => keys.get(id) ?? "";
  return async (pipeline) => {
    let rows: NearRow[] = [];
    for (const stage of pipeline) {
      const [name, arg] = Object.entries(stage)[0] as [string, Record<string, unknown>];
      calls.push(name);
      if (name === "$geoNear") {
        const [lng, lat] = (arg.near as { coordinates: [number, number] }).coordinates;
        const min = (arg.minDistance as number | undefined) ?? 0;
        const max = arg.maxDistance as number;
        const idAfter = (arg.query as { _id?: { $gt: string } } | undefined)?._id?.$gt;
        rows = [...points]
          .map(([_id, p]) => ({ _id, [DISTANCE]: distanceMeters({ latitude: lat, longitude: lng }, p) }))
          .filter(
            (r) => r[DISTANCE] >= min && r[DISTANCE] <= max && (idAfter === undefined || r._id > idAfter),
          )
          .sort((a, b) => a[DISTANCE] - b[DISTANCE] || (shuffle(a._id) < shuffle(b._id) ? -1 : 1));
      } else if (name === "$limit") rows = rows.slice(0, arg as unknown as number);
      else if (name === "$match") {
        const m = arg[DISTANCE] as number | { $gt: number };
        rows = rows.filter((r) => (typeof m === "number" ? r[DISTANCE] === m : r[DISTANCE] > m.$gt));
      } else if (name === "$sort") rows = [...rows].sort((a, b) => (a._id < b._id ? -1 : 1));
      else throw new Error(`the model has no ${name}`);
    }
    return rows;
  };
}

const CENTER = { latitude: 37.4979, longitude: 127.0276 };
const SPOTS: GeoPoint[] = [0, 150, 400, 401, 900, 2_500].map((m) => ({
  latitude: CENTER.latitude + m / 111_319.5,
  longitude: CENTER.longitude,
}));

describe("findNear on MongoDB: pages over a $geoNear that orders ties by nothing", () => {
  it("every document within the radius once, by (distance, id), whatever the page size and the ties", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Up to 3 × NEAR_TIES documents on one spot: a garage of many lots at one address.
        fc.array(fc.tuple(fc.nat(SPOTS.length - 1), fc.integer({ min: 0, max: 3 * NEAR_TIES })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer(),
        async (spots, limit, seed) => {
          const points = new Map<string, GeoPoint>();
          for (const [spot, n] of spots)
            for (let k = 0; k < n; k++) points.set(`lot-${spot}-${String(k).padStart(3, "0")}`, SPOTS[spot]!);
          const query: NearQuery = { field: "point", ...CENTER, maxDistanceMeters: 2_000, limit };
          const want = [...points]
            .map(([id, p]) => ({ id, d: distanceMeters(CENTER, p) }))
            .filter((r) => r.d <= 2_000)
            .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1))
            .map((r) => r.id);
          const seen: string[] = [];
          let after: NearQuery["after"];
          for (let pages = 0; pages <= want.length; pages++) {
            const calls: string[] = [];
            const page = await nearPage(modelOfGeoNear(points, seed, calls), {
              ...query,
              ...(after ? { after } : {}),
            });
            // A page reads at most two pipelines per run of ties it crosses.
            expect(calls.filter((c) => c === "$geoNear").length).toBeLessThanOrEqual(2 * (SPOTS.length + 1));
            expect(page.length).toBeLessThanOrEqual(limit);
            if (page.length === 0) break;
            seen.push(...page.map((n) => n.document._id));
            const last = page.at(-1)!;
            after = { distanceMeters: last.distanceMeters, id: last.document._id };
            expect(Object.keys(last.document)).not.toContain(DISTANCE);
          }
          expect(seen).toEqual(want);
        },
      ),
      { numRuns: Number(process.env.GEO_RUNS ?? 60) },
    );
  });

  it("a page that ends inside a long run of ties reads the run apart, in id order (the old read lost ids)", async () => {
    const points = new Map<string, GeoPoint>();
    for (let k = 0; k < 3 * NEAR_TIES; k++) points.set(`g${String(k).padStart(3, "0")}`, SPOTS[1]!);
    const page = await nearPage(modelOfGeoNear(points, 7, []), {
      field: "point",
      ...CENTER,
      maxDistanceMeters: 2_000,
      limit: 20,
    });
    expect(page.map((n) => n.document._id)).toEqual([...points.keys()].slice(0, 20));
  });
});
