import type { ParkingLotCommand } from "../schemas/commands.js";
import { bookedIdOf } from "./parking-lot/booking.js";
import { mustLeaveBy, reservationStatus } from "./parking-lot/decide.js";
import type { ParkingLotState, ReservationStatus } from "./parking-lot/state.js";
import { checkOutRate } from "./parking-lot/terms.js";

/** What a command's answer tells of the reservation it named, as of after the command. */
export interface ReservationView {
  readonly reservationId: string;
  /** Its status when the command was decided; undefined if the lot does not know it. */
  readonly status?: ReservationStatus;
  /** What it costs (0: priced at check-out). */
  readonly amount?: number;
  readonly startsAt?: string;
  readonly endsAt?: string;
  /** An open-ended booking's deadline: when the lot's next closure begins. */
  readonly mustLeaveBy?: string;
  /** The lot's rate an open-ended booking is priced at, at check-out. */
  readonly hourlyRate?: number;
  /** What its check-out charged for an overstay, as recorded (the same on every retry). */
  readonly overstayCharge?: number;
  /** The price its check-out set (an open-ended stay on a lot with a rate), as recorded. */
  readonly pricedAtCheckOut?: number;
}

/** What the answer to an accepted lot command shows: the reservation it named, if it named one. */
export interface LotCommandView {
  readonly reservation?: ReservationView;
}

/** The view of the lot after `command` (decided at its `now`), for the command's answer. Pure. */
export function viewAfter(command: ParkingLotCommand, state: ParkingLotState): LotCommandView {
  if (!("reservationId" in command)) return {};
  if (state.kind !== "registered") return { reservation: { reservationId: command.reservationId } };
  const reservationId =
    command.type === "ReserveParking" ? bookedIdOf(command, state) : command.reservationId;
  const status = reservationStatus(state, reservationId, Date.parse(command.now));
  const record = state.reservations.get(reservationId);
  const leaveBy = mustLeaveBy(state, reservationId);
  const pricedAtCheckOut =
    record && !record.startsAt && record.amount === 0 ? checkOutRate(state, reservationId) : undefined;
  return {
    reservation: {
      reservationId,
      ...(status !== undefined ? { status } : {}),
      ...(record ? { amount: record.amount } : {}),
      ...(record?.startsAt ? { startsAt: record.startsAt, endsAt: record.endsAt } : {}),
      ...(leaveBy ? { mustLeaveBy: leaveBy } : {}),
      ...(pricedAtCheckOut !== undefined ? { hourlyRate: pricedAtCheckOut } : {}),
      ...(record?.overstayCharge !== undefined ? { overstayCharge: record.overstayCharge } : {}),
      ...(record?.status === "COMPLETED" && !record.startsAt && state.hourlyRate !== undefined
        ? { pricedAtCheckOut: record.amount }
        : {}),
    },
  };
}
