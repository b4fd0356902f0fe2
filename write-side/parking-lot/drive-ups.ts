import { RESERVED_CUSTOMER_PREFIX } from "../../platform/auth/reserved-customers.js";
import type { AdmitDriveUp } from "../../schemas/commands.js";
import { accept, busiest, iso, ms, reject } from "./rules.js";
import type { Decision, RegisteredLot } from "./state.js";

/**
 * A car without a booking at a gate's entry: booked and checked in by one decision (one append) as
 * an open-ended stay at the lot's hourly rate. A lot without one has nothing to price it with:
 * refused as a booking without an amount is (`AmountRequired`).
 */

/**
 * How long a spot must be free for a drive-up to be let in. The lot's rules name no minimum stay
 * (the coupon rule's `minStayMinutes` is what earns a coupon, not what a spot is held for): a
 * documented default, docs/domain.md "Drive-ups".
 */
export const DRIVE_UP_MIN_STAY_MINUTES = 60;

/**
 * The customer a drive-up stay is booked for, one per stay: its plate is sealed under that subject's
 * own key, so erasing it (`POST /customers/drive-up:{reservationId}/erasure`, or RETENTION_DAYS)
 * erases that stay alone. No token may name it (platform/auth/middleware.ts refuses the prefix); no
 * check-out of it earns a coupon. Older stays were booked for `drive-up:{lot}`: the prefix finds both.
 */
export const driveUpCustomer = (reservationId: string): string =>
  `${RESERVED_CUSTOMER_PREFIX}${reservationId}`;
export const isDriveUpCustomer = (customerId: string): boolean =>
  customerId.startsWith(RESERVED_CUSTOMER_PREFIX);

export function admitDriveUp(command: AdmitDriveUp, state: RegisteredLot): Decision {
  const { parkingLotId, reservationId, carNumber, gateId } = command;
  // The same read again (its id is derived from the read): what it did stands.
  if (state.reservations.has(reservationId)) return accept();
  const hourlyRate = state.hourlyRate;
  if (hourlyRate === undefined) return reject({ code: "AmountRequired", parkingLotId });
  const now = ms(command.now);
  const until = now + DRIVE_UP_MIN_STAY_MINUTES * 60_000;
  const closure = state.closures.find((c) => c.from < until && c.until > now);
  if (closure)
    return reject({ code: "LotClosed", parkingLotId, from: iso(closure.from), until: iso(closure.until) });
  const top = busiest(state, now, until, now);
  if (top.held >= state.capacity)
    return reject({ code: "LotFull", parkingLotId, capacity: state.capacity, at: iso(top.at) });
  const customerId = driveUpCustomer(reservationId);
  return accept(
    {
      type: "DriveUpAdmitted",
      data: {
        reservationId,
        parkingLotId,
        gateId,
        hourlyRate,
        minStayMinutes: DRIVE_UP_MIN_STAY_MINUTES,
        admittedAt: command.now,
      },
    },
    {
      type: "ParkingReserved",
      data: {
        reservationId,
        parkingLotId,
        customerId,
        carNumber,
        amount: 0,
        reservedAt: command.now,
        hourlyRate,
      },
    },
    {
      type: "ReservationCheckedIn",
      data: { reservationId, parkingLotId, customerId, checkedInAt: command.now },
    },
  );
}
