import type { CancelForClosure, ChangeCapacity, CloseParkingLot } from "../../schemas/commands.js";
import { closureProblem, WINDOW_RULES } from "../../schemas/reservation-time.js";
import { overlapping } from "./occupancy.js";
import { accept, busiest, canceled, iso, ms, reject, statusIn } from "./rules.js";
import type { Closure, Decision, ParkingLotEvent, RegisteredLot } from "./state.js";
import { termChanged } from "./terms.js";

export function close(command: CloseParkingLot, state: RegisteredLot): Decision {
  const now = ms(command.now);
  const from = ms(command.from);
  const until = ms(command.until);
  // A retry (its id derived from an Idempotency-Key): the same window is the closure already made,
  // nothing appended; another window under the same id is a conflict. Checked first, as a booking's
  // retry is, so that a retry answers as the first try did whatever the clock says now.
  const earlier = state.closures.find((c) => c.closureId === command.closureId);
  if (earlier)
    return earlier.from === from && earlier.until === until
      ? accept()
      : reject({
          code: "ClosureIdConflict",
          parkingLotId: command.parkingLotId,
          closureId: command.closureId,
        });
  const problem = closureProblem(from, until, now);
  if (problem) return reject({ code: "InvalidWindow", ...problem });
  const pending = state.closures.filter((c) => c.until > now).size;
  if (pending >= WINDOW_RULES.maxPendingClosures)
    return reject({
      code: "TooManyClosures",
      parkingLotId: command.parkingLotId,
      limit: WINDOW_RULES.maxPendingClosures,
    });
  const closed: ParkingLotEvent = {
    type: "ParkingLotClosed",
    data: {
      closureId: command.closureId,
      parkingLotId: command.parkingLotId,
      from: iso(from),
      until: iso(until),
      reason: command.reason,
      closedAt: command.now,
    },
  };
  // The windows it cancels: the first chunk in the same append, the rest by CancelForClosure.
  const closure: Closure = { closureId: command.closureId, from, until, began: false };
  const cancels = windowsHit(state, closure, now)
    .slice(0, CLOSURE_CANCELS_PER_APPEND)
    .map((id) => canceledByClosure(state, id, command.now));
  if (from > now) return accept(closed, ...cancels);
  // In force already: it begins in the same append (what the chunk has no room for, later).
  const room = CLOSURE_CANCELS_PER_APPEND - cancels.length;
  return accept(closed, ...cancels, ...closureBegins(state, closure, command.now, room));
}

/**
 * The most cancellations one append of a closure records: the rest by CancelForClosure (the
 * scheduler sends it until nothing is left), so no append or decision grows with the lot.
 */
export const CLOSURE_CANCELS_PER_APPEND = 500;

/**
 * The windows that overlap the closure and are still only booked: canceled by it. Open-ended
 * bookings are canceled once it begins (below); a car in the lot is never canceled out of it
 * (docs/domain.md). Sorted, so each chunk is the same whoever decides it.
 */
function windowsHit(state: RegisteredLot, closure: Closure, now: number): string[] {
  return overlapping(state.occupancy, Math.max(closure.from, now), closure.until)
    .map(([id]) => id)
    .filter((id) => {
      const record = state.reservations.get(id);
      const status = record && statusIn(state, id, record, now);
      return status === "RESERVED" || status === "PENDING_PAYMENT";
    })
    .sort();
}

/**
 * Every open-ended booking still RESERVED made before the closure ends goes once it has begun: one
 * made after `from` was made before the closure existed (a closure in force refuses bookings), when
 * the operator closed the lot as of the past. One made once it ended was made after it, and stays:
 * its beginning recorded late (no scheduler ran meanwhile) does not reach it, as no view showed it.
 */
const openEndedHit = (lot: RegisteredLot, closure: Closure): string[] =>
  [...lot.openEnded]
    .filter(([id, madeAt]) => !lot.inLot.has(id) && madeAt < closure.until)
    .map(([id]) => id)
    .sort();

/**
 * The next chunk of a closure's cancellations (at most CLOSURE_CANCELS_PER_APPEND): the windows it
 * reaches, then, once it has begun, its open-ended bookings. Nothing once none is left, so a chunk
 * decided again (a crash between the append and the next send) appends nothing twice.
 */
export function cancelForClosure(command: CancelForClosure, state: RegisteredLot): Decision {
  const { parkingLotId, closureId } = command;
  const closure = state.closures.find((c) => c.closureId === closureId);
  if (!closure) return reject({ code: "ClosureNotFound", parkingLotId, closureId });
  const ids = windowsHit(state, closure, ms(command.now)).slice(0, CLOSURE_CANCELS_PER_APPEND);
  if (closure.began && ids.length < CLOSURE_CANCELS_PER_APPEND)
    ids.push(...openEndedHit(state, closure).slice(0, CLOSURE_CANCELS_PER_APPEND - ids.length));
  return accept(...ids.map((id) => canceledByClosure(state, id, command.now)));
}

/** A booking a closure cancels (its payment is settled on its own stream, projections/payments/). */
const canceledByClosure = (lot: RegisteredLot, reservationId: string, at: string): ParkingLotEvent =>
  canceled(lot.parkingLotId, reservationId, lot.reservations.get(reservationId), "lot-closed", at);

/**
 * What a closure's beginning appends: the fact, with the cars in the lot (listed, never canceled),
 * and the cancellation of the first `room` open-ended bookings still RESERVED (the rest by
 * CancelForClosure), all stamped when decided (`recordedAt`), never before their cause: a closure
 * whose `from` is past still cancels now (`from` is its business time).
 */
export function closureBegins(
  lot: RegisteredLot,
  closure: Closure,
  recordedAt: string,
  room = CLOSURE_CANCELS_PER_APPEND,
): ParkingLotEvent[] {
  const carsInLot = [...lot.inLot.keys()].sort();
  const leaving = openEndedHit(lot, closure).slice(0, room);
  return [
    {
      type: "ParkingLotClosureBegan",
      data: {
        closureId: closure.closureId,
        parkingLotId: lot.parkingLotId,
        from: iso(closure.from),
        until: iso(closure.until),
        carsInLot,
        recordedAt,
      },
    },
    ...leaving.map((id) => canceledByClosure(lot, id, recordedAt)),
  ];
}

export function changeCapacity(command: ChangeCapacity, state: RegisteredLot): Decision {
  if (command.capacity < state.capacity) {
    const now = ms(command.now);
    const top = busiest(state, now, Number.POSITIVE_INFINITY, now);
    if (top.held > command.capacity)
      return reject({
        code: "CapacityTooLow",
        parkingLotId: command.parkingLotId,
        at: iso(top.at),
        held: top.held,
      });
  }
  return termChanged(command, command.capacity === state.capacity, "ParkingLotCapacityChanged", {
    capacity: command.capacity,
    previousCapacity: state.capacity,
  });
}
