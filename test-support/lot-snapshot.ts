import type { Interval } from "../write-side/parking-lot/occupancy.js";
import { ReservationBook } from "../write-side/parking-lot/reservation-book.js";
import { headOf, registeredLot } from "../write-side/parking-lot/snapshot.js";
import type {
  Closure,
  ParkingLotState,
  PaymentAsked,
  RegisteredLot,
  ReservationRecord,
} from "../write-side/parking-lot/state.js";

/**
 * A lot's state as one plain JSON value and back, for comparing states in tests: the head a stored
 * snapshot keeps (`headOf` in write-side/parking-lot/snapshot.ts, collections sorted, so equal
 * states give equal values whatever order built them) with the reservation records as sorted
 * entries, rather than the stored snapshot's columns in pages.
 */

/** The fields of a registered lot that the value holds as the state does. */
type PlainFields = Pick<
  RegisteredLot,
  | "kind"
  | "parkingLotId"
  | "name"
  | "capacity"
  | "hourlyRate"
  | "maxActivePerCustomer"
  | "couponRule"
  | "paymentTerms"
  | "place"
  | "activeReservations"
  | "archived"
>;

export interface LotSnapshot {
  readonly version: 1;
  readonly state:
    | { readonly kind: "unregistered" }
    | (PlainFields & {
        readonly reservations: [string, ReservationRecord][];
        /** Open-ended reservations still active, with when each was made. */
        readonly openEnded: [string, number][];
        /** The rate each open-ended booking priced at check-out was made at. */
        readonly checkOutRates?: [string, number][];
        readonly windows: [number, [string, Interval][]][];
        readonly prunedBefore: number;
        /** Cars in the lot: [id, window end or null (open-ended), checked in at]. */
        readonly inLot: [string, number | null, number][];
        readonly byCustomer: [string, string[]][];
        readonly closures: Closure[];
        /** What the paid bookings asked of payment. */
        readonly paymentAsked?: [string, PaymentAsked][];
      });
}

const byKey = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export function toSnapshot(state: ParkingLotState): LotSnapshot {
  if (state.kind === "unregistered") return { version: 1, state };
  return {
    version: 1,
    state: { ...headOf(state), reservations: [...state.reservations.entries()].sort(byKey) },
  };
}

export function fromSnapshot(snapshot: LotSnapshot): ParkingLotState {
  const s = snapshot.state;
  if (s.kind === "unregistered") return { kind: "unregistered" };
  return registeredLot(s, ReservationBook.of(s.reservations));
}
