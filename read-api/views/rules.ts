import type { Document, Filter } from "../../document-store/port.js";
import type { EMPTY_TOTALS } from "../../projections/read-models/control-center.js";
import { DEFAULT_TIME_ZONE } from "../../schemas/place.js";
import type {
  ControlCenterView,
  ParkingLotView,
  ReservationStatus,
  ReservationView,
} from "../../schemas/read-models.js";
import type { statusAt } from "../../schemas/reservation-time.js";

/** What the views select from the projections' documents at an instant. Pure: the clock is a parameter. */

/** The control center's chart covers the last hour. */
export const ACTIVITY_WINDOW_MS = 60 * 60_000;

export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Index-range conditions selecting a superset of the reservations that read `status` at `now` (the
 * query side keeps those that do): an open-ended booking still RESERVED when a closure begins reads
 * CANCELED until the scheduler records it, so it is a candidate for both in the lots `closing`.
 */
export function statusFilters(
  status: ReservationStatus | undefined,
  now: number,
  closing: readonly string[] = [],
): Filter[] {
  const ended = { $lte: iso(now) };
  switch (status) {
    case undefined:
      return [{}];
    case "RESERVED":
    case "PENDING_PAYMENT":
    case "CHECKED_IN":
      // Not ended: an open-ended reservation (no endsAt) or a window ending after now.
      return [{ status, endsAt: { $not: ended } }];
    case "CANCELED":
      return closing.length === 0
        ? [{ status }]
        : [
            { status },
            { status: "RESERVED", endsAt: { $exists: false }, parkingLotId: { $in: [...closing] } },
            { status: "PENDING_PAYMENT", endsAt: { $exists: false }, parkingLotId: { $in: [...closing] } },
          ];
    case "COMPLETED":
      return [{ status: "COMPLETED" }];
    case "NO_SHOW":
      return [
        { status: "NO_SHOW" },
        { status: "RESERVED", endsAt: ended },
        { status: "PENDING_PAYMENT", endsAt: ended },
      ];
    case "OVERSTAYING":
      return [{ status: "CHECKED_IN", endsAt: ended }];
  }
}

/** A lot as the parking-lots projection stores it: the counters, without what depends on the clock. */
export type StoredLot = Omit<
  ParkingLotView,
  "availableSpots" | "activeReservations" | "closedUntil" | "timeZone"
> & {
  openEndedHeld?: number;
  /** Absent on a lot that never set one: UTC. */
  timeZone?: string;
  /** The location as a GeoJSON point, for the geo index. */
  point?: unknown;
  /** Per closure that began, the cars that were in the lot then (listed for operators). */
  closuresBegun?: { closureId: string; carsInLot: string[] }[];
};
export type StoredTotals = typeof EMPTY_TOTALS;
export type Presence = ControlCenterView["parkingLots"][number]["presence"];

export type AtRisk = ControlCenterView["parkingLots"][number]["atRisk"][number];
/** The most reservations at risk listed per lot. */
export const AT_RISK_LIMIT = 50;

/** The end of the closure in effect at `now`, if any (the latest end when several overlap). */
export function closedUntil(closures: readonly { from: string; until: string }[] | undefined, now: number) {
  let until: string | undefined;
  for (const c of closures ?? []) {
    if (Date.parse(c.from) <= now && Date.parse(c.until) > now && (until === undefined || c.until > until))
      until = c.until;
  }
  return until;
}

/** A lot as it stands at `now`, holding `held` spots then; a lot closed now has no free spot. */
export function lotView(lot: StoredLot, held: number, now: number): ParkingLotView {
  const { openEndedHeld: _, point: _point, closuresBegun, closures, ...rest } = lot;
  const until = closedUntil(closures, now);
  // The closures that matter now: in force or ahead (the ended ones are history, and the list stays
  // bounded by the decider's limit on closures not ended), each with the cars in the lot when it began.
  const cars = new Map((closuresBegun ?? []).map((c) => [c.closureId, c.carsInLot]));
  const current = (closures ?? [])
    .filter((c) => Date.parse(c.until) > now)
    .map((c) => {
      const carsInLot = cars.get(c.closureId);
      return carsInLot === undefined ? c : { ...c, carsInLot };
    });
  return {
    ...rest,
    ...(closures === undefined ? {} : { closures: current }),
    timeZone: lot.timeZone ?? DEFAULT_TIME_ZONE,
    activeReservations: held,
    availableSpots: until === undefined ? Math.max(0, lot.capacity - held) : 0,
    ...(until === undefined ? {} : { closedUntil: until }),
  };
}

/** A reservation as the reservations projection stores it: the view and the span it holds. */
export type StoredReservation = ReservationView & { heldFrom?: string; heldUntil?: string };
export type TimedView = Parameters<typeof statusAt>[0];

export function strip<T>(doc: Document | null): T | null {
  if (!doc) return null;
  const { _id, seq, ...rest } = doc as Document & { seq?: unknown };
  return rest as T;
}
