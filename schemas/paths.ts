import { Type } from "@sinclair/typebox";
import { CustomerId, ParkingLotId, ReservationId } from "./common.js";

/** Path parameters, validated like any other input (compiled once, not per request). */

export const LotPath = Type.Object({ parkingLotId: ParkingLotId }, { additionalProperties: false });
export const ReservationPath = Type.Object({ reservationId: ReservationId }, { additionalProperties: false });
export const CustomerPath = Type.Object({ customerId: CustomerId }, { additionalProperties: false });
