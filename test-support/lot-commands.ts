import type { ParkingLotCommand } from "../schemas/commands.js";

/**
 * The commands the lot-period tests send a lot (write side, history, upgrade, append cap), all
 * dated `now`, by an operator: one place for the shapes they share.
 */
export function lotCommands(now: string) {
  return {
    context: (i: number | string) => ({
      correlationId: `corr-${i}`,
      commandId: `cmd-${i}`,
      actor: { sub: "ops-test", role: "operator" } as const,
    }),
    register: (lot: string, name = `Lot ${lot}`, capacity = 1000): ParkingLotCommand => ({
      type: "RegisterParkingLot",
      parkingLotId: lot,
      name,
      capacity,
      now,
    }),
    reserve: (lot: string, reservationId: string): ParkingLotCommand => ({
      type: "ReserveParking",
      reservationId,
      parkingLotId: lot,
      customerId: `C-${reservationId}`,
      carNumber: "10더8612",
      amount: 5000,
      now,
    }),
  };
}
