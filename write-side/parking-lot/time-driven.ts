import type { BeginClosure, RecordNoShow } from "../../schemas/commands.js";
import { isBooked } from "../../schemas/reservation-time.js";
import { closureBegins } from "./closures.js";
import { accept, iso, ms, reject } from "./rules.js";
import type { Decision, RegisteredLot } from "./state.js";

/** The facts time brings, sent by the scheduler when they fall due: a closure begins, a no-show. */

export function beginClosure(command: BeginClosure, state: RegisteredLot): Decision {
  const { parkingLotId, closureId } = command;
  const closure = state.closures.find((c) => c.closureId === closureId);
  // A closure that began and ended more than the skew ago has been dropped: it began, nothing to do.
  if (!closure) return reject({ code: "ClosureNotFound", parkingLotId, closureId });
  if (closure.began) return accept(); // begun already: recorded exactly once
  if (closure.from > ms(command.now)) return reject({ code: "NotDue", parkingLotId, at: iso(closure.from) });
  return accept(...closureBegins(state, closure, command.now));
}

export function recordNoShow(command: RecordNoShow, state: RegisteredLot): Decision {
  const { parkingLotId, reservationId } = command;
  const record = state.reservations.get(reservationId);
  if (!record) return reject({ code: "ReservationNotFound", parkingLotId, reservationId });
  // Settled otherwise (checked in, canceled, checked out) or recorded already: nothing to do. One
  // still waiting for its payment when its window ends is a no-show too (it cannot check in while
  // it waits): every view shows NO_SHOW from its end on, and its hold's end then records nothing.
  if (!isBooked(record.status) || !record.startsAt || !record.endsAt) return accept();
  if (ms(record.endsAt) > ms(command.now)) return reject({ code: "NotDue", parkingLotId, at: record.endsAt });
  return accept({
    type: "ReservationNoShow",
    data: {
      reservationId,
      parkingLotId,
      customerId: record.customerId,
      startsAt: record.startsAt,
      endsAt: record.endsAt,
      recordedAt: command.now,
    },
  });
}
