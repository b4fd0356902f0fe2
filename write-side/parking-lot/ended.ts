import { isBooked } from "../../schemas/reservation-time.js";
import { forget } from "./evolve.js";
import { isIndexed } from "./occupancy.js";
import { ReservationBook } from "./reservation-book.js";
import { ms } from "./rules.js";
import type { ParkingLotState, RegisteredLot, ReservationRecord } from "./state.js";

/**
 * The lot without its ended reservations (left out of a period's opening, period-books.ts), once
 * they have left every index a decision reads (the hour index drops a window a day after its hour),
 * so the state does not grow with the lot's history. No command can change one any more: only its
 * record answers a command naming it (a retry, a cancel), so those ended within the idempotency
 * window are kept (`keep`).
 */
export function forgetEnded(
  state: ParkingLotState,
  /** Ended reservations to keep all the same (those that ended recently). */
  keep: (id: string) => boolean = () => false,
): {
  readonly state: ParkingLotState;
  readonly ended: readonly (readonly [string, ReservationRecord])[];
} {
  if (state.kind !== "registered") return { state, ended: [] };
  const kept: [string, ReservationRecord][] = [];
  const ended: [string, ReservationRecord][] = [];
  for (const entry of state.reservations.entries()) {
    (hasEnded(state, entry[0], entry[1]) && !keep(entry[0]) ? ended : kept).push(entry);
  }
  if (ended.length === 0) return { state, ended };
  let holders: Pick<RegisteredLot, "byCustomer" | "byPlate"> = state;
  for (const [id, record] of ended) holders = forget(holders, id, record);
  return {
    state: {
      ...state,
      reservations: ReservationBook.of(kept),
      byCustomer: holders.byCustomer,
      byPlate: holders.byPlate,
      // What they asked of payment goes with them: their payments' own streams hold their terms.
      paymentAsked: state.paymentAsked.deleteAll(ended.map(([id]) => id)),
      archived: state.archived + ended.length,
    },
    ended,
  };
}

/** Whether no command can change the reservation any more and no index holds it. */
export function hasEnded(lot: RegisteredLot, id: string, record: ReservationRecord): boolean {
  if (record.status === "CHECKED_IN" || lot.inLot.has(id)) return false; // in the lot until checked out
  if (lot.openEnded.has(id)) return false;
  if (record.startsAt && isIndexed(lot.occupancy, id, ms(record.startsAt))) return false;
  // A window over unused is NO_SHOW, but until the scheduler records it (RecordNoShow) that command
  // can still change it: it stays until then. The rest are canceled, checked out or recorded no-shows.
  return !isBooked(record.status);
}
