import { Map as ImmutableMap, Set as ImmutableSet, List } from "immutable";
import type { ParkingLotState, ReservationRecord } from "./decider.js";
import type { Interval } from "./occupancy.js";

/**
 * A lot's state as plain JSON and back, for snapshots (and for comparing states in tests).
 * Collections are written sorted, so equal states give equal snapshots whatever order built them.
 */

export interface LotSnapshot {
  readonly version: 1;
  readonly state:
    | { readonly kind: "unregistered" }
    | {
        readonly kind: "registered";
        readonly parkingLotId: string;
        readonly name: string;
        readonly capacity: number;
        readonly hourlyRate?: number;
        readonly maxActivePerCustomer: number;
        readonly activeReservations: number;
        readonly reservations: [string, ReservationRecord][];
        readonly openEnded: string[];
        readonly windows: [number, [string, Interval][]][];
        readonly prunedBefore: number;
        readonly byCustomer: [string, string[]][];
        readonly closures: { from: number; until: number }[];
      };
}

const byKey = <T>(a: [string | number, T], b: [string | number, T]) =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

export function toSnapshot(state: ParkingLotState): LotSnapshot {
  if (state.kind === "unregistered") return { version: 1, state };
  return {
    version: 1,
    state: {
      kind: "registered",
      parkingLotId: state.parkingLotId,
      name: state.name,
      capacity: state.capacity,
      ...(state.hourlyRate !== undefined ? { hourlyRate: state.hourlyRate } : {}),
      maxActivePerCustomer: state.maxActivePerCustomer,
      activeReservations: state.activeReservations,
      reservations: [...state.reservations.entries()].sort(byKey),
      openEnded: [...state.openEnded].sort(),
      windows: [...state.occupancy.buckets.entries()]
        .map(([hour, bucket]): [number, [string, Interval][]] => [hour, [...bucket.entries()].sort(byKey)])
        .sort(byKey),
      prunedBefore: state.occupancy.prunedBefore,
      byCustomer: [...state.byCustomer.entries()]
        .map(([customer, ids]): [string, string[]] => [customer, [...ids].sort()])
        .sort(byKey),
      closures: [...state.closures],
    },
  };
}

export function fromSnapshot(snapshot: LotSnapshot): ParkingLotState {
  const s = snapshot.state;
  if (s.kind === "unregistered") return { kind: "unregistered" };
  return {
    kind: "registered",
    parkingLotId: s.parkingLotId,
    name: s.name,
    capacity: s.capacity,
    ...(s.hourlyRate !== undefined ? { hourlyRate: s.hourlyRate } : {}),
    maxActivePerCustomer: s.maxActivePerCustomer,
    activeReservations: s.activeReservations,
    reservations: ImmutableMap(s.reservations),
    openEnded: ImmutableSet(s.openEnded),
    occupancy: {
      buckets: ImmutableMap(s.windows.map(([hour, entries]) => [hour, ImmutableMap(entries)] as const)),
      prunedBefore: s.prunedBefore,
    },
    byCustomer: ImmutableMap(s.byCustomer.map(([customer, ids]) => [customer, ImmutableSet(ids)] as const)),
    closures: List(s.closures),
  };
}
