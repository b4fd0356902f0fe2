import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DocumentStoreError, type GeoIndexSpec, type WriteOp } from "../../document-store/port.js";
import { distanceMeters } from "../../platform/geo.js";
import type { ContractContext } from "./fixtures.js";

/** The geo index (MongoDB's 2dsphere) and findNear: nearest first, within the radius, paged. */

const GEO: readonly GeoIndexSpec[] = [{ name: "by_point", geo: "point" }];
const point = (latitude: number, longitude: number) => ({
  type: "Point",
  coordinates: [longitude, latitude],
});
const GANGNAM = { latitude: 37.4979, longitude: 127.0276 };

/** Points `k` × 100 m north of Gangnam station (a degree of latitude is about 111.3 km on this sphere). */
const north = (meters: number) => ({
  latitude: GANGNAM.latitude + meters / 111_319.5,
  longitude: GANGNAM.longitude,
});

export function geoContract(t: ContractContext): void {
  const { store, collection } = t;
  const place = (c: string, id: string, at: { latitude: number; longitude: number } | null): WriteOp => ({
    op: "replace",
    collection: c,
    id,
    document: { name: id, ...(at ? { point: point(at.latitude, at.longitude) } : {}) },
  });

  describe("geo index and findNear", () => {
    it("answers the documents within the radius nearest first, with their distance, and none beyond", async () => {
      const c = collection("geo");
      await store().ensureIndexes(c, GEO);
      await store().ensureIndexes(c, GEO);
      await store().write([
        place(c, "far", north(9_000)),
        place(c, "near", north(100)),
        place(c, "mid", north(2_000)),
        place(c, "nowhere", null),
        place(c, "seoul-station", { latitude: 37.5547, longitude: 126.9707 }),
      ]);
      const found = await store().findNear(c, {
        field: "point",
        ...GANGNAM,
        maxDistanceMeters: 5_000,
        limit: 10,
      });
      expect(found.map((n) => n.document._id)).toEqual(["near", "mid"]);
      expect(found[0]?.document).toMatchObject({
        name: "near",
        point: point(north(100).latitude, GANGNAM.longitude),
      });
      expect(found[0]?.distanceMeters).toBeCloseTo(100, 0);
      expect(found[1]?.distanceMeters).toBeCloseTo(2_000, 0);
      // Seoul station is about 8 km away.
      const wider = await store().findNear(c, {
        field: "point",
        ...GANGNAM,
        maxDistanceMeters: 8_500,
        limit: 10,
      });
      expect(wider.map((n) => n.document._id)).toEqual(["near", "mid", "seoul-station"]);
    });

    it("follows writes (a moved, an added and a deleted document) and indexes what was stored before it", async () => {
      const c = collection("geo_writes");
      await store().write([place(c, "a", north(300)), place(c, "b", north(600))]);
      await store().ensureIndexes(c, GEO);
      await store().write([
        {
          op: "update",
          collection: c,
          id: "a",
          update: { $set: { point: point(north(5_000).latitude, GANGNAM.longitude) } },
        },
        { op: "update", collection: c, id: "b", update: { $set: { visits: 1 } } },
        place(c, "c", north(50)),
        { op: "delete", collection: c, id: "c" },
        place(c, "d", north(400)),
      ]);
      const found = await store().findNear(c, {
        field: "point",
        ...GANGNAM,
        maxDistanceMeters: 1_000,
        limit: 10,
      });
      expect(found.map((n) => [n.document._id, Math.round(n.distanceMeters)])).toEqual([
        ["d", 400],
        ["b", 600],
      ]);
      expect(found[1]?.document).toMatchObject({ visits: 1 });
    });

    it("pages by the last distance and id: ties at one point are ordered by id, none twice, none lost", async () => {
      const c = collection("geo_pages");
      await store().ensureIndexes(c, GEO);
      const ids = ["p5", "p1", "p3", "p2", "p4"];
      await store().write([
        ...ids.map((id) => place(c, id, north(700))),
        place(c, "p0", north(10)),
        place(c, "p9", north(900)),
      ]);
      const seen: string[] = [];
      let after: { distanceMeters: number; id: string } | undefined;
      for (let page = 0; page < 10; page++) {
        const found = await store().findNear(c, {
          field: "point",
          ...GANGNAM,
          maxDistanceMeters: 1_000,
          limit: 2,
          ...(after ? { after } : {}),
        });
        if (found.length === 0) break;
        seen.push(...found.map((n) => n.document._id));
        const last = found.at(-1)!;
        after = { distanceMeters: last.distanceMeters, id: last.document._id };
      }
      expect(seen).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p9"]);
    });

    it("pages through more ties at one point than a read's slack (a garage of 150 lots at one address)", async () => {
      const c = collection("geo_garage");
      await store().ensureIndexes(c, GEO);
      const ids = Array.from({ length: 150 }, (_, k) => `g${String((k * 37) % 150).padStart(3, "0")}`);
      await store().write([...ids.map((id) => place(c, id, north(300))), place(c, "z-near", north(20))]);
      const seen: string[] = [];
      let after: { distanceMeters: number; id: string } | undefined;
      for (let page = 0; page < 20; page++) {
        const found = await store().findNear(c, {
          field: "point",
          ...GANGNAM,
          maxDistanceMeters: 1_000,
          limit: 20,
          ...(after ? { after } : {}),
        });
        if (found.length === 0) break;
        seen.push(...found.map((n) => n.document._id));
        const last = found.at(-1)!;
        after = { distanceMeters: last.distanceMeters, id: last.document._id };
      }
      expect(seen).toEqual(["z-near", ...[...ids].sort()]);
    });

    it("measures as the haversine on MongoDB's sphere, across the antimeridian too", async () => {
      const c = collection("geo_property");
      await store().ensureIndexes(c, GEO);
      const points = [
        { id: "fiji", latitude: -17.7134, longitude: 178.065 },
        { id: "samoa", latitude: -13.759, longitude: -172.1046 },
        { id: "tonga", latitude: -21.179, longitude: -175.1982 },
      ];
      await store().write(points.map((p) => place(c, p.id, p)));
      const center = { latitude: -18, longitude: 179.9 };
      const found = await store().findNear(c, {
        field: "point",
        ...center,
        maxDistanceMeters: 1_000_000,
        limit: 10,
      });
      const expected = points
        .map((p) => ({ id: p.id, d: distanceMeters(center, p) }))
        .filter((p) => p.d <= 1_000_000)
        .sort((a, b) => a.d - b.d);
      expect(found.map((n) => n.document._id)).toEqual(expected.map((p) => p.id));
      for (const [k, n] of found.entries())
        expect(Math.abs(n.distanceMeters - expected[k]!.d)).toBeLessThan(1);
      await fc.assert(
        fc.asyncProperty(
          fc.double({ min: -80, max: 80, noNaN: true }),
          fc.double({ min: -180, max: 180, noNaN: true }),
          fc.integer({ min: 1_000, max: 3_000_000 }),
          async (latitude, longitude, radius) => {
            const near = await store().findNear(c, {
              field: "point",
              latitude,
              longitude,
              maxDistanceMeters: radius,
              limit: 10,
            });
            const want = points
              .filter((p) => distanceMeters({ latitude, longitude }, p) <= radius - 1)
              .map((p) => p.id);
            const got = near.map((n) => n.document._id);
            for (const id of want) expect(got).toContain(id);
            for (const n of near) expect(n.distanceMeters).toBeLessThanOrEqual(radius + 1);
          },
        ),
        { numRuns: 40 },
      );
    });

    it("refuses a collection without a geo index and a point out of range", async () => {
      const c = collection("geo_none");
      await store().write([place(c, "a", north(10))]);
      await expect(
        store().findNear(c, { field: "point", ...GANGNAM, maxDistanceMeters: 100, limit: 1 }),
      ).rejects.toThrow(DocumentStoreError);
      await store().ensureIndexes(c, GEO);
      await expect(
        store().findNear(c, { field: "point", latitude: 91, longitude: 0, maxDistanceMeters: 100, limit: 1 }),
      ).rejects.toThrow(DocumentStoreError);
      await expect(
        store().findNear(c, { field: "point", ...GANGNAM, maxDistanceMeters: Number.NaN, limit: 1 }),
      ).rejects.toThrow(DocumentStoreError);
    });
  });
}
