/**
 * Distances on the earth, as MongoDB's 2dsphere index measures them: a sphere of radius 6378.1 km
 * ("Calculate Distance Using Spherical Geometry", MongoDB manual: the radius it converts radians
 * with), so that the embedded store and MongoDB order and bound the same points alike.
 */

export interface GeoPoint {
  readonly latitude: number;
  readonly longitude: number;
}

export const EARTH_RADIUS_METERS = 6_378_100;

const RAD = Math.PI / 180;

/** Great-circle meters between two points (haversine, exact to float rounding at every distance). */
export function distanceMeters(a: GeoPoint, b: GeoPoint): number {
  const dLat = (b.latitude - a.latitude) * RAD;
  const dLng = (b.longitude - a.longitude) * RAD;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * RAD) * Math.cos(b.latitude * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A latitude/longitude box: [west, east] × [south, north], in degrees, west ≤ east. */
export interface GeoBox {
  readonly west: number;
  readonly east: number;
  readonly south: number;
  readonly north: number;
}

/**
 * Boxes that together hold every point within `radiusMeters` of `center` (a prefilter: a point in
 * them may still be farther, never the other way round). One box, or two where the circle
 * crosses the antimeridian; a circle reaching a pole takes every longitude.
 */
export function boxesAround(center: GeoPoint, radiusMeters: number): GeoBox[] {
  const angular = radiusMeters / EARTH_RADIUS_METERS; // radians
  const south = center.latitude - angular / RAD;
  const north = center.latitude + angular / RAD;
  if (south <= -90 || north >= 90 || angular >= Math.PI / 2)
    return [{ west: -180, east: 180, south: Math.max(-90, south), north: Math.min(90, north) }];
  // The widest longitude the circle reaches (at the latitude where it touches its meridian).
  const dLng = Math.asin(Math.min(1, Math.sin(angular) / Math.cos(center.latitude * RAD))) / RAD;
  const west = center.longitude - dLng;
  const east = center.longitude + dLng;
  if (west < -180)
    return [
      { west: west + 360, east: 180, south, north },
      { west: -180, east, south, north },
    ];
  if (east > 180)
    return [
      { west, east: 180, south, north },
      { west: -180, east: east - 360, south, north },
    ];
  return [{ west, east, south, north }];
}
