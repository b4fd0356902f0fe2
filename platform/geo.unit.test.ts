import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boxesAround, distanceMeters, EARTH_RADIUS_METERS } from "./geo.js";

describe("distances on the earth", () => {
  it("measures great circles on MongoDB's sphere", () => {
    const gangnam = { latitude: 37.4979, longitude: 127.0276 };
    const seoulStation = { latitude: 37.5547, longitude: 126.9707 };
    expect(distanceMeters(gangnam, gangnam)).toBe(0);
    // About 8 km across Seoul, the same both ways.
    expect(distanceMeters(gangnam, seoulStation)).toBeCloseTo(8_075, -1);
    expect(distanceMeters(seoulStation, gangnam)).toBe(distanceMeters(gangnam, seoulStation));
    // A degree of latitude, a quarter and half the circumference.
    expect(distanceMeters({ latitude: 0, longitude: 0 }, { latitude: 1, longitude: 0 })).toBeCloseTo(
      (Math.PI / 180) * EARTH_RADIUS_METERS,
      6,
    );
    expect(distanceMeters({ latitude: 0, longitude: 0 }, { latitude: 90, longitude: 0 })).toBeCloseTo(
      (Math.PI / 2) * EARTH_RADIUS_METERS,
      3,
    );
    expect(distanceMeters({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 180 })).toBeCloseTo(
      Math.PI * EARTH_RADIUS_METERS,
      3,
    );
    // Across the antimeridian: 0.2 degrees of longitude at the equator, not 359.8.
    expect(distanceMeters({ latitude: 0, longitude: 179.9 }, { latitude: 0, longitude: -179.9 })).toBeCloseTo(
      0.2 * (Math.PI / 180) * EARTH_RADIUS_METERS,
      3,
    );
  });

  it("the boxes around a circle hold every point of it (the prefilter never drops one within the radius)", () => {
    const point = fc.record({
      latitude: fc.double({ min: -89.9, max: 89.9, noNaN: true }),
      longitude: fc.double({ min: -180, max: 180, noNaN: true }),
    });
    fc.assert(
      fc.property(
        point,
        fc.integer({ min: 1, max: 2_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        (center, radius, fraction, bearing) => {
          // A point at `fraction` of the radius from the center, in direction `bearing` (spherical destination).
          const d = (fraction * radius) / EARTH_RADIUS_METERS;
          const lat1 = (center.latitude * Math.PI) / 180;
          const lng1 = (center.longitude * Math.PI) / 180;
          const lat2 = Math.asin(
            Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(bearing),
          );
          const lng2 =
            lng1 +
            Math.atan2(
              Math.sin(bearing) * Math.sin(d) * Math.cos(lat1),
              Math.cos(d) - Math.sin(lat1) * Math.sin(lat2),
            );
          const target = {
            latitude: (lat2 * 180) / Math.PI,
            longitude: (((((lng2 * 180) / Math.PI + 540) % 360) + 360) % 360) - 180,
          };
          const boxes = boxesAround(center, radius);
          const inside = boxes.some(
            (b) =>
              target.latitude >= b.south - 1e-9 &&
              target.latitude <= b.north + 1e-9 &&
              target.longitude >= b.west - 1e-9 &&
              target.longitude <= b.east + 1e-9,
          );
          expect(inside, JSON.stringify({ center, radius, target, boxes })).toBe(true);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
