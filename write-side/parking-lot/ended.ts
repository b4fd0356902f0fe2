import type { ParkingLotCommand } from "../../schemas/commands.js";
import { forget } from "./evolve.js";
import { isIndexed } from "./occupancy.js";
import { ReservationBook } from "./reservation-book.js";
import { ms } from "./rules.js";
import type { ParkingLotState, RegisteredLot, ReservationRecord } from "./state.js";

/** Ended reservations kept out of the state (`forgetEnded`) and recalled when a command names one. */

/**
 * The lot without its ended reservations: those canceled, checked out, no-shows or whose window is
 * over, once they have left every index a decision reads (the hour index drops a window a day after
 * its hour; a checked-out window stays there, cut short, until then). No command can change such a
 * reservation any more, so all a decision needs of it is its record, to answer a command that names
 * it (a retried reservation, a cancel): the caller keeps `ended` elsewhere and hands the records
 * back with `recall` when a command names one. What is left is what can still hold a spot: the
 * state no longer grows with the lot's history. Pure; deciding on `recall(forgotten, records of
 * the ids a command names)` decides exactly like deciding on the whole state.
 */
export function forgetEnded(
  state: ParkingLotState,
  /** Ended reservations to keep all the same (issue 48: those that ended recently, periods). */
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
  // can still change it: it stays until then.
  if (record.status === "RESERVED" || record.status === "PENDING_PAYMENT") return false;
  // Open-ended and not holding: canceled or checked out. A window out of the index: canceled,
  // checked out, or a recorded no-show, over a day ago and more.
  return true;
}

/**
 * The state with these records of ended reservations back in it (those it left out: see
 * `forgetEnded`), for deciding a command that names one of them. Records it holds already stay.
 */
export function recall(
  state: ParkingLotState,
  records: Iterable<readonly [string, ReservationRecord]>,
): ParkingLotState {
  if (state.kind !== "registered") return state;
  let reservations = state.reservations;
  for (const [id, record] of records) if (!reservations.has(id)) reservations = reservations.set(id, record);
  return reservations === state.reservations ? state : { ...state, reservations };
}

/** The reservation ids a command names that the state does not hold, if it has left some out. */
export function namedReservationsMissing(command: ParkingLotCommand, state: ParkingLotState): string[] {
  if (state.kind !== "registered" || state.archived === 0 || !("reservationId" in command)) return [];
  return state.reservations.has(command.reservationId) ? [] : [command.reservationId];
}
