import { describe, expect, it } from "vitest";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { LOT, lotRegistered, parkingReserved } from "../test-support/given-when-then.js";
import { fold, throughSummary } from "../test-support/lot-state.js";
import { viewAfter } from "./lot-command-view.js";
import { decide, type ParkingLotEvent, type ParkingLotState } from "./parking-lot/decider.js";

/* Issue 33 item 4: a retried command answers what the first answered, from what the event recorded. */

const at = (hhmm: string) => `2024-05-01T${hhmm}:00.000Z`;

function run(state: ParkingLotState, command: ParkingLotCommand) {
  const decision = decide(command, state);
  if (!decision.ok) throw new Error(decision.rejection.code);
  const after = fold(decision.events as ParkingLotEvent[], state);
  return { events: decision.events, state: after, view: viewAfter(command, after).reservation };
}

describe("a retried check-out", () => {
  const history = [
    lotRegistered({ capacity: 2, hourlyRate: 3000 }),
    parkingReserved({ reservationId: "w", amount: 3000, startsAt: at("09:00"), endsAt: at("10:00") }),
    parkingReserved({ reservationId: "o", customerId: "C2", amount: 0, reservedAt: at("09:00") }),
  ];
  const checkIn = (id: string): ParkingLotCommand => ({
    type: "CheckIn",
    parkingLotId: LOT,
    reservationId: id,
    now: at("09:05"),
  });
  const checkOut = (id: string, now: string): ParkingLotCommand => ({
    type: "CheckOut",
    parkingLotId: LOT,
    reservationId: id,
    now,
  });

  it("answers the overstay charge and the open-ended price the first check-out recorded, also from a snapshot", () => {
    let state = fold(history);
    state = run(state, checkIn("w")).state;
    state = run(state, checkIn("o")).state;
    const first = run(state, checkOut("w", at("10:42")));
    expect(first.events[0]?.data).toMatchObject({ overstayCharge: 2100 });
    expect(first.view).toMatchObject({ status: "COMPLETED", overstayCharge: 2100 });
    // The same request again, later: nothing appended, the same answer.
    const again = run(first.state, checkOut("w", at("11:30")));
    expect(again.events).toEqual([]);
    expect(again.view).toMatchObject({ status: "COMPLETED", overstayCharge: 2100 });
    const open = run(first.state, checkOut("o", at("10:05")));
    expect(open.view).toMatchObject({ status: "COMPLETED", pricedAtCheckOut: 3000 });
    // After a restart the lot is loaded from its snapshot: the record keeps what was charged.
    const restored = throughSummary(open.state);
    expect(run(restored, checkOut("w", at("12:00"))).view).toMatchObject({ overstayCharge: 2100 });
    expect(run(restored, checkOut("o", at("12:00"))).view).toMatchObject({ pricedAtCheckOut: 3000 });
  });
});
