import type { ChangeCustomerLimit, ChangeRate } from "../../schemas/commands.js";
import { accept, reject } from "./rules.js";
import type { Decision, ParkingLotState, RegisteredLot } from "./state.js";

/**
 * The lot's terms for bookings made from now on: its hourly rate and how many active reservations
 * one customer may hold. A change never touches a booking already made: a window keeps the amount
 * it was quoted, an open-ended stay the rate it was booked at (`checkOutRate`), and a customer
 * over a lowered limit keeps their bookings (only new ones are refused). Asking for the terms the
 * lot already has changes nothing (a retry).
 */

export function changeRate(command: ChangeRate, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  if (command.hourlyRate === state.hourlyRate) return accept();
  return accept({
    type: "ParkingLotRateChanged",
    data: {
      parkingLotId: command.parkingLotId,
      hourlyRate: command.hourlyRate,
      ...(state.hourlyRate !== undefined ? { previousHourlyRate: state.hourlyRate } : {}),
      changedAt: command.now,
    },
  });
}

export function changeCustomerLimit(command: ChangeCustomerLimit, state: ParkingLotState): Decision {
  if (state.kind !== "registered") return reject({ code: "LotNotFound", parkingLotId: command.parkingLotId });
  if (command.maxActivePerCustomer === state.maxActivePerCustomer) return accept();
  return accept({
    type: "ParkingLotCustomerLimitChanged",
    data: {
      parkingLotId: command.parkingLotId,
      maxActivePerCustomer: command.maxActivePerCustomer,
      previousMaxActivePerCustomer: state.maxActivePerCustomer,
      changedAt: command.now,
    },
  });
}

/**
 * The rate an open-ended stay is priced at on check-out: the one it was booked at (a booking
 * folded from a snapshot written before rates could change has none recorded: the lot's rate
 * then is the one it was booked at).
 */
export const checkOutRate = (lot: RegisteredLot, reservationId: string): number | undefined =>
  lot.checkOutRates.get(reservationId) ?? lot.hourlyRate;
